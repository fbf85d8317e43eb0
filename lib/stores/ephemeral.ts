import { randomBytes, createHash } from 'node:crypto';
import { withDeadline } from '../errors';

/**
 * What the plugin needs from an ioredis client, written structurally so that a `Redis`, a `Cluster`
 * (or a Sentinel-backed `Redis`) from ioredis 5 or 6 all fit without importing that package's classes
 * (their private fields would make two ioredis copies incompatible types).
 */
export interface RedisLike {
  /** ioredis' generic command (`call('GET', key)`); a Cluster routes it by the command's key. */
  call(command: string, ...args: Array<string | number | Buffer>): Promise<unknown>;
  publish(channel: string, message: string): Promise<number>;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
  /** `Redis#duplicate(options)` or `Cluster#duplicate(startupNodes, options)`. */
  duplicate(...args: any[]): RedisLike;
  readonly status: string;
  /** true on an ioredis `Cluster`. */
  readonly isCluster: boolean;
}

/** The answer of `slidingAdd`. */
export interface SlidingResult {
  /** The entry was added (within the limit and past the minimum gap). Refused entries are not stored. */
  admitted: boolean;
  /** Live entries before this one (its 0-based position in the window). */
  rank: number;
  /** Time of the oldest live entry (this one's when the log was empty), ms on the caller's clock. */
  oldestMs: number;
  /** 0 when admitted, else the ms until an entry would be admitted. */
  retryAfterMs: number;
}

/**
 * Short-lived state with TTLs: pending logins, out-of-band codes, counters, user -> session ids.
 * TTLs here only collect garbage; every expiry a user can observe is checked against the injected
 * clock by the caller, so tests move time instead of sleeping. Every TTL is in ms.
 *
 * Each method touches ONE key (atomic on its own), so keys may live in different Redis Cluster slots;
 * callers that group keys of one user or tenant put the group in a hash tag (`oob:code:{t:u}:...`).
 */
export interface EphemeralStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /** Atomic get-and-delete: of two callers at most one sees the value. */
  take(key: string): Promise<string | null>;
  /**
   * Fixed window: atomic increment by `by` (default 1); the TTL is set when the key is created, so the
   * window starts with its first hit. A negative `by` never creates the key (answers 0 when it is gone).
   */
  incr(key: string, ttlMs: number, by?: number): Promise<number>;
  sadd(key: string, member: string, ttlMs: number): Promise<void>;
  srem(key: string, member: string): Promise<void>;
  smembers(key: string): Promise<string[]>;
  /**
   * Sliding window log (a sorted set scored by the caller's clock): in one atomic step drops entries
   * at or before `nowMs - windowMs`, then adds `member` at `nowMs` only when fewer than `limit` live
   * entries are there and the newest is at least `minGapMs` old. Of parallel callers only `limit` get in.
   */
  slidingAdd(key: string, member: string, nowMs: number, windowMs: number, limit: number, minGapMs?: number): Promise<SlidingResult>;
  /** Takes an entry back out (a refused or undone action). */
  slidingRemove(key: string, member: string): Promise<void>;
  /** The live entries, oldest first (stale ones are dropped on the way). */
  slidingRange(key: string, nowMs: number, windowMs: number): Promise<Array<{ member: string; atMs: number }>>;
  /**
   * Several writes, then one read, in ONE round trip on a single Redis (one script; atomic there),
   * one call after the other on a Redis Cluster (the keys may live in several slots) and in memory:
   * `set` with TTLs, `del`, `sadd` (the set's TTL renewed), `srem`, then the value of `get`.
   */
  batch(ops: BatchOps): Promise<string | null>;
  /**
   * A Lua script over keys of this store (named without the prefix; the store adds it), in one round
   * trip. Only on a single Redis: absent in memory and on a Cluster (where keys may live in several
   * slots), so callers keep a step-by-step path for those.
   */
  readonly runScript?: (source: string, keys: string[], args: Array<string | number>) => Promise<unknown>;
}

/** The writes (in this order) and the read of one `batch`. */
export interface BatchOps {
  set?: Array<[key: string, value: string, ttlMs: number]>;
  del?: string[];
  sadd?: Array<[key: string, member: string, ttlMs: number]>;
  srem?: Array<[key: string, member: string]>;
  get?: string;
}

/**
 * Raised when Redis does not answer within the store's deadline. `code` is ETIMEDOUT (and the name is
 * its own) so the routes classify it as a store outage: 503, never a hang or a 500.
 */
export class RedisDeadlineError extends Error {
  override readonly name = 'RedisDeadlineError';
  readonly code = 'ETIMEDOUT';
  constructor(command: string, ms: number) {
    super(`Redis did not answer ${command} within ${ms} ms`);
  }
}

/** A Redis call bounded by `ms`: past it, a `RedisDeadlineError` (lib/errors.ts `withDeadline`). */
export function redisDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(p, ms, () => new RedisDeadlineError(what, ms));
}

const ttl = (ms: number) => Math.max(1, Math.ceil(ms));

// Single-key scripts: one round trip, atomic on the server, no MULTI. Times come from ARGV (the
// injected clock), never from Redis's TIME.
const INCR = `
local by = tonumber(ARGV[2])
if by < 0 and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], '0', 'PX', ARGV[1], 'NX')
return redis.call('INCRBY', KEYS[1], by)`;

const SLIDING_ADD = `
local now, win, limit, gap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)
local n = redis.call('ZCARD', KEYS[1])
local oldest = now
if n > 0 then oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]) end
local wait = 0
if gap > 0 and n > 0 then
  local newest = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
  if newest + gap > now then wait = newest + gap - now end
end
if wait == 0 and n >= limit then
  if limit == 0 then wait = win else
    wait = tonumber(redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')[2]) + win - now
    if wait < 1 then wait = 1 end
  end
end
if wait == 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], win)
end
return {wait == 0 and 1 or 0, n, tostring(oldest), tostring(wait)}`;

const SADD = `
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])`;

// KEYS in the order of the ops; ARGV: per op its name, then its arguments.
const BATCH = `
local i, k, out = 1, 1, false
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'set' then redis.call('SET', KEYS[k], ARGV[i + 1], 'PX', ARGV[i + 2]); i = i + 3
  elseif op == 'del' then redis.call('DEL', KEYS[k]); i = i + 1
  elseif op == 'sadd' then redis.call('SADD', KEYS[k], ARGV[i + 1]); redis.call('PEXPIRE', KEYS[k], ARGV[i + 2]); i = i + 3
  elseif op == 'srem' then redis.call('SREM', KEYS[k], ARGV[i + 1]); i = i + 2
  else out = redis.call('GET', KEYS[k]); i = i + 1 end
  k = k + 1
end
return out`;

const SLIDING_RANGE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')`;

class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

const callerScripts = new Map<string, Script>();
const scriptFor = (source: string): Script => {
  let s = callerScripts.get(source);
  if (!s) callerScripts.set(source, (s = new Script(source)));
  return s;
};

const scripts = { incr: new Script(INCR), sadd: new Script(SADD), slidingAdd: new Script(SLIDING_ADD), slidingRange: new Script(SLIDING_RANGE), batch: new Script(BATCH) };

export interface RedisEphemeralOptions {
  /** Key prefix (default `stepup:`). */
  prefix?: string;
  /** Deadline for every call in ms (default 1500): a stalled Redis fails the call instead of hanging it. */
  timeoutMs?: number;
}

/**
 * The ephemeral store on Redis, a Redis Cluster (ioredis `Cluster`) or Sentinel. Every call races a
 * deadline and rejects with `RedisDeadlineError` when Redis stalls.
 */
export class RedisEphemeralStore implements EphemeralStore {
  private readonly prefix: string;
  readonly timeoutMs: number;
  readonly runScript?: (source: string, keys: string[], args: Array<string | number>) => Promise<unknown>;

  constructor(
    private readonly redis: RedisLike,
    prefixOrOptions: string | RedisEphemeralOptions = {},
    options: RedisEphemeralOptions = {},
  ) {
    const o = typeof prefixOrOptions === 'string' ? { ...options, prefix: prefixOrOptions } : prefixOrOptions;
    this.prefix = o.prefix ?? 'stepup:';
    this.timeoutMs = o.timeoutMs ?? 1500;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) throw new TypeError('RedisEphemeralStore: `timeoutMs` must be a positive number');
    if (!redis.isCluster) this.runScript = (source, keys, args) => this.scriptOn(scriptFor(source), keys, args);
  }

  private k(key: string): string {
    return this.prefix + key;
  }

  private run<T>(command: string, ...args: Array<string | number>): Promise<T> {
    return redisDeadline(this.redis.call(command, ...args) as Promise<T>, this.timeoutMs, command);
  }

  /** EVALSHA, loading the script once per server (NOSCRIPT) with EVAL. One key: any cluster node owns it. */
  private script<T>(s: Script, key: string, ...args: Array<string | number>): Promise<T> {
    return this.scriptOn<T>(s, [key], args);
  }

  private async scriptOn<T>(s: Script, keys: string[], args: Array<string | number>): Promise<T> {
    const ks = keys.map((key) => this.k(key));
    try {
      return await this.run<T>('EVALSHA', s.sha, ks.length, ...ks, ...args);
    } catch (err) {
      if (!/NOSCRIPT/.test((err as Error)?.message ?? '')) throw err;
      return this.run<T>('EVAL', s.source, ks.length, ...ks, ...args);
    }
  }

  async get(key: string): Promise<string | null> {
    return this.run<string | null>('GET', this.k(key));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.run('SET', this.k(key), value, 'PX', ttl(ttlMs));
  }

  async del(...keys: string[]): Promise<void> {
    if (!keys.length) return;
    // One DEL may name keys of several slots only on a single Redis; a cluster refuses it (CROSSSLOT).
    if (this.redis.isCluster && keys.length > 1) await Promise.all(keys.map((key) => this.run('DEL', this.k(key))));
    else await this.run('DEL', ...keys.map((key) => this.k(key)));
  }

  async take(key: string): Promise<string | null> {
    return this.run<string | null>('GETDEL', this.k(key));
  }

  async incr(key: string, ttlMs: number, by = 1): Promise<number> {
    return Number(await this.script(scripts.incr, key, ttl(ttlMs), Math.trunc(by)));
  }

  async sadd(key: string, member: string, ttlMs: number): Promise<void> {
    // One script: the set never exists without its TTL, even if the connection drops in between.
    await this.script(scripts.sadd, key, member, ttl(ttlMs));
  }

  async srem(key: string, member: string): Promise<void> {
    await this.run('SREM', this.k(key), member);
  }

  async smembers(key: string): Promise<string[]> {
    return this.run<string[]>('SMEMBERS', this.k(key));
  }

  async slidingAdd(key: string, member: string, nowMs: number, windowMs: number, limit: number, minGapMs = 0): Promise<SlidingResult> {
    const [ok, rank, oldest, wait] = await this.script<[number, number, string, string]>(
      scripts.slidingAdd,
      key,
      member,
      Math.floor(nowMs),
      ttl(windowMs),
      Math.max(0, Math.floor(limit)),
      Math.max(0, Math.ceil(minGapMs)),
    );
    return { admitted: ok === 1, rank: Number(rank), oldestMs: Number(oldest), retryAfterMs: Number(wait) };
  }

  async slidingRemove(key: string, member: string): Promise<void> {
    await this.run('ZREM', this.k(key), member);
  }

  async batch(ops: BatchOps): Promise<string | null> {
    if (this.redis.isCluster) return batchOneByOne(this, ops);
    const keys: string[] = [];
    const args: Array<string | number> = [];
    for (const [key, value, ms] of ops.set ?? []) keys.push(key), args.push('set', value, ttl(ms));
    for (const key of ops.del ?? []) keys.push(key), args.push('del');
    for (const [key, member, ms] of ops.sadd ?? []) keys.push(key), args.push('sadd', member, ttl(ms));
    for (const [key, member] of ops.srem ?? []) keys.push(key), args.push('srem', member);
    if (ops.get !== undefined) keys.push(ops.get), args.push('get');
    if (!keys.length) return null;
    return (await this.scriptOn<string | null>(scripts.batch, keys, args)) ?? null;
  }

  async slidingRange(key: string, nowMs: number, windowMs: number): Promise<Array<{ member: string; atMs: number }>> {
    const flat = await this.script<string[]>(scripts.slidingRange, key, Math.floor(nowMs), ttl(windowMs));
    const out: Array<{ member: string; atMs: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ member: flat[i]!, atMs: Number(flat[i + 1]) });
    return out;
  }
}

type Value = string | Set<string> | Map<string, number>;

/**
 * One process only: for tests and the example app's embedded mode. Expiry follows the injected clock.
 * Same semantics as the Redis store (the shared contract in test/helpers/ephemeral-contract.ts runs on
 * both); every method reads and writes in one synchronous step, so it is atomic like a Redis script.
 */
export class MemoryEphemeralStore implements EphemeralStore {
  private readonly values = new Map<string, { v: Value; exp: number }>();

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
    this.values.set(key, { v: value, exp: this.now() + ttl(ttlMs) });
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

  async incr(key: string, ttlMs: number, by = 1): Promise<number> {
    const e = this.live(key);
    if (!e && by < 0) return 0;
    const n = (e && typeof e.v === 'string' ? Number(e.v) : 0) + Math.trunc(by);
    this.values.set(key, { v: String(n), exp: e ? e.exp : this.now() + ttl(ttlMs) });
    return n;
  }

  async sadd(key: string, member: string, ttlMs: number): Promise<void> {
    const e = this.live(key);
    const set = e && e.v instanceof Set ? e.v : new Set<string>();
    set.add(member);
    this.values.set(key, { v: set, exp: this.now() + ttl(ttlMs) });
  }

  async srem(key: string, member: string): Promise<void> {
    const e = this.live(key);
    if (e && e.v instanceof Set) e.v.delete(member);
  }

  async smembers(key: string): Promise<string[]> {
    const e = this.live(key);
    return e && e.v instanceof Set ? [...e.v] : [];
  }

  /** The live sorted entries of a log after dropping those at or before `nowMs - windowMs`. */
  private log(key: string, nowMs: number, windowMs: number): Array<[string, number]> {
    const e = this.live(key);
    if (!e || !(e.v instanceof Map)) return [];
    for (const [m, at] of e.v) if (at <= nowMs - windowMs) e.v.delete(m);
    // Redis orders equal scores by member; so do we.
    return [...e.v].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  async slidingAdd(key: string, member: string, nowMs: number, windowMs: number, limit: number, minGapMs = 0): Promise<SlidingResult> {
    const now = Math.floor(nowMs);
    const win = ttl(windowMs);
    const entries = this.log(key, now, win);
    const n = entries.length;
    const lim = Math.max(0, Math.floor(limit));
    const gap = Math.max(0, Math.ceil(minGapMs));
    let wait = 0;
    if (gap > 0 && n > 0 && entries[n - 1]![1] + gap > now) wait = entries[n - 1]![1] + gap - now;
    if (wait === 0 && n >= lim) wait = lim === 0 ? win : Math.max(1, entries[n - lim]![1] + win - now);
    if (wait === 0) {
      const e = this.live(key);
      const map = e && e.v instanceof Map ? e.v : new Map<string, number>();
      map.set(member, now);
      this.values.set(key, { v: map, exp: this.now() + win });
    }
    return { admitted: wait === 0, rank: n, oldestMs: n ? entries[0]![1] : now, retryAfterMs: wait };
  }

  async slidingRemove(key: string, member: string): Promise<void> {
    const e = this.live(key);
    if (e && e.v instanceof Map) e.v.delete(member);
  }

  async slidingRange(key: string, nowMs: number, windowMs: number): Promise<Array<{ member: string; atMs: number }>> {
    return this.log(key, Math.floor(nowMs), ttl(windowMs)).map(([member, atMs]) => ({ member, atMs }));
  }

  batch(ops: BatchOps): Promise<string | null> {
    return batchOneByOne(this, ops);
  }
}

/** `batch` as separate calls, in the same order. */
async function batchOneByOne(s: EphemeralStore, ops: BatchOps): Promise<string | null> {
  for (const [key, value, ms] of ops.set ?? []) await s.set(key, value, ms);
  if (ops.del?.length) await s.del(...ops.del);
  for (const [key, member, ms] of ops.sadd ?? []) await s.sadd(key, member, ms);
  for (const [key, member] of ops.srem ?? []) await s.srem(key, member);
  return ops.get === undefined ? null : s.get(ops.get);
}

/** A unique member for a window log. */
export function logMember(prefix = ''): string {
  return prefix + randomBytes(9).toString('base64url');
}
