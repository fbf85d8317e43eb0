import { createHmac, hkdfSync, randomBytes, randomInt } from 'node:crypto';

// Backup codes use the RFC 4648 base32 alphabet in lower case: no 0/1/8/9 to confuse with o/l/b/g.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
export const BACKUP_CODE_COUNT = 10;
const GROUPS = 4;
const GROUP_LEN = 4; // 16 characters = 80 bits from crypto.randomInt

/** One fresh backup code, shown as `abcd-efgh-ijkl-mnop`. */
export function generateBackupCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let s = '';
    for (let i = 0; i < GROUP_LEN; i++) s += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(s);
  }
  return groups.join('-');
}

export function generateBackupCodes(count = BACKUP_CODE_COUNT): string[] {
  const set = new Set<string>();
  while (set.size < count) set.add(generateBackupCode());
  return [...set];
}

/** Normalises what a person typed: case, spaces and dashes do not matter. Returns null when it cannot be a code. */
export function normaliseBackupCode(input: string): string | null {
  const s = input.toLowerCase().replace(/[\s-]/g, '');
  return s.length === GROUPS * GROUP_LEN && /^[a-z2-7]+$/.test(s) ? s : null;
}

export const BACKUP_CODE_PATTERN = /^[A-Za-z2-7]{4}(?:[- ]?[A-Za-z2-7]{4}){3}$/;

/** A purpose-bound subkey derived from a key-ring key, so rotating the ring does not break old MACs. */
export function deriveKey(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `passport-stepup:${purpose}`, 32));
}

/** HMAC-SHA-256 of a normalised code under a server key and a per-user salt (hex). */
export function macCode(key: Buffer, salt: string, normalisedCode: string): string {
  return createHmac('sha256', key).update(salt).update('\0').update(normalisedCode).digest('hex');
}

export function newSalt(): string {
  return randomBytes(16).toString('hex');
}

/** Random opaque id (128 bits), URL-safe. */
export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

/** A random password for provisioning: 20 characters from a 57-symbol alphabet (~116 bits). */
export function generatePassword(length = 20): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}
