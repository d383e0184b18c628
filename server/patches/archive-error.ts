/**
 * Why a patchset archive was refused. The codes are stable strings: callers
 * store them with the rejected patchset and show them to the operator.
 */
export type ArchiveErrorCode =
  | 'CHECKSUM' // sha256 of the compressed file differs from the expected one
  | 'TRAVERSAL' // an entry path has a `..` segment
  | 'ABSOLUTE' // an entry path starts with `/`
  | 'LINK' // symlink or hardlink (the documented layout has none)
  | 'DEVICE' // device, fifo or any other non-regular, non-directory entry
  | 'DUPLICATE' // the same path twice, or a file where a directory is needed
  | 'SHAPE' // a path that is not one of the documented layouts
  | 'EMPTY' // no patch files at all
  | 'TOO_BIG' // declared unpacked size, entry count or metadata over the limits
  | 'TRUNCATED' // the compressed stream or the tar stream ends too early
  | 'FORMAT'; // not a readable gz/bz2/zst tar archive

/** A refusal of the archive's content; I/O failures are thrown as they are. */
export class ArchiveError extends Error {
  readonly code: ArchiveErrorCode;
  /** The offending entry path, as stored in the archive, when there is one. */
  readonly entry: string | undefined;

  constructor(code: ArchiveErrorCode, message: string, options: { entry?: string; cause?: unknown } = {}) {
    super(`${code}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ArchiveError';
    this.code = code;
    this.entry = options.entry;
  }
}
