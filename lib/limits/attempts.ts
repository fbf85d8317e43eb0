import { StepUpError, type ErrorCode } from '../errors';
import type { EphemeralStore } from '../stores/ephemeral';
import { FixedWindow, retrySeconds } from './window';

export interface AttemptLimitOptions {
  /** Failures allowed before the key is locked. */
  maxFailures: number;
  /** How long a lock lasts. */
  lockSeconds: number;
  /** Failures older than this are forgotten (garbage collection of the counter). */
  windowSeconds: number;
  /** The error a locked key answers with. */
  lockedError: ErrorCode;
}

/**
 * Counts failures per key in a fixed window (lib/limits/window.ts: INCR with expiry) taken BEFORE the check runs, so a burst of parallel
 * guesses cannot overrun the budget (ATK-04 d). Lock expiry is checked against the injected clock.
 * Counters live in the ephemeral store (Redis), never in the session (ATK-26).
 *
 * The counter is never reset when a lock is set: an attempt that read "not locked" just before the
 * lock landed still counts past the limit and is refused. Each lock starts a new counter generation
 * (named after the lock's expiry), so once the lock lifts every caller shares one fresh budget.
 */
export class AttemptLimiter {
  private readonly counter: FixedWindow;
  private readonly lockMs: number;

  constructor(
    private readonly store: EphemeralStore,
    private readonly now: () => number,
    private readonly name: string,
    readonly options: AttemptLimitOptions,
  ) {
    // Options speak seconds (units in their names); everything below is ms.
    this.counter = new FixedWindow(store, options.windowSeconds * 1000);
    this.lockMs = options.lockSeconds * 1000;
  }

  // One hash tag per limited key: the lock and its counters share a Redis Cluster slot, so a script
  // may read and write them together.
  private lockKey(key: string): string {
    return `limit:${this.name}:lock:{${key}}`;
  }

  private countKey(key: string, generation: string): string {
    return `limit:${this.name}:n:{${key}}:${generation}`;
  }

  /** The current counter generation and how long the lock still holds (ms, <= 0 when open). */
  private async state(key: string): Promise<{ generation: string; leftMs: number }> {
    const raw = await this.store.get(this.lockKey(key));
    const until = Number(raw ?? 0);
    return { generation: raw && Number.isFinite(until) ? raw : '0', leftMs: (Number.isFinite(until) ? until : 0) - this.now() };
  }

  private lockedError(leftMs: number): StepUpError {
    return new StepUpError(this.options.lockedError, undefined, { retryAfterSeconds: retrySeconds(leftMs) });
  }

  /** Throws the locked error while a lock holds. */
  async assertOpen(key: string): Promise<void> {
    const { leftMs } = await this.state(key);
    if (leftMs > 0) throw this.lockedError(leftMs);
  }

  /**
   * Reserves one attempt: throws when locked or when the budget is already spent by attempts in flight.
   * Call `succeeded` after a success; a failure needs no call (the attempt was already counted), but
   * `failed` reports whether this failure locked the key.
   */
  async reserve(key: string): Promise<number> {
    const { generation, leftMs } = await this.state(key);
    if (leftMs > 0) throw this.lockedError(leftMs);
    const n = await this.counter.hit(this.countKey(key, generation));
    if (n > this.options.maxFailures) {
      // The attempt that reached the limit locks (or succeeded and reset); this one is over budget either way.
      const current = await this.state(key);
      throw this.lockedError(current.leftMs > 0 ? current.leftMs : this.lockMs);
    }
    return n;
  }

  /** Counts one failure without reserving first (for caps that only count failures, e.g. per IP). */
  async hit(key: string): Promise<boolean> {
    const { generation } = await this.state(key);
    const n = await this.counter.hit(this.countKey(key, generation));
    return this.failed(key, n);
  }

  /** After a failed reserved attempt: locks when this was the last allowed failure. Returns true when it locked. */
  async failed(key: string, attemptNumber: number): Promise<boolean> {
    if (attemptNumber >= this.options.maxFailures) {
      await this.lock(key);
      return true;
    }
    return false;
  }

  async succeeded(key: string): Promise<void> {
    // One round trip on a single Redis: the generation is read inside the script.
    if (this.store.runScript) {
      await this.store.runScript(RESET_CURRENT, [this.lockKey(key), this.countKey(key, '')], []);
      return;
    }
    const { generation } = await this.state(key);
    await this.counter.reset(this.countKey(key, generation));
  }

  /**
   * `reserve` with a second, smaller budget counted first (the per-login budget of a challenge:
   * ATK-26), in ONE Redis round trip on a single Redis (a script) instead of three. When the inner
   * budget is spent (`tries > inner.max`) nothing else is counted and `n` is null; a lock throws
   * like `reserve`. On a Redis Cluster (keys of several slots) or in memory: the same steps one
   * after the other.
   */
  async reserveAlong(key: string, inner: { key: string; ttlMs: number; max: number }): Promise<{ tries: number; n: number | null }> {
    if (!this.store.runScript) {
      const tries = await this.store.incr(inner.key, inner.ttlMs);
      if (tries > inner.max) return { tries, n: null };
      return { tries, n: await this.reserve(key) };
    }
    const [tries, n, lock] = (await this.store.runScript(RESERVE_ALONG, [inner.key, this.lockKey(key), this.countKey(key, '')], [
      ttl(inner.ttlMs),
      inner.max,
      ttl(this.counter.windowMs),
      Math.floor(this.now()),
    ])) as [number, number, string | null];
    if (Number(tries) > inner.max) return { tries: Number(tries), n: null };
    const until = Number(lock ?? 0);
    const leftMs = (Number.isFinite(until) ? until : 0) - this.now();
    if (leftMs > 0) throw this.lockedError(leftMs);
    if (Number(n) > this.options.maxFailures) throw this.lockedError(this.lockMs);
    return { tries: Number(tries), n: Number(n) };
  }

  private async lock(key: string): Promise<void> {
    // Kept as long as a counter of its generation may live, so the generation never falls back.
    await this.store.set(this.lockKey(key), String(this.now() + this.lockMs), this.lockMs + this.counter.windowMs + 60_000);
  }
}

const ttl = (ms: number) => Math.max(1, Math.ceil(ms));

// The generation rule of `state()`: the lock's raw value when it is a number, else '0'. The count key
// is the counter prefix (passed as a key, so the store prefixes it) and the generation, built inside the
// script, which a single Redis allows (a Cluster takes the step-by-step path).
const generation = (lockKey: string) => `
local raw = redis.call('GET', ${lockKey})
local gen = '0'
if raw and tonumber(raw) then gen = raw end`;

// KEYS: inner counter, lock, counter prefix. ARGV: inner ttl, inner max, count ttl, now (the caller's clock).
// -> {tries, n (0: not counted), lock value while it holds (else false)}. Nothing is counted against
// the account while its lock holds, as in `reserve`.
const RESERVE_ALONG = `
redis.call('SET', KEYS[1], '0', 'PX', ARGV[1], 'NX')
local tries = redis.call('INCR', KEYS[1])
if tries > tonumber(ARGV[2]) then return {tries, 0, false} end
${generation('KEYS[2]')}
if raw and tonumber(raw) and tonumber(raw) > tonumber(ARGV[4]) then return {tries, 0, raw} end
local ck = KEYS[3] .. gen
redis.call('SET', ck, '0', 'PX', ARGV[3], 'NX')
return {tries, redis.call('INCR', ck), false}`;

// KEYS: lock, counter prefix.
const RESET_CURRENT = `
${generation('KEYS[1]')}
redis.call('DEL', KEYS[2] .. gen)
return 1`;
