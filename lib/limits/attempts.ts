import { StepUpError, type ErrorCode } from '../errors';
import type { EphemeralStore } from '../stores/ephemeral';

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
 * Counts failures per key with an atomic INCR taken BEFORE the check runs, so a burst of parallel
 * guesses cannot overrun the budget (ATK-04 d). Lock expiry is checked against the injected clock.
 * Counters live in the ephemeral store (Redis), never in the session (ATK-26).
 */
export class AttemptLimiter {
  constructor(
    private readonly store: EphemeralStore,
    private readonly now: () => number,
    private readonly name: string,
    readonly options: AttemptLimitOptions,
  ) {}

  private keys(key: string) {
    return { count: `limit:${this.name}:n:${key}`, lock: `limit:${this.name}:lock:${key}` };
  }

  /** Throws the locked error while a lock holds. */
  async assertOpen(key: string): Promise<void> {
    const until = Number((await this.store.get(this.keys(key).lock)) ?? 0);
    const left = until - this.now();
    if (left > 0) throw new StepUpError(this.options.lockedError, undefined, { retryAfterSeconds: Math.ceil(left / 1000) });
  }

  /**
   * Reserves one attempt: throws when locked or when the budget is already spent by attempts in flight.
   * Call `succeeded` after a success; a failure needs no call (the attempt was already counted), but
   * `failed` reports whether this failure locked the key.
   */
  async reserve(key: string): Promise<number> {
    await this.assertOpen(key);
    const n = await this.store.incr(this.keys(key).count, this.options.windowSeconds * 1000);
    if (n > this.options.maxFailures) {
      await this.lock(key);
      throw new StepUpError(this.options.lockedError, undefined, { retryAfterSeconds: this.options.lockSeconds });
    }
    return n;
  }

  /** Counts one failure without reserving first (for caps that only count failures, e.g. per IP). */
  async hit(key: string): Promise<boolean> {
    const n = await this.store.incr(this.keys(key).count, this.options.windowSeconds * 1000);
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
    await this.store.del(this.keys(key).count);
  }

  private async lock(key: string): Promise<void> {
    const k = this.keys(key);
    const ms = this.options.lockSeconds * 1000;
    await this.store.set(k.lock, String(this.now() + ms), ms + 60_000);
    await this.store.del(k.count);
  }
}
