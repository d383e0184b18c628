// Patchset names are dates: `16012017_1` (16 Jan 2017, set 1), `K20230908_02`
// (kernel), `U20210129_02` (LibCare).

export const PATCHSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The release date a patchset name encodes, or null when it encodes none. */
export function releaseDateFromName(name: string): Date | null {
  let m = /^[A-Za-z]?(\d{4})(\d{2})(\d{2})_(\d+)$/.exec(name);
  if (m && /^[A-Za-z]/.test(name)) return validDate(+m[1]!, +m[2]!, +m[3]!);
  m = /^(\d{2})(\d{2})(\d{4})_(\d+)$/.exec(name);
  if (m) return validDate(+m[3]!, +m[2]!, +m[1]!);
  return null;
}

/** `kernel` or `libcare` as the name's letter says (U = LibCare), kernel otherwise. */
export function productFromName(name: string): 'kernel' | 'libcare' {
  return name.startsWith('U') ? 'libcare' : 'kernel';
}

function validDate(y: number, mo: number, d: number): Date | null {
  const dt = new Date(Date.UTC(y, mo - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d ? dt : null;
}
