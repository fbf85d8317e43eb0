import { createHmac } from 'node:crypto';
import { randomId } from '../crypto/codes';
import type { EphemeralStore } from '../stores/ephemeral';

const HOUR_MS = 3_600_000;

interface Entry {
  member: string;
  ts: number;
  seq: number;
  id: string;
}

function parse(member: string): Entry | null {
  const [ts, seq, id] = member.split(':');
  const t = Number(ts);
  const q = Number(seq);
  return id && Number.isSafeInteger(t) && Number.isSafeInteger(q) ? { member, ts: t, seq: q, id } : null;
}

const order = (a: Entry, b: Entry) => a.ts - b.ts || a.seq - b.seq || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Sliding-hour send logs for lifecycle mails, the same way out-of-band code sends are capped
 * (lib/otp/oob.ts): the send is added to the log first and then ranked against the entries before it,
 * so of parallel requests only those within the limit pass; a refused one is taken out again. Times
 * come from the injected clock. Store keys hold an HMAC of the address or IP, never the value.
 */
export class SendLimiter {
  constructor(
    private readonly store: EphemeralStore,
    private readonly now: () => number,
    private readonly nameKey: Buffer,
  ) {}

  /** Null when the send may go, else the seconds until one would be allowed. */
  async reserve(scope: string, value: string, limit: number, cooldownSeconds = 0): Promise<number | null> {
    const key = `lc:send:${scope}:${this.name(value)}`;
    const now = this.now();
    const seq = await this.store.incr('lc:send:seq', 86_400_000);
    const member = `${now}:${seq}:${randomId(6)}`;
    await this.store.sadd(key, member, HOUR_MS);
    const mine = parse(member)!;
    const all = (await this.store.smembers(key)).map(parse).filter((e): e is Entry => e !== null);
    const stale = all.filter((e) => e.ts <= now - HOUR_MS);
    await Promise.all(stale.map((e) => this.store.srem(key, e.member)));
    const earlier = all.filter((e) => e.ts > now - HOUR_MS && order(e, mine) < 0).sort(order);
    const last = earlier[earlier.length - 1];
    let wait: number | null = null;
    if (cooldownSeconds > 0 && last && last.ts > now - cooldownSeconds * 1000) wait = last.ts + cooldownSeconds * 1000 - now;
    else if (earlier.length >= limit) wait = earlier[earlier.length - limit]!.ts + HOUR_MS - now;
    if (wait === null) return null;
    await this.store.srem(key, member);
    return Math.max(1, Math.ceil(wait / 1000));
  }

  private name(value: string): string {
    return createHmac('sha256', this.nameKey).update(value).digest('hex').slice(0, 32);
  }
}
