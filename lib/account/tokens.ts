import { createHash, createHmac, randomBytes } from 'node:crypto';
import { safeEqual } from '../crypto/compare';
import type { EphemeralStore } from '../stores/ephemeral';

export type TokenKind = 'verify' | 'reset';

/** 32 random bytes in base64url: a 16-byte selector (names the record) and a 16-byte verifier (MACed). */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const SELECTOR_BYTES = 16;
const TOKEN_BYTES = 32;
// TTLs only collect garbage: every expiry is checked on the injected clock.
const GRACE_MS = 15 * 60_000;

interface TokenRecord {
  tenantId: string;
  userId: string;
  keyId: string;
  mac: string;
  expiresAt: number;
}

export interface TokenSubject {
  tenantId: string;
  userId: string;
}

/**
 * Single-use, expiring tokens for email verification and password reset.
 *
 * Nothing of a token is stored in clear: the record is named by SHA-256 of the selector and holds an
 * HMAC of the verifier (bound to kind, tenant and user) under a key-ring subkey, compared with
 * `safeEqual`. `consume` reads the record with an atomic get-and-delete, so a token works once even
 * when two requests race; a wrong verifier burns it too. Each (kind, user) has one current token: a
 * pointer names it, and a token that is no longer the current one is refused ("asking again
 * invalidates the previous link"), even when two issues raced.
 *
 * @example
 * const { token } = await tokens.issue('reset', { tenantId, userId }, 1800);
 * await tokens.consume('reset', token); // { tenantId, userId } once, then null
 */
export class LifecycleTokens {
  constructor(
    private readonly store: EphemeralStore,
    private readonly now: () => number,
    /** The key-ring subkey to MAC new tokens under, and the one for any id (rotation keeps old tokens working). */
    private readonly keys: { currentId: () => string; get: (keyId: string) => Buffer | undefined },
  ) {}

  async issue(kind: TokenKind, subject: TokenSubject, ttlSeconds: number): Promise<{ token: string; expiresAt: number }> {
    const raw = randomBytes(TOKEN_BYTES);
    const selector = raw.subarray(0, SELECTOR_BYTES);
    const verifier = raw.subarray(SELECTOR_BYTES);
    const keyId = this.keys.currentId();
    const name = recordName(kind, selector);
    const expiresAt = this.now() + ttlSeconds * 1000;
    const record: TokenRecord = { tenantId: subject.tenantId, userId: subject.userId, keyId, mac: this.mac(keyId, kind, subject, verifier), expiresAt };
    const ttlMs = ttlSeconds * 1000 + GRACE_MS;
    await this.store.set(name, JSON.stringify(record), ttlMs);
    // The pointer decides which token is current; the old record is deleted only to collect garbage.
    const previous = await this.store.take(pointer(kind, subject));
    await this.store.set(pointer(kind, subject), name, ttlMs);
    if (previous && previous !== name) await this.store.del(previous);
    return { token: raw.toString('base64url'), expiresAt };
  }

  /** The token's subject if it is well formed, current, unexpired and unused; it is burned either way. */
  async consume(kind: TokenKind, token: string): Promise<TokenSubject | null> {
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return null;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length !== TOKEN_BYTES) return null;
    const name = recordName(kind, raw.subarray(0, SELECTOR_BYTES));
    const stored = await this.store.take(name);
    if (!stored) return null;
    let record: TokenRecord;
    try {
      record = JSON.parse(stored) as TokenRecord;
    } catch {
      return null;
    }
    const subject = { tenantId: record.tenantId, userId: record.userId };
    const key = this.keys.get(record.keyId);
    const mac = key ? this.mac(record.keyId, kind, subject, raw.subarray(SELECTOR_BYTES)) : '';
    const macOk = safeEqual(mac, String(record.mac));
    const fresh = this.now() < record.expiresAt;
    const current = await this.store.get(pointer(kind, subject));
    const isCurrent = current !== null && safeEqual(current, name);
    return macOk && fresh && isCurrent ? subject : null;
  }

  /** Makes the subject's outstanding token of this kind unusable (account disabled). */
  async revoke(kind: TokenKind, subject: TokenSubject): Promise<void> {
    const previous = await this.store.take(pointer(kind, subject));
    if (previous) await this.store.del(previous);
  }

  private mac(keyId: string, kind: TokenKind, s: TokenSubject, verifier: Buffer): string {
    const key = this.keys.get(keyId);
    if (!key) throw new Error('lifecycle tokens: key id not in the key ring');
    // JSON of an array keeps the fields unambiguous whatever they hold.
    return createHmac('sha256', key).update(JSON.stringify(['lifecycle/v1', kind, s.tenantId, s.userId])).update(verifier).digest('hex');
  }
}

function recordName(kind: TokenKind, selector: Buffer): string {
  return `lc:tok:${kind}:${createHash('sha256').update(selector).digest('hex')}`;
}

function pointer(kind: TokenKind, s: TokenSubject): string {
  return `lc:cur:${kind}:${encodeURIComponent(s.tenantId)}:${encodeURIComponent(s.userId)}`;
}
