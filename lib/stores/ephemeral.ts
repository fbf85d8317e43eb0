import type { Redis } from 'ioredis';

/**
 * Short-lived state with TTLs: pending logins, out-of-band codes, counters, user -> session ids.
 * TTLs here only collect garbage; every expiry a user can observe is checked against the injected
 * clock by the caller, so tests move time instead of sleeping.
 */
export interface EphemeralStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /** Atomic get-and-delete: of two callers at most one sees the value. */
  take(key: string): Promise<string | null>;
  /** Atomic increment; the TTL is set when the key is created. */
  incr(key: string, ttlMs: number): Promise<number>;
  sadd(key: string, member: string, ttlMs: number): Promise<void>;
  srem(key: string, member: string): Promise<void>;
  smembers(key: string): Promise<string[]>;
}

export class RedisEphemeralStore implements EphemeralStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'stepup:',
  ) {}

  private k(key: string): string {
    return this.prefix + key;
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.k(key));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.k(key), value, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length) await this.redis.del(...keys.map((k) => this.k(k)));
  }

  async take(key: string): Promise<string | null> {
    return this.redis.getdel(this.k(key));
  }

  async incr(key: string, ttlMs: number): Promise<number> {
    // SET NX creates the counter with its TTL only when it is missing; INCR keeps the TTL. Unlike
    // `PEXPIRE ... NX` this works before Redis 7, where that flag is an error the MULTI would swallow.
    const res = await this.redis
      .multi()
      .set(this.k(key), '0', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')
      .incr(this.k(key))
      .exec();
    const [err, value] = res?.[1] ?? [new Error('no reply'), null];
    if (err) throw err;
    return Number(value);
  }

  async sadd(key: string, member: string, ttlMs: number): Promise<void> {
    await this.redis
      .multi()
      .sadd(this.k(key), member)
      .pexpire(this.k(key), Math.max(1, Math.ceil(ttlMs)))
      .exec();
  }

  async srem(key: string, member: string): Promise<void> {
    await this.redis.srem(this.k(key), member);
  }

  async smembers(key: string): Promise<string[]> {
    return this.redis.smembers(this.k(key));
  }
}

/** One process only: for tests and the example app's embedded mode. Expiry follows the injected clock. */
export class MemoryEphemeralStore implements EphemeralStore {
  private readonly values = new Map<string, { v: string | Set<string>; exp: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  private live(key: string) {
    const e = this.values.get(key);
    if (e && e.exp <= this.now()) {
      this.values.delete(key);
      return undefined;
    }
    return e;
  }

  async get(key: string): Promise<string | null> {
    const e = this.live(key);
    return e && typeof e.v === 'string' ? e.v : null;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.values.set(key, { v: value, exp: this.now() + ttlMs });
  }

  async del(...keys: string[]): Promise<void> {
    for (const k of keys) this.values.delete(k);
  }

  async take(key: string): Promise<string | null> {
    // Synchronous read-and-delete: no await between them, so concurrent callers cannot both see it.
    const e = this.live(key);
    this.values.delete(key);
    return e && typeof e.v === 'string' ? e.v : null;
  }

  async incr(key: string, ttlMs: number): Promise<number> {
    const e = this.live(key);
    const n = (e && typeof e.v === 'string' ? Number(e.v) : 0) + 1;
    this.values.set(key, { v: String(n), exp: e ? e.exp : this.now() + ttlMs });
    return n;
  }

  async sadd(key: string, member: string, ttlMs: number): Promise<void> {
    const e = this.live(key);
    const set = e && e.v instanceof Set ? e.v : new Set<string>();
    set.add(member);
    this.values.set(key, { v: set, exp: this.now() + ttlMs });
  }

  async srem(key: string, member: string): Promise<void> {
    const e = this.live(key);
    if (e && e.v instanceof Set) e.v.delete(member);
  }

  async smembers(key: string): Promise<string[]> {
    const e = this.live(key);
    return e && e.v instanceof Set ? [...e.v] : [];
  }
}
