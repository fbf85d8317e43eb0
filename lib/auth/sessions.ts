import { createHash } from 'node:crypto';
import type { EphemeralStore } from '../stores/ephemeral';
import type { StepUpEvents, SessionsEndedEvent } from '../events';
import { uidOf } from '../state/machine';

/** The part of an express-session store the core needs (kept structural: lib/ does not import express-session). */
export interface SessionDestroyer {
  destroy(sid: string, callback?: (err?: unknown) => void): void;
}

/** Why a user's sessions end; carried by the `sessions_ended` event. */
export type EndReason = SessionsEndedEvent['reason'];

/** Key of a user's revocation mark (ms since epoch) in the ephemeral store; the Redis session store reads it too. */
export function revocationKey(tenantId: string, userId: string): string {
  return `revoked:${tenantId}:${userId}`;
}

/**
 * The tag a session id made at a login carries (`<random>~<tag>`, routes/http-session.ts): a digest of
 * the user (`<tenantId>:<userId>`, the session's `mfa.uid`). The Redis session store reads the session
 * and the mark under this tag (`tagMarkKey`) in ONE command, and on a Redis Cluster both keys share a
 * slot. Not a secret: the id's 24 random bytes are (docs/SECURITY.md SR-1).
 */
export function sessionTag(uid: string): string {
  return createHash('sha256').update(uid).digest('base64url').slice(0, SESSION_TAG_LENGTH);
}

/** Characters of a session tag (96 bits of the digest). */
export const SESSION_TAG_LENGTH = 16;

/** Key of the revocation mark under a session tag (the same value as `revocationKey`'s, written beside it). */
export function tagMarkKey(tag: string): string {
  return `rv:{${tag}}`;
}

/**
 * user -> sessions, and the one way to end them (docs/SECURITY.md SR-1). Ending a user's sessions
 * first writes a revocation mark: a session (or a pending login) whose `validFrom` is older than the
 * mark is dead wherever it is loaded, even one that a request still in flight writes back into the
 * store, or one that the index never knew. Then the indexed sessions are destroyed and
 * `sessions_ended` tells the realtime server to close their sockets.
 */
export class UserSessions {
  constructor(
    private readonly store: EphemeralStore,
    private readonly sessions: SessionDestroyer,
    private readonly events: StepUpEvents,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  private key(tenantId: string, userId: string): string {
    return `sessions:${tenantId}:${userId}`;
  }

  async add(tenantId: string, userId: string, sid: string): Promise<void> {
    await this.store.sadd(this.key(tenantId, userId), sid, this.ttlMs);
  }

  /**
   * A session established or rotated, in one round trip on a single Redis: `sid` joins the user's
   * index (`replaced` leaves it), the records in `set` are written and those in `del` dropped; answers
   * the user's revocation mark as it is after these writes (0 when none).
   */
  async index(tenantId: string, userId: string, sid: string, o: { replaced?: string; set?: Array<[string, string, number]>; del?: string[] } = {}): Promise<number> {
    const key = this.key(tenantId, userId);
    const raw = await this.store.batch({
      set: o.set,
      del: o.del,
      sadd: [[key, sid, this.ttlMs]],
      srem: o.replaced ? [[key, o.replaced]] : undefined,
      get: revocationKey(tenantId, userId),
    });
    const n = Number(raw ?? 0);
    return Number.isFinite(n) ? n : 0;
  }

  async remove(tenantId: string, userId: string, sid: string): Promise<void> {
    await this.store.srem(this.key(tenantId, userId), sid);
  }

  async list(tenantId: string, userId: string): Promise<string[]> {
    return this.store.smembers(this.key(tenantId, userId));
  }

  /** The user's revocation mark (ms), or 0. */
  async revokedAt(tenantId: string, userId: string): Promise<number> {
    const raw = await this.store.get(revocationKey(tenantId, userId));
    const n = Number(raw ?? 0);
    return Number.isFinite(n) ? n : 0;
  }

  /**
   * Ends every session of the user (all of them: the caller keeps its own by re-issuing it with
   * `keptAfterCredentialChange`). Returns the time of the mark and the ids destroyed (but `keep`).
   */
  async endAll(tenantId: string, userId: string, reason: EndReason, keep?: string): Promise<{ at: number; ended: string[] }> {
    const at = this.now();
    // The mark first (by user, and under the tag the user's session ids carry): from here on no session
    // of the user made before `at` loads, whatever else fails.
    await this.store.batch({
      set: [
        [revocationKey(tenantId, userId), String(at), this.ttlMs],
        [tagMarkKey(sessionTag(uidOf(tenantId, userId))), String(at), this.ttlMs],
      ],
    });
    const ids = (await this.list(tenantId, userId)).filter((sid) => sid !== keep);
    await Promise.all(ids.map((sid) => new Promise<void>((resolve, reject) => this.sessions.destroy(sid, (err) => (err ? reject(err) : resolve())))));
    await Promise.all(ids.map((sid) => this.remove(tenantId, userId, sid)));
    if (ids.length) this.events.emitSessionsEnded({ tenantId, userId, sessionIds: ids, reason });
    return { at, ended: ids };
  }

  /** One session ended (logout, expiry, per-session sign-out): out of the index, sockets closed. */
  async ended(tenantId: string, userId: string, sid: string, reason: EndReason): Promise<void> {
    await this.remove(tenantId, userId, sid);
    this.events.emitSessionsEnded({ tenantId, userId, sessionIds: [sid], reason });
  }
}
