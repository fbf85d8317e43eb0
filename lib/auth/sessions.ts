import type { Store } from 'express-session';
import type { EphemeralStore } from '../stores/ephemeral';

/**
 * user -> session ids, so "log out everywhere", an admin reset and a password change can end every
 * session of a user (and the realtime server can close their sockets).
 */
export class SessionIndex {
  constructor(
    private readonly store: EphemeralStore,
    private readonly sessions: Store,
    private readonly ttlMs: number,
  ) {}

  private key(tenantId: string, userId: string): string {
    return `sessions:${tenantId}:${userId}`;
  }

  async add(tenantId: string, userId: string, sid: string): Promise<void> {
    await this.store.sadd(this.key(tenantId, userId), sid, this.ttlMs);
  }

  async remove(tenantId: string, userId: string, sid: string): Promise<void> {
    await this.store.srem(this.key(tenantId, userId), sid);
  }

  async list(tenantId: string, userId: string): Promise<string[]> {
    return this.store.smembers(this.key(tenantId, userId));
  }

  /** Destroys every indexed session of the user except `keep`; returns the ids destroyed. */
  async endAll(tenantId: string, userId: string, keep?: string): Promise<string[]> {
    const ids = (await this.list(tenantId, userId)).filter((sid) => sid !== keep);
    await Promise.all(ids.map((sid) => new Promise<void>((resolve, reject) => this.sessions.destroy(sid, (err) => (err ? reject(err) : resolve())))));
    await Promise.all(ids.map((sid) => this.remove(tenantId, userId, sid)));
    return ids;
  }
}
