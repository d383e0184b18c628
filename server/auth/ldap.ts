// LDAP login: bind as the user's DN (template with %s) with their password.
// The user name is escaped per RFC 4514 before it goes into the DN, an empty
// password is refused before any bind (it would be an anonymous bind, which
// most directories accept), and every step is bounded by the configured
// connect and operation timeouts.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError } from 'ldapts';
import type { LdapConfig } from '../config.js';

/** The outcome of an LDAP bind: the directory accepted, refused, or could not be asked. */
export type LdapBindResult = 'ok' | 'invalid' | 'unavailable';

/** Escapes a string for use as an attribute value in a DN (RFC 4514 section 2.4). */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    const code = ch.charCodeAt(0);
    if (code === 0) out += '\\00';
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).padStart(2, '0')}`;
    else if ('"+,;<>\\='.includes(ch)) out += `\\${ch}`;
    else if ((ch === ' ' || ch === '#') && i === 0) out += `\\${ch}`;
    else if (ch === ' ' && i === value.length - 1) out += '\\ ';
    else out += ch;
  }
  return out;
}

/** The bind DN for a user name: the template with %s replaced by the escaped name. */
export function bindDn(template: string, username: string): string {
  return template.replace('%s', () => escapeDnValue(username));
}

async function tlsOptions(config: LdapConfig): Promise<ConnectionOptions> {
  const opts: ConnectionOptions = { rejectUnauthorized: config.tlsVerify, minVersion: 'TLSv1.2' };
  if (config.caFile) opts.ca = [await readFile(config.caFile)];
  // certificate name checks use the URL's host (SNI only takes names, not IPs)
  const host = new URL(config.url).hostname;
  if (!isIP(host)) opts.servername = host;
  return opts;
}

/** Binds as the user; never throws. */
export async function ldapBind(config: LdapConfig, username: string, password: string): Promise<LdapBindResult> {
  if (password === '' || username === '') return 'invalid';
  let tls: ConnectionOptions;
  try {
    tls = await tlsOptions(config);
  } catch {
    return 'unavailable';
  }
  // ldapts speaks TLS from the first byte whenever tlsOptions is given: only for ldaps://
  const ldaps = config.url.startsWith('ldaps:');
  const client = new Client({ url: config.url, connectTimeout: config.connectTimeoutMs, timeout: config.timeoutMs, tlsOptions: ldaps ? tls : undefined, strictDN: true });
  // A hard deadline over everything (connect + StartTLS + bind), in case a
  // server accepts the connection and then says nothing.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<LdapBindResult>((resolve) => {
    timer = setTimeout(() => resolve('unavailable'), config.connectTimeoutMs + 2 * config.timeoutMs);
  });
  const attempt = (async (): Promise<LdapBindResult> => {
    try {
      if (config.startTls) await client.startTLS(tls);
      await client.bind(bindDn(config.dnTemplate, username), password);
      return 'ok';
    } catch (err) {
      return err instanceof InvalidCredentialsError || isDnSyntaxError(err) ? 'invalid' : 'unavailable';
    }
  })();
  try {
    return await Promise.race([attempt, deadline]);
  } finally {
    clearTimeout(timer);
    client.unbind().catch(() => {});
  }
}

// A name the directory cannot parse as part of a DN, or with no such entry, is a refused login.
function isDnSyntaxError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 34 /* invalidDNSyntax */ || code === 32 /* noSuchObject */ || code === 53 /* unwillingToPerform */;
}
