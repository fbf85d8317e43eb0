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
    const { generation } = await this.state(key);
    await this.counter.reset(this.countKey(key, generation));
  }

  private async lock(key: string): Promise<void> {
    // Kept as long as a counter of its generation may live, so the generation never falls back.
    await this.store.set(this.lockKey(key), String(this.now() + this.lockMs), this.lockMs + this.counter.windowMs + 60_000);
  }
}
