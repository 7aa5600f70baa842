// quickbeam/wasi: Quickbeam's WASI preview1 class (`import { WASI } from 'quickbeam/wasi'`), from the same
// copy of Quickbeam as `import ... from 'quickbeam'` (the package entry), so that its instances and memories
// are the ones it knows.

type Quickbeam = typeof import('../index.js');

const qb = (await import(new URL('../../quickbeam-entry.mjs', import.meta.url).href)) as Quickbeam;

export const WASI: Quickbeam['WASI'] = qb.WASI;
export default WASI;
