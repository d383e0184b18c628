// Failures of the patch-source sync. They are DomainErrors (stable `code`,
// message fit for an operator) that also say whether trying again can help,
// which drives the download retries and back-off.
import { DomainError } from '../../commands/errors.js';

/** Codes a SourceError carries (DomainError codes are open-ended strings). */
export type SourceErrorCode =
  | 'SOURCE_NOT_CONFIGURED'
  | 'SOURCE_DISABLED'
  | 'SOURCE_UNREACHABLE'
  | 'SOURCE_TIMEOUT'
  | 'SOURCE_AUTH'
  | 'SOURCE_PROXY'
  | 'SOURCE_HTTP'
  | 'SOURCE_INDEX_INVALID'
  | 'SOURCE_INDEX_TOO_BIG'
  | 'SOURCE_CHECKSUM'
  | 'SOURCE_SIZE'
  | 'SOURCE_DISK_FULL'
  | 'SOURCE_ABORTED'
  | 'SOURCE_SECRET'
  | 'SOURCE_TLS'
  | 'SYNC_BUSY'
  | 'SYNC_ERROR';

/** A sync failure; `retryable` says whether the same request may succeed later in this run. */
export class SourceError extends DomainError {
  override name = 'SourceError';

  constructor(
    code: SourceErrorCode,
    message: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(code, message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ERR_STREAM_PREMATURE_CLOSE']);
// certificate problems: retrying cannot help, the operator must act
const TLS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL/;
const TIMEOUT = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Turns whatever undici or the file system threw into a SourceError (DomainErrors pass through). */
export function toSourceError(err: unknown, what: string, signal?: AbortSignal): DomainError {
  if (err instanceof DomainError) return err;
  if (signal?.aborted) return new SourceError('SOURCE_ABORTED', `${what}: stopped`, false, { cause: err });
  const code = errCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new SourceError('SOURCE_DISK_FULL', `${what}: no space left in the data directory`, false, { cause: err });
  if (/Proxy response \((\d+)\)|Proxy Authentication Required/.test(msg)) {
    // undici reports a refused CONNECT as an abort: say what really happened
    return new SourceError('SOURCE_PROXY', `${what}: the proxy refused the connection (${/\((\d+)\)/.exec(msg)?.[1] ?? '?'})`, false, { cause: err });
  }
  if (code && TLS.test(code)) {
    return new SourceError('SOURCE_TLS', `${what}: the TLS certificate is not trusted (${code}); install the right CA, or set EPORTAL_TLS_VERIFY=0 at your own risk`, false, { cause: err });
  }
  if (code && TIMEOUT.has(code)) return new SourceError('SOURCE_TIMEOUT', `${what}: timed out (${code})`, true, { cause: err });
  if (code && NETWORK.has(code)) return new SourceError('SOURCE_UNREACHABLE', `${what}: ${code} ${firstLine(msg)}`.trim(), true, { cause: err });
  if (code?.startsWith('UND_ERR')) return new SourceError('SOURCE_UNREACHABLE', `${what}: ${code} ${firstLine(msg)}`.trim(), true, { cause: err });
  // anything else (database, file system, a bug) is not the network: say so, do not retry
  return new SourceError('SYNC_ERROR', `${what}: ${code ? `${code} ` : ''}${firstLine(msg)}`, false, { cause: err });
}

/** The errno/undici code of an error (also looks one `cause` deep, where fetch-like errors keep it). */
export function errCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return undefined;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 200);
}
