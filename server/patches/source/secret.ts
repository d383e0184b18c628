// The Patch Source password has to be usable (it is sent upstream) but must
// never be shown again. It is stored AES-256-GCM encrypted with a random key
// kept in `<dataDir>/secret.key` (mode 0600), so a copy of the database alone
// (a backup, a support bundle, a PostgreSQL dump) does not reveal it.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SourceError } from './errors.js';

/** File name of the key inside the data directory. */
export const SECRET_KEY_FILE = 'secret.key';
const PREFIX = 'v1:';
const keys = new Map<string, Buffer>();

/** The data directory's key, created on first use (atomically, so two processes agree on one). */
export function secretKey(dataDir: string): Buffer {
  const file = path.resolve(dataDir, SECRET_KEY_FILE);
  const cached = keys.get(file);
  if (cached) return cached;
  let key = tryRead(file);
  if (!key) {
    mkdirSync(path.dirname(file), { recursive: true });
    // write a complete temp file, then link it into place: link fails if
    // another process won the race, and nobody ever reads a half-written key
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    try {
      linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
    key = tryRead(file);
  }
  if (!key) throw new SourceError('SOURCE_SECRET', `${file} does not hold a 32-byte base64 key`);
  keys.set(file, key);
  return key;
}

function tryRead(file: string): Buffer | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new SourceError('SOURCE_SECRET', `${file} does not hold a 32-byte base64 key`);
  return key;
}

/** Encrypts a secret for storage: `v1:` + base64(iv | tag | ciphertext). */
export function seal(dataDir: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', secretKey(dataDir), iv);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64');
}

/** Decrypts what seal() produced; SOURCE_SECRET when the key file changed or the value was tampered with. */
export function unseal(dataDir: string, sealed: string): string {
  if (!sealed.startsWith(PREFIX)) throw new SourceError('SOURCE_SECRET', 'stored secret has an unknown format');
  const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', secretKey(dataDir), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new SourceError('SOURCE_SECRET', `the stored patch source password cannot be decrypted (was ${SECRET_KEY_FILE} replaced?); set it again`);
  }
}
