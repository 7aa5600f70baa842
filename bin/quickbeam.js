#!/usr/bin/env node
// The `quickbeam` command. The CLI itself is TypeScript compiled into dist/ (see src/cli/main.ts).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const mainUrl = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(mainUrl)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(`quickbeam: not built yet (dist/ is missing): run \`npm install\` in ${root}\n`);
  process.exit(1);
}
const { main } = await import(mainUrl.href);
process.exitCode = await main(process.argv.slice(2));
