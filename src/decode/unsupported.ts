// Error messages for binary constructs of proposals Quickbeam does not implement (yet), so that a module using
// one says which feature it needs instead of "malformed section id". Consulted only on the decoder's
// unknown-section and unknown-kind paths: once a feature is implemented, its ids are known and never get here.

/** Section ids of proposals, by id. */
// (Exception handling's tag section 13 and tag kind 4 are implemented: turned off, they are plain unknown ids.)
const SECTIONS: ReadonlyMap<number, string> = new Map([[14, 'stringref (string section)']]);

/** Import/export kinds of proposals, by kind byte. */
const KINDS: ReadonlyMap<number, string> = new Map();

/** The message for an unknown section id. */
export function unknownSectionMessage(id: number): string {
  const what = SECTIONS.get(id);
  return what === undefined ? 'malformed section id' : `${what} is not supported yet`;
}

/** The message for an unknown import (`where` 'import') or export kind. */
export function unknownKindMessage(kind: number, where: 'import' | 'export'): string {
  const what = KINDS.get(kind);
  return what === undefined ? `malformed ${where} kind` : `${what} ${where}) is not supported yet`;
}
