import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface KeyRingEntry {
  /** Short identifier stored in every sealed value: `[A-Za-z0-9_-]{1,32}`. */
  id: string;
  /** 32 bytes: a Buffer, or 64 hex characters. */
  key: Buffer | string;
}

const ID_RE = /^[A-Za-z0-9_-]{1,32}$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM under a key ring. The first key seals; every key opens, so keys rotate
 * by putting a new one in front. Format: `v1.<keyId>.<iv>.<ciphertext>.<tag>` (base64url).
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  private readonly sealingId: string;

  constructor(ring: readonly KeyRingEntry[]) {
    if (!Array.isArray(ring) || ring.length === 0) throw new TypeError('keys must name at least one key');
    this.keys = new Map();
    for (const entry of ring) {
      if (!entry || typeof entry.id !== 'string' || !ID_RE.test(entry.id)) {
        throw new TypeError('keys[].id must match [A-Za-z0-9_-]{1,32}');
      }
      const key = typeof entry.key === 'string' && /^[0-9a-fA-F]{64}$/.test(entry.key)
        ? Buffer.from(entry.key, 'hex')
        : Buffer.isBuffer(entry.key) ? entry.key : undefined;
      if (!key || key.length !== 32) throw new TypeError(`keys[${entry.id}].key must be 32 bytes (a Buffer or 64 hex characters)`);
      if (this.keys.has(entry.id)) throw new TypeError(`keys[].id "${entry.id}" is used twice`);
      this.keys.set(entry.id, key);
    }
    this.sealingId = ring[0]!.id;
  }

  get currentKeyId(): string {
    return this.sealingId;
  }

  /** The raw key for an id (used to derive purpose-bound subkeys, e.g. for backup-code MACs). */
  keyFor(id: string): Buffer | undefined {
    return this.keys.get(id);
  }

  seal(plaintext: string, aad = ''): string {
    const key = this.keys.get(this.sealingId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    if (aad) cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ['v1', this.sealingId, iv.toString('base64url'), ct.toString('base64url'), tag.toString('base64url')].join('.');
  }

  /** Opens a sealed value; throws (fails closed) on an unknown key, a bad format or a forged tag. */
  open(sealed: string, aad = ''): string {
    const parts = typeof sealed === 'string' ? sealed.split('.') : [];
    if (parts.length !== 5 || parts[0] !== 'v1') throw new Error('sealed value has an unknown format');
    const [, keyId, ivB64, ctB64, tagB64] = parts as [string, string, string, string, string];
    const key = this.keys.get(keyId);
    if (!key) throw new Error('sealed value names an unknown key id');
    const iv = Buffer.from(ivB64, 'base64url');
    const tag = Buffer.from(tagB64, 'base64url');
    // GCM accepts tags as short as 4 bytes unless told otherwise: a truncated tag would cut forgery
    // to 2^32 tries, so only the full 16-byte tag (and the 12-byte IV seal writes) is accepted.
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('sealed value has an unknown format');
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    if (aad) decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ctB64, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** Key id a sealed value was made with (to find values that still need re-sealing). */
  static keyIdOf(sealed: string): string | undefined {
    const parts = sealed.split('.');
    return parts.length === 5 ? parts[1] : undefined;
  }
}
