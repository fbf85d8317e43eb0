import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../lib/crypto/secretbox';
import { safeEqual } from '../../lib/crypto/compare';
import { PasswordHasher } from '../../lib/crypto/passwords';
import { BACKUP_CODE_COUNT, BACKUP_CODE_PATTERN, deriveKey, generateBackupCodes, macCode, newSalt, normaliseBackupCode, randomId } from '../../lib/crypto/codes';

const FAST = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
const k = (id: string) => ({ id, key: randomBytes(32) });

describe('SecretBox (AES-256-GCM under a key ring)', () => {
  const k1 = k('k1');
  const box = new SecretBox([k1]);
  const SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

  it('seals to v1.<keyId>.<iv>.<ct>.<tag> and opens with the same AAD', () => {
    const sealed = box.seal(SECRET, 'totp:t:u');
    expect(sealed).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(sealed).not.toContain(SECRET);
    expect(box.open(sealed, 'totp:t:u')).toBe(SECRET);
    expect(SecretBox.keyIdOf(sealed)).toBe('k1');
  });

  it('uses a fresh IV every time', () => {
    const a = box.seal(SECRET).split('.');
    const b = box.seal(SECRET).split('.');
    expect(a[2]).not.toBe(b[2]);
    expect(a[3]).not.toBe(b[3]);
  });

  it('throws on any tampered part, a wrong AAD, an unknown key id or a bad format', () => {
    const sealed = box.seal(SECRET, 'aad');
    const parts = sealed.split('.');
    const flip = (i: number) => {
      const p = [...parts];
      const buf = Buffer.from(p[i]!, 'base64url');
      buf[0] = buf[0]! ^ 1;
      p[i] = buf.toString('base64url');
      return p.join('.');
    };
    for (const i of [2, 3, 4]) expect(() => box.open(flip(i), 'aad')).toThrow();
    expect(() => box.open(sealed, 'other')).toThrow();
    expect(() => box.open(sealed)).toThrow();
    expect(() => box.open(['v1', 'nope', ...parts.slice(2)].join('.'), 'aad')).toThrow(/unknown key/);
    expect(() => box.open(['v2', ...parts.slice(1)].join('.'), 'aad')).toThrow(/format/);
    expect(() => box.open(parts.slice(0, 4).join('.'), 'aad')).toThrow(/format/);
    expect(() => box.open(123 as unknown as string)).toThrow();
  });

  it('refuses a truncated tag (GCM would accept 4 bytes: forgery in 2^32 tries)', () => {
    // Guarded by the tag-length check and authTagLength in SecretBox.open.
    const parts = box.seal(SECRET, 'aad').split('.');
    for (const len of [4, 8, 12, 15]) {
      const p = [...parts];
      p[4] = Buffer.from(p[4]!, 'base64url').subarray(0, len).toString('base64url');
      expect(() => box.open(p.join('.'), 'aad')).toThrow();
    }
  });

  it('rotates keys: the new key in front seals, the old key still opens', () => {
    const old = box.seal(SECRET, 'aad');
    const k2 = k('k2');
    const rotated = new SecretBox([k2, k1]);
    expect(rotated.currentKeyId).toBe('k2');
    expect(rotated.open(old, 'aad')).toBe(SECRET);
    const fresh = rotated.seal(SECRET, 'aad');
    expect(fresh.startsWith('v1.k2.')).toBe(true);
    expect(() => box.open(fresh, 'aad')).toThrow(/unknown key/);
    // A ring without the old key fails closed on old values.
    expect(() => new SecretBox([k2]).open(old, 'aad')).toThrow();
  });

  it('accepts a key as 64 hex characters', () => {
    const hex = randomBytes(32).toString('hex');
    const a = new SecretBox([{ id: 'h', key: hex }]);
    const b = new SecretBox([{ id: 'h', key: Buffer.from(hex, 'hex') }]);
    expect(b.open(a.seal('x'))).toBe('x');
  });

  it.each([
    ['no keys', []],
    ['not an array', 'k1' as unknown],
    ['a bad id', [{ id: 'bad.id', key: randomBytes(32) }]],
    ['an empty id', [{ id: '', key: randomBytes(32) }]],
    ['a 16-byte key', [{ id: 'k', key: randomBytes(16) }]],
    ['a 32-character non-hex string', [{ id: 'k', key: 'x'.repeat(32) }]],
    ['a 63-hex-character string', [{ id: 'k', key: 'a'.repeat(63) }]],
    ['a missing key', [{ id: 'k' }]],
    ['a null entry', [null]],
    ['a duplicate id', [k('k'), k('k')]],
  ])('refuses %s with a TypeError', (_name, ring) => {
    expect(() => new SecretBox(ring as never)).toThrow(TypeError);
  });
});

describe('safeEqual', () => {
  it('compares equal and unequal strings and buffers, whatever their lengths, without throwing', () => {
    expect(safeEqual('287082', '287082')).toBe(true);
    expect(safeEqual('287082', '287083')).toBe(false);
    expect(safeEqual('287082', '2870820')).toBe(false);
    expect(safeEqual('', 'x'.repeat(1000))).toBe(false);
    expect(safeEqual(Buffer.from('ab'), Buffer.from('ab'))).toBe(true);
    expect(safeEqual(Buffer.from('ab'), 'ab')).toBe(true);
  });

  it('runs crypto.timingSafeEqual over equal-length digests', () => {
    // compare.ts reads `timingSafeEqual` off the module object at call time (CommonJS under ts-jest),
    // so a spy on the real `node:crypto` exports sees the call.
    const nodeCrypto = require('node:crypto') as typeof import('node:crypto');
    const spy = jest.spyOn(nodeCrypto, 'timingSafeEqual');
    try {
      // Unequal lengths: both sides are MACed first, so the comparison still runs (no early return).
      expect(safeEqual('short', 'a much longer value')).toBe(false);
      expect(spy).toHaveBeenCalledTimes(1);
      const [a, b] = spy.mock.calls[0]! as [Buffer, Buffer];
      expect(a.length).toBe(b.length);
      // Equal lengths (a code against a code): compared by timingSafeEqual too.
      expect(safeEqual('287082', '287083')).toBe(false);
      expect(safeEqual('287082', '287082')).toBe(true);
      expect(spy).toHaveBeenCalledTimes(3);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('backup codes', () => {
  it('50 sets of 10: format, alphabet, no duplicates within or across sets', () => {
    const all = new Set<string>();
    for (let s = 0; s < 50; s++) {
      const set = generateBackupCodes();
      expect(set).toHaveLength(BACKUP_CODE_COUNT);
      expect(new Set(set).size).toBe(BACKUP_CODE_COUNT);
      for (const c of set) {
        expect(c).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
        expect(c).toMatch(BACKUP_CODE_PATTERN);
        all.add(c);
      }
    }
    expect(all.size).toBe(500);
    // No shared prefix pattern: the first group alone is (almost always) distinct across 500 codes.
    expect(new Set([...all].map((c) => c.slice(0, 4))).size).toBeGreaterThan(480);
  });

  it('normalises case, spaces and dashes; refuses anything that cannot be a code', () => {
    expect(normaliseBackupCode('ABCD-EFGH-IJKL-MNOP')).toBe('abcdefghijklmnop');
    expect(normaliseBackupCode('abcd efgh ijkl mnop')).toBe('abcdefghijklmnop');
    expect(normaliseBackupCode(' abcdefghijklmnop ')).toBe('abcdefghijklmnop');
    expect(normaliseBackupCode('abcd-efgh-ijkl-mno')).toBeNull();
    expect(normaliseBackupCode('abcd-efgh-ijkl-mnop-q')).toBeNull();
    expect(normaliseBackupCode('abcd-efgh-ijkl-mn01')).toBeNull();
    expect(normaliseBackupCode('ａｂｃｄefghijklmnop')).toBeNull();
    expect(BACKUP_CODE_PATTERN.test('abcd-efgh-ijkl-mnop')).toBe(true);
    expect(BACKUP_CODE_PATTERN.test('abcd--efgh-ijkl-mnop')).toBe(false);
  });

  it('MACs depend on the key, the salt and the code', () => {
    const key = deriveKey(randomBytes(32), 'backup-codes');
    const salt = newSalt();
    const mac = macCode(key, salt, 'abcdefghijklmnop');
    expect(mac).toMatch(/^[0-9a-f]{64}$/);
    expect(macCode(key, salt, 'abcdefghijklmnop')).toBe(mac);
    expect(macCode(key, newSalt(), 'abcdefghijklmnop')).not.toBe(mac);
    expect(macCode(deriveKey(randomBytes(32), 'backup-codes'), salt, 'abcdefghijklmnop')).not.toBe(mac);
    expect(macCode(key, salt, 'abcdefghijklmnoq')).not.toBe(mac);
    expect(salt).toMatch(/^[0-9a-f]{32}$/);
    expect(randomId()).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});

describe('PasswordHasher (argon2id)', () => {
  const hasher = new PasswordHasher(FAST);

  it('a 100-character password works whole; its first 72 characters fail (MFA-21: no truncation)', async () => {
    const pw = Array.from({ length: 100 }, (_, i) => String.fromCharCode(33 + ((i * 7) % 90))).join('');
    const stored = await hasher.hash(pw);
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(await hasher.verify(stored, pw)).toBe(true);
    expect(await hasher.verify(stored, pw.slice(0, 72))).toBe(false);
    expect(await hasher.verify(stored, pw.slice(0, 99))).toBe(false);
  });

  it('a malformed stored hash is a mismatch, not an error; the dummy never verifies', async () => {
    expect(await hasher.verify('not-a-hash', 'x')).toBe(false);
    expect(await hasher.verifyDummy('passport-stepup dummy password for unknown users')).toBe(false);
  });

  it('needsRehash when the parameters or the algorithm change', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    expect(hasher.needsRehash(stored)).toBe(false);
    expect(new PasswordHasher({ ...FAST, memoryCost: 2048 }).needsRehash(stored)).toBe(true);
    expect(new PasswordHasher({ ...FAST, timeCost: 2 }).needsRehash(stored)).toBe(true);
    expect(new PasswordHasher({ ...FAST, parallelism: 2 }).needsRehash(stored)).toBe(true);
    expect(hasher.needsRehash('$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01')).toBe(true);
    expect(hasher.needsRehash(stored.replace('argon2id', 'argon2i'))).toBe(true);
  });
});
