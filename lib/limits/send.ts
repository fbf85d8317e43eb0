import { createHmac } from 'node:crypto';
import type { EphemeralStore } from '../stores/ephemeral';
import { retrySeconds, SlidingWindow } from './window';

const HOUR_MS = 3_600_000;

/**
 * Sliding-hour send caps for lifecycle mails, on the same primitive as out-of-band code sends
 * (lib/limits/window.ts): a send is admitted and logged in one atomic step, so of parallel requests
 * only those within the limit pass, and a refused one is never logged. Times come from the injected
 * clock. Store keys hold an HMAC of the address or IP, never the value.
 */
export class SendLimiter {
  constructor(
    private readonly store: EphemeralStore,
    private readonly now: () => number,
    private readonly nameKey: Buffer,
  ) {}

  /** Null when the send may go, else the seconds until one would be allowed. */
  async reserve(scope: string, value: string, limit: number, cooldownSeconds = 0): Promise<number | null> {
    const window = new SlidingWindow(this.store, this.now, { windowMs: HOUR_MS, limit, minGapMs: cooldownSeconds * 1000 });
    const r = await window.admit(`lc:send:${scope}:${this.name(value)}`);
    return r.admitted ? null : retrySeconds(r.retryAfterMs);
  }

  private name(value: string): string {
    return createHmac('sha256', this.nameKey).update(value).digest('hex').slice(0, 32);
  }
}
