import { describe, expect, it } from 'vitest';
import {
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  hashPassword,
  passwordNeedsRehash,
  validatePassword,
  verifyPassword,
} from '../../server/auth/password.js';

describe('password hashing', () => {
  it('hashes with argon2id at the OWASP minimum parameters, salted per call', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct horse');
  });

  it('verifies the right password and rejects others', async () => {
    const hash = await hashPassword('correct horse');
    expect(await verifyPassword(hash, 'correct horse')).toBe(true);
    expect(await verifyPassword(hash, 'correct horsE')).toBe(false);
    expect(await verifyPassword(hash, 'correct horse ')).toBe(false);
    expect(await verifyPassword(hash, '')).toBe(false);
  });

  it('handles non-ASCII passwords', async () => {
    const hash = await hashPassword('pässwörd-日本語');
    expect(await verifyPassword(hash, 'pässwörd-日本語')).toBe(true);
    expect(await verifyPassword(hash, 'passwort-日本語')).toBe(false);
  });

  it('never matches a missing or unreadable hash', async () => {
    expect(await verifyPassword(null, 'anything at all')).toBe(false);
    expect(await verifyPassword(undefined, 'anything at all')).toBe(false);
    expect(await verifyPassword('', 'anything at all')).toBe(false);
    expect(await verifyPassword('not-a-hash', 'anything at all')).toBe(false);
    expect(await verifyPassword('$argon2id$v=19$m=19456,t=2,p=1$broken', 'anything at all')).toBe(false);
  });

  it('rejects over-long passwords without hashing them', async () => {
    const hash = await hashPassword('x'.repeat(PASSWORD_MAX_LENGTH));
    expect(await verifyPassword(hash, 'x'.repeat(PASSWORD_MAX_LENGTH))).toBe(true);
    expect(await verifyPassword(hash, 'x'.repeat(PASSWORD_MAX_LENGTH + 1))).toBe(false);
    expect(await verifyPassword(hash, 'x'.repeat(1_000_000))).toBe(false);
  });

  it('flags hashes made with other parameters for rehashing', async () => {
    expect(passwordNeedsRehash(await hashPassword('correct horse'))).toBe(false);
    expect(passwordNeedsRehash('$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo')).toBe(true);
    expect(passwordNeedsRehash('$2b$10$abcdefghijklmnopqrstuu')).toBe(true);
  });
});

describe('password policy', () => {
  it(`accepts ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`, () => {
    expect(validatePassword('x'.repeat(PASSWORD_MIN_LENGTH))).toBeNull();
    expect(validatePassword('x'.repeat(PASSWORD_MAX_LENGTH))).toBeNull();
    expect(validatePassword('x'.repeat(PASSWORD_MIN_LENGTH - 1))).toMatch(/too short/);
    expect(validatePassword('')).toMatch(/too short/);
    expect(validatePassword('x'.repeat(PASSWORD_MAX_LENGTH + 1))).toMatch(/too long/);
  });

  it('counts characters, not UTF-16 units', () => {
    // 8 emoji are 16 UTF-16 units but 8 characters; 7 are too few
    expect(validatePassword('😀'.repeat(8))).toBeNull();
    expect(validatePassword('😀'.repeat(7))).toMatch(/too short/);
    expect(validatePassword('😀'.repeat(PASSWORD_MAX_LENGTH))).toBeNull();
  });
});
