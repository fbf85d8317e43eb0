import { createHmac, randomInt } from 'node:crypto';
import { safeEqual } from '../crypto/compare';
import { deriveKey, randomId } from '../crypto/codes';
import { StepUpError } from '../errors';
import { logMember, type EphemeralStore } from '../stores/ephemeral';
import { admitAll, FixedWindow, retrySeconds, SlidingWindow } from '../limits/window';

export const OOB_PURPOSES = ['login', 'enrol', 'step_up'] as const;
export type OobPurpose = (typeof OOB_PURPOSES)[number];
export const OOB_CHANNELS = ['email', 'sms'] as const;
export type OobChannel = (typeof OOB_CHANNELS)[number];
export type OobResult = 'ok' | 'invalid' | 'expired' | 'exhausted';

export interface OobCodesOptions {
  store: EphemeralStore;
  now: () => number;
  /** Server key (≥ 16 bytes) the codes are MACed under at rest; subkeys are derived from it. */
  secret: Buffer;
  /** Lifetime of a code. Default 600; at most 600 (MFA-39). */
  codeTtlSeconds?: number;
  /** Wrong codes per (user, purpose, channel), counted across resends, before the slot is burned. Default 5. */
  maxAttempts?: number;
  /** How long each failure counts (sliding window). Default: codeTtlSeconds. */
  failureWindowSeconds?: number;
  /** Sends per (user, channel) in any sliding hour. Default 3. */
  sendsPerHour?: number;
  /** Minimum time between two sends per (user, channel). Default 60. */
  cooldownSeconds?: number;
  /** Sends per client IP (per tenant) in any sliding hour. Default 20. */
  perIpPerHour?: number;
  /** Sends per destination address or number (per tenant) in any sliding hour. Default 5. */
  perDestinationPerHour?: number;
  /** Budget of sends per UTC day for the whole deployment (all tenants; cost and spam cap). Default: none. */
  globalSendsPerDay?: number;
  /** Told once per refused send when the global budget is spent (an alert for operators). */
  onBudgetExhausted?: (info: { day: string; budget: number }) => void;
}

export interface OobSlot {
  tenantId: string;
  userId: string;
  purpose: OobPurpose;
  channel: OobChannel;
}

export interface OobIssueInput extends OobSlot {
  /** What the code is bound to: the pending-login id, or an id bound to the session (ATK-12). */
  binding: string;
  /** Where the code goes (email address or E.164 number); only its MAC appears in store keys. */
  destination: string;
  ip?: string;
}

export interface OobVerifyInput extends OobSlot {
  binding: string;
  code: string;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const CODE_PATTERN = /^[0-9]{6}$/;
/** Failure-log members: `p:` an attempt in flight (reserved), `f:` a confirmed wrong code. */
const PENDING = 'p:';
const FAILED = 'f:';
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** What `issue` hands back: the code to deliver, and `undo` for when its delivery failed. */
export interface OobIssued {
  code: string;
  expiresInSeconds: number;
  /**
   * Takes this send back out of every send cap (the user's hour and cooldown, the destination's, the
   * IP's, the global day), so a failed delivery does not use up anyone's budget. The code itself stays
   * valid: a delivery that timed out may still arrive.
   */
  undo(): Promise<void>;
}

/**
 * One engine for email and SMS codes: 6 digits from `crypto.randomInt`, stored only as an HMAC bound to
 * (tenant, user, purpose, channel, binding), single use through an atomic `take`, and send caps.
 *
 * Failure counting (MFA-40, ATK-11): wrong codes are counted per (tenant, user, purpose, channel) in a
 * sliding window (`failureWindowSeconds`, default the code TTL) that a resend does NOT reset. The
 * `maxAttempts`-th failure in the window burns the outstanding code, and while the window holds that many
 * failures every verify answers 'exhausted' and `issue` refuses with `rate_limited` (+ retryAfterSeconds)
 * instead of sending a code that could not be used. A success clears the count.
 * Every attempt is reserved before its code is compared, so a burst of parallel guesses cannot overrun
 * the budget; attempts beyond it are refused without a comparison.
 *
 * @example
 * const oob = new OobCodes({ store, now: Date.now, secret: key });
 * const { code } = await oob.issue({ tenantId, userId, purpose: 'login', binding: pendingId, channel: 'email', destination, ip });
 * await oob.verify({ tenantId, userId, purpose: 'login', binding: pendingId, channel: 'email', code }); // 'ok'
 */
export class OobCodes {
  readonly codeTtlSeconds: number;
  readonly maxAttempts: number;
  readonly failureWindowSeconds: number;
  readonly sendsPerHour: number;
  readonly cooldownSeconds: number;
  readonly perIpPerHour: number;
  readonly perDestinationPerHour: number;
  readonly globalSendsPerDay: number | null;
  private readonly onBudgetExhausted?: (info: { day: string; budget: number }) => void;
  private readonly store: EphemeralStore;
  private readonly now: () => number;
  private readonly codeKey: Buffer;
  private readonly nameKey: Buffer;
  // The caps, all on the one limiter primitive (lib/limits/window.ts), every time in ms.
  private readonly userSends: SlidingWindow;
  private readonly destinationSends: SlidingWindow;
  private readonly ipSends: SlidingWindow;
  private readonly failureLog: SlidingWindow;
  private readonly globalDay: FixedWindow;

  constructor(options: OobCodesOptions) {
    const given = Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined)) as OobCodesOptions;
    const o = { codeTtlSeconds: 600, maxAttempts: 5, sendsPerHour: 3, cooldownSeconds: 60, perIpPerHour: 20, perDestinationPerHour: 5, ...given };
    if (!o.store || typeof o.store.take !== 'function' || typeof o.store.slidingAdd !== 'function') throw new TypeError('OobCodes: `store` must be an EphemeralStore');
    if (typeof o.now !== 'function') throw new TypeError('OobCodes: `now` must be a function returning milliseconds');
    if (!Buffer.isBuffer(o.secret) || o.secret.length < 16) throw new TypeError('OobCodes: `secret` must be a Buffer of at least 16 bytes');
    const int = (name: keyof typeof o, min: number, max = 1e9) => {
      const v = o[name];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new TypeError(`OobCodes: \`${name}\` must be an integer from ${min} to ${max}`);
      return v;
    };
    this.codeTtlSeconds = int('codeTtlSeconds', 1, 600);
    this.failureWindowSeconds = o.failureWindowSeconds === undefined ? this.codeTtlSeconds : int('failureWindowSeconds', 1, 86_400);
    this.maxAttempts = int('maxAttempts', 1, 100);
    this.sendsPerHour = int('sendsPerHour', 1);
    this.cooldownSeconds = int('cooldownSeconds', 0, 3600);
    this.perIpPerHour = int('perIpPerHour', 1);
    this.perDestinationPerHour = int('perDestinationPerHour', 1);
    this.globalSendsPerDay = o.globalSendsPerDay === undefined ? null : int('globalSendsPerDay', 1);
    if (o.onBudgetExhausted !== undefined && typeof o.onBudgetExhausted !== 'function') throw new TypeError('OobCodes: `onBudgetExhausted` must be a function');
    this.onBudgetExhausted = o.onBudgetExhausted;
    this.store = o.store;
    this.now = o.now;
    this.codeKey = deriveKey(o.secret, 'oob-code');
    this.nameKey = deriveKey(o.secret, 'oob-key-name');
    this.userSends = new SlidingWindow(o.store, o.now, { windowMs: HOUR_MS, limit: this.sendsPerHour, minGapMs: this.cooldownSeconds * 1000 });
    this.destinationSends = new SlidingWindow(o.store, o.now, { windowMs: HOUR_MS, limit: this.perDestinationPerHour });
    this.ipSends = new SlidingWindow(o.store, o.now, { windowMs: HOUR_MS, limit: this.perIpPerHour });
    this.failureLog = new SlidingWindow(o.store, o.now, { windowMs: this.failureWindowSeconds * 1000, limit: this.maxAttempts });
    this.globalDay = new FixedWindow(o.store, 2 * DAY_MS);
  }

  /**
   * Checks every send limit, then makes a new code that replaces the slot's previous one.
   * Throws `rate_limited` (with retryAfterSeconds) when a limit holds; nothing is generated then.
   * The send counts against the caps unless the caller gives it back with `undo()` (delivery failed).
   */
  async issue(input: OobIssueInput): Promise<OobIssued> {
    const slot = this.slotKeys(input);
    if (typeof input.binding !== 'string' || !input.binding) throw new TypeError('OobCodes.issue: `binding` is required');
    if (typeof input.destination !== 'string' || !input.destination) throw new TypeError('OobCodes.issue: `destination` is required');
    const now = this.now();

    const burned = await this.failuresBlocking(slot.fail, now);
    if (burned !== null) throw new StepUpError('rate_limited', undefined, { retryAfterSeconds: burned });

    const tenant = enc(input.tenantId);
    const caps: Array<[SlidingWindow, string]> = [
      [this.userSends, slot.sends],
      [this.destinationSends, `oob:dest:${tenant}:${input.channel}:${this.name(input.destination)}`],
    ];
    if (input.ip) caps.push([this.ipSends, `oob:ip:${tenant}:${this.name(input.ip)}`]);
    const admitted = await admitAll(caps, now);
    if (!admitted.admitted) throw new StepUpError('rate_limited', undefined, { retryAfterSeconds: retrySeconds(admitted.retryAfterMs) });
    let dayKey: string | null = null;
    if (this.globalSendsPerDay !== null) {
      // A fixed UTC-day bucket on the injected clock; an INCR keeps it O(1) whatever the volume.
      const day = Math.floor(now / DAY_MS);
      dayKey = `oob:global:${day}`;
      if ((await this.globalDay.hit(dayKey)) > this.globalSendsPerDay) {
        await Promise.all([admitted.taken.release(), this.globalDay.undo(dayKey)]);
        this.onBudgetExhausted?.({ day: new Date(day * DAY_MS).toISOString().slice(0, 10), budget: this.globalSendsPerDay });
        throw new StepUpError('rate_limited', undefined, { retryAfterSeconds: retrySeconds((day + 1) * DAY_MS - now) });
      }
    }

    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const record = JSON.stringify({ mac: this.mac(input, input.binding, code), expiresAt: now + this.codeTtlSeconds * 1000, id: randomId(9) });
    // Kept past expiry so a late submission answers 'expired' rather than 'invalid'; the TTL only collects garbage.
    await this.store.set(slot.code, record, this.codeTtlSeconds * 1000 + 15 * 60_000);
    let undone = false;
    const undo = async () => {
      if (undone) return;
      undone = true;
      await Promise.all([admitted.taken.release(), dayKey ? this.globalDay.undo(dayKey) : undefined]);
    };
    return { code, expiresInSeconds: this.codeTtlSeconds, undo };
  }

  /** Checks a code for the same purpose, binding and channel it was issued for, and consumes it on success. */
  async verify(input: OobVerifyInput): Promise<OobResult> {
    const slot = this.slotKeys(input);
    const now = this.now();
    // Reserve the attempt before reading anything (so parallel guesses cannot all slip under the budget):
    // failures and attempts in flight together may not exceed maxAttempts.
    const reserved = await this.failureLog.admit(slot.fail, { member: logMember(PENDING), nowMs: now });
    if (!reserved.admitted) {
      if ((await this.confirmedFailures(slot.fail, now)).length < this.maxAttempts) return 'invalid'; // over budget only because of attempts in flight
      await this.store.del(slot.code);
      return 'exhausted';
    }
    const mine = reserved.entry;
    const release = () => this.failureLog.release(mine);

    const raw = await this.store.get(slot.code);
    const record = raw ? (JSON.parse(raw) as { mac: string; expiresAt: number }) : null;
    if (!record) {
      // Admitted means fewer than maxAttempts failures: the slot is not exhausted, the code is just gone.
      await release();
      return 'invalid';
    }
    if (now >= record.expiresAt) {
      await release();
      await this.store.del(slot.code);
      return 'expired';
    }

    const code = typeof input.code === 'string' && input.code.length <= 64 ? input.code : '';
    const binding = typeof input.binding === 'string' ? input.binding : '';
    if (CODE_PATTERN.test(code) && safeEqual(this.mac(input, binding, code), record.mac)) {
      const won = await this.store.take(slot.code);
      if (won === raw) {
        await this.store.del(slot.fail);
        return 'ok';
      }
      await release();
      // Re-issued between our read and our take: put the new code back (ours was replaced, so invalid).
      if (won !== null) await this.store.set(slot.code, won, this.codeTtlSeconds * 1000 + 15 * 60_000);
      return 'invalid';
    }

    // A wrong code: the pending attempt becomes a failure (added before removal, so it is never uncounted).
    await this.failureLog.admit(slot.fail, { member: FAILED + mine.member.slice(PENDING.length), nowMs: now, limit: NO_LIMIT });
    await release();
    if ((await this.confirmedFailures(slot.fail, now)).length >= this.maxAttempts) {
      await this.store.del(slot.code);
      return 'exhausted';
    }
    return 'invalid';
  }

  /** Wrong codes counted for the slot in the current window (across resends). */
  async failures(slot: OobSlot): Promise<number> {
    return (await this.confirmedFailures(this.slotKeys(slot).fail, this.now())).length;
  }

  /** Deletes the slot's outstanding code (failures and send counts stay). */
  async revoke(slot: OobSlot): Promise<void> {
    await this.store.del(this.slotKeys(slot).code);
  }

  private slotKeys(s: OobSlot) {
    if (!OOB_PURPOSES.includes(s.purpose)) throw new TypeError('OobCodes: `purpose` must be login, enrol or step_up');
    if (!OOB_CHANNELS.includes(s.channel)) throw new TypeError('OobCodes: `channel` must be email or sms');
    if (typeof s.tenantId !== 'string' || !s.tenantId || typeof s.userId !== 'string' || !s.userId) {
      throw new TypeError('OobCodes: `tenantId` and `userId` are required');
    }
    // One hash tag per user (ids are URI-encoded, so they cannot close it): a user's keys share a
    // Redis Cluster slot and a script may touch them together.
    const base = `{${enc(s.tenantId)}:${enc(s.userId)}}`;
    return {
      code: `oob:code:${base}:${s.purpose}:${s.channel}`,
      fail: `oob:fail:${base}:${s.purpose}:${s.channel}`,
      sends: `oob:send:${base}:${s.channel}`,
    };
  }

  private mac(s: OobSlot, binding: string, code: string): string {
    // JSON of an array keeps the fields unambiguous whatever characters they hold.
    const context = JSON.stringify(['oob/v1', s.tenantId, s.userId, s.purpose, s.channel, binding, code]);
    return createHmac('sha256', this.codeKey).update(context).digest('hex');
  }

  /** Store keys never hold an address, number or IP in clear. */
  private name(value: string): string {
    return createHmac('sha256', this.nameKey).update(value.trim().toLowerCase()).digest('hex').slice(0, 32);
  }

  /** The confirmed failures in the window, oldest first. */
  private async confirmedFailures(key: string, now: number): Promise<Array<{ member: string; atMs: number }>> {
    return (await this.failureLog.entries(key, now)).filter((e) => e.member.startsWith(FAILED));
  }

  /** Seconds until a new code may be issued when the slot's failures are at the limit, else null. */
  private async failuresBlocking(key: string, now: number): Promise<number | null> {
    const failed = await this.confirmedFailures(key, now);
    if (failed.length < this.maxAttempts) return null;
    return retrySeconds(failed[failed.length - this.maxAttempts]!.atMs + this.failureLog.windowMs - now);
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}
