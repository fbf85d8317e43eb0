import { createHash, randomBytes } from 'node:crypto';
import type { EphemeralStore } from '../../stores/ephemeral';

/** What a WebAuthn challenge may be used for; a challenge issued for one purpose never serves another. */
export const WEBAUTHN_PURPOSES = ['register', 'login', 'step_up', 'passwordless'] as const;
export type WebauthnPurpose = (typeof WEBAUTHN_PURPOSES)[number];

/** Why a challenge could not be used. */
export type ChallengeFailure =
  /** Nothing waiting for this (tenant, purpose, binding): never issued, already used, or another session's. */
  | 'challenge_missing'
  /** Issued, but older than the TTL on the injected clock. */
  | 'challenge_expired'
  /** Issued to another user than the one now presenting a response. */
  | 'challenge_mismatch';

export interface ChallengeSlot {
  tenantId: string;
  purpose: WebauthnPurpose;
  /** The session id or the pending-login id the challenge belongs to. */
  binding: string;
}

interface StoredChallenge {
  challenge: string;
  /** The user the challenge was issued to; null for passwordless, where the user is not known yet. */
  userId: string | null;
  expiresAt: number;
}

const STORE_GRACE_SECONDS = 60;

/** WebAuthn L2 §13.4.3 asks for at least 16 random bytes; 32 costs nothing more. */
export const MIN_CHALLENGE_BYTES = 16;

/** 32 bytes from `crypto`, base64url: the default challenge source. */
export function cryptoChallenge(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Decodes a challenge from the injected source and refuses one that is short or not canonical
 * base64url: the options carry the bytes re-encoded, and a non-canonical string would make the
 * stored value differ from what the browser signs.
 */
export function challengeBytes(challenge: string): Uint8Array<ArrayBuffer> {
  const bytes = Buffer.from(challenge, 'base64url');
  if (bytes.length < MIN_CHALLENGE_BYTES || bytes.toString('base64url') !== challenge) {
    throw new Error(`randomChallenge must return canonical base64url of at least ${MIN_CHALLENGE_BYTES} bytes`);
  }
  return new Uint8Array(bytes);
}

/**
 * One outstanding challenge per (tenant, purpose, binding), single use. Asking for new options
 * replaces the previous challenge, so a page opened twice cannot keep two valid ones.
 */
export class ChallengeBook {
  constructor(
    private readonly store: EphemeralStore,
    private readonly now: () => number,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * The binding is a session id: only its SHA-256 goes into the key, so a key listing or a store
   * monitor never shows a usable session id.
   */
  private key(slot: ChallengeSlot): string {
    const b = createHash('sha256').update(slot.binding, 'utf8').digest('base64url');
    return `webauthn:challenge:${slot.tenantId}:${slot.purpose}:${b}`;
  }

  /** Stores the challenge; returns its expiry (ms on the injected clock). */
  async put(slot: ChallengeSlot, challenge: string, userId: string | null): Promise<number> {
    const expiresAt = this.now() + this.ttlSeconds * 1000;
    const value: StoredChallenge = { challenge, userId, expiresAt };
    // The store keeps it a minute longer than it is valid, so a late answer is told "expired" (start
    // again) rather than "missing"; validity itself is checked on the injected clock in `take`.
    await this.store.set(this.key(slot), JSON.stringify(value), (this.ttlSeconds + STORE_GRACE_SECONDS) * 1000);
    return expiresAt;
  }

  /**
   * Takes (deletes) the challenge before anything is checked: of two requests racing with the same
   * response at most one sees it, and a failed attempt burns it too, so each guess needs new options.
   */
  async take(slot: ChallengeSlot, userId: string): Promise<{ ok: true; challenge: string; boundToUser: boolean } | { ok: false; reason: ChallengeFailure }> {
    const raw = await this.store.take(this.key(slot));
    if (raw === null) return { ok: false, reason: 'challenge_missing' };
    const stored = parseStored(raw);
    if (!stored) return { ok: false, reason: 'challenge_missing' };
    // The store's TTL only collects garbage; the expiry a user sees follows the injected clock.
    if (stored.expiresAt <= this.now()) return { ok: false, reason: 'challenge_expired' };
    if (stored.userId !== null && stored.userId !== userId) return { ok: false, reason: 'challenge_mismatch' };
    return { ok: true, challenge: stored.challenge, boundToUser: stored.userId !== null };
  }
}

function parseStored(raw: string): StoredChallenge | null {
  try {
    const v = JSON.parse(raw) as Partial<StoredChallenge>;
    if (typeof v.challenge !== 'string' || typeof v.expiresAt !== 'number') return null;
    if (v.userId !== null && typeof v.userId !== 'string') return null;
    return { challenge: v.challenge, userId: v.userId, expiresAt: v.expiresAt };
  } catch {
    return null;
  }
}
