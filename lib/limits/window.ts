import { logMember, type EphemeralStore } from '../stores/ephemeral';

/**
 * The one limiter primitive, in two shapes, both atomic in the ephemeral store (one Redis script or
 * one synchronous step in memory), with every time in ms from the injected clock:
 *
 * - `FixedWindow`: INCR with an expiry set by the first hit (failure counters, daily budgets).
 * - `SlidingWindow`: a log of entries scored by time (a Redis sorted set); an entry is admitted only
 *   while fewer than `limit` live entries exist and the newest is `minGapMs` old, checked and added in
 *   one step, so of parallel callers exactly `limit` get in. An admitted entry can be taken back
 *   (`release`) when what it paid for did not happen (a refused later cap, a failed delivery).
 *
 * Used by AttemptLimiter (lockouts), SendLimiter (lifecycle mails) and OobCodes (code sends and wrong codes).
 */
export class FixedWindow {
  constructor(
    private readonly store: EphemeralStore,
    readonly windowMs: number,
  ) {
    if (!(windowMs > 0)) throw new TypeError('FixedWindow: `windowMs` must be positive');
  }

  /** Counts one hit (or `by`) and answers the count in the current window. */
  hit(key: string, by = 1): Promise<number> {
    return this.store.incr(key, this.windowMs, by);
  }

  /** Takes a hit back (never creates the counter). */
  undo(key: string, by = 1): Promise<number> {
    return this.store.incr(key, this.windowMs, -by);
  }

  reset(key: string): Promise<void> {
    return this.store.del(key);
  }
}

export interface SlidingWindowOptions {
  windowMs: number;
  limit: number;
  /** Minimum time between two admitted entries (a cooldown). Default 0. */
  minGapMs?: number;
}

/** An admitted entry: enough to take it back. */
export interface WindowEntry {
  key: string;
  member: string;
}

export type Admission = { admitted: true; entry: WindowEntry; rank: number } | { admitted: false; retryAfterMs: number; rank: number };

export class SlidingWindow {
  readonly windowMs: number;
  readonly limit: number;
  readonly minGapMs: number;

  constructor(
    private readonly store: EphemeralStore,
    private readonly now: () => number,
    options: SlidingWindowOptions,
  ) {
    this.windowMs = options.windowMs;
    this.limit = options.limit;
    this.minGapMs = options.minGapMs ?? 0;
    if (!(this.windowMs > 0)) throw new TypeError('SlidingWindow: `windowMs` must be positive');
    if (!(this.limit >= 0)) throw new TypeError('SlidingWindow: `limit` must be 0 or more');
  }

  /** Admits one entry when the window has room (`member` names it; a random one by default). */
  async admit(key: string, opts: { member?: string; nowMs?: number; limit?: number } = {}): Promise<Admission> {
    const member = opts.member ?? logMember();
    const r = await this.store.slidingAdd(key, member, opts.nowMs ?? this.now(), this.windowMs, opts.limit ?? this.limit, this.minGapMs);
    return r.admitted ? { admitted: true, entry: { key, member }, rank: r.rank } : { admitted: false, retryAfterMs: r.retryAfterMs, rank: r.rank };
  }

  release(entry: WindowEntry): Promise<void> {
    return this.store.slidingRemove(entry.key, entry.member);
  }

  /** Live entries, oldest first. */
  entries(key: string, nowMs = this.now()): Promise<Array<{ member: string; atMs: number }>> {
    return this.store.slidingRange(key, nowMs, this.windowMs);
  }
}

/** Seconds for a Retry-After header: at least 1. */
export const retrySeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** Entries admitted together; `release` takes them all back. */
export class Admissions {
  private readonly taken: Array<{ window: SlidingWindow; entry: WindowEntry }> = [];

  add(window: SlidingWindow, entry: WindowEntry): void {
    this.taken.push({ window, entry });
  }

  async release(): Promise<void> {
    const all = this.taken.splice(0);
    await Promise.all(all.map(({ window, entry }) => window.release(entry)));
  }
}

/**
 * Admits one entry in each window in order; on the first refusal the entries already taken are
 * released (a refusal never charges the other caps) and the refusal's wait is answered.
 */
export async function admitAll(
  steps: Array<[window: SlidingWindow, key: string]>,
  nowMs: number,
): Promise<{ admitted: true; taken: Admissions } | { admitted: false; retryAfterMs: number }> {
  const taken = new Admissions();
  for (const [window, key] of steps) {
    const r = await window.admit(key, { nowMs });
    if (!r.admitted) {
      await taken.release();
      return { admitted: false, retryAfterMs: r.retryAfterMs };
    }
    taken.add(window, r.entry);
  }
  return { admitted: true, taken };
}
