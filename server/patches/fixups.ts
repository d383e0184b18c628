/** File names listed in a `kpatch*.fixups` file: one per line, blanks and `#` comments ignored. */
export function parseFixups(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
