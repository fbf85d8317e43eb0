import type { Request, RequestHandler } from 'express';
import type { StepUpContext } from '../lib/context';
import { StepUpError } from '../lib/errors';
import { retrySeconds } from '../lib/limits/window';
import { cookieName } from './http-session';
import { sessionIdFromCookie } from '../lib/realtime/session';
import { sendError } from './http';

// The shield (issue 14): a flood of guesses is refused BEFORE the session middleware runs, so a
// refusal costs no session read or write, no user lookup and no argon2id; other users' requests keep
// the CPU. It is a cheap first gate, not the security budget: the per-login, per-account and
// per-IP lockouts behind it (lib/auth) still decide what an admitted attempt may do.

/** A token bucket: `burst` tokens, refilled at `perMinute`. Times in ms from the injected clock. */
interface Bucket {
  tokens: number;
  at: number;
}

export interface BucketRule {
  burst: number;
  perMinute: number;
}

/**
 * Token buckets by key, in process memory, at most `maxKeys` of them. When full, buckets that have
 * refilled (they hold no information) go first, then the oldest: memory stays bounded whatever the
 * number of addresses or cookies an attacker uses.
 */
export class BucketTable {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rule: BucketRule,
    private readonly maxKeys: number,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token: 0 when granted, else the ms until a token is there. */
  take(key: string, now: number): number {
    const ratePerMs = this.rule.perMinute / 60_000;
    let b = this.buckets.get(key);
    if (b) {
      // A clock that moved back refills nothing (and never grants extra).
      b.tokens = Math.min(this.rule.burst, b.tokens + Math.max(0, now - b.at) * ratePerMs);
      b.at = Math.max(b.at, now);
    } else {
      if (this.buckets.size >= this.maxKeys) this.evict(now);
      b = { tokens: this.rule.burst, at: now };
      this.buckets.set(key, b);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / ratePerMs);
  }

  private evict(now: number): void {
    const fullAfterMs = (this.rule.burst / this.rule.perMinute) * 60_000;
    let scanned = 0;
    for (const [k, b] of this.buckets) {
      if (now - b.at >= fullAfterMs) this.buckets.delete(k);
      // Bounded work per insertion; the oldest entries come first in a Map.
      if (++scanned >= 64) break;
    }
    if (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
  }
}

/** The POST routes of `stepUp.router` that verify or send something (paths relative to the router). */
export const SHIELDED_ROUTES = [
  '/login',
  '/mfa/challenge',
  '/step-up',
  '/mfa/email/send',
  '/mfa/sms/send',
  '/mfa/totp/verify',
  '/mfa/email/verify',
  '/mfa/sms/verify',
  // Passkeys: every options call stores a challenge, every verify checks a signature.
  '/passkey/options',
  '/passkey/login',
  '/mfa/webauthn/register/options',
  '/mfa/webauthn/register/verify',
  '/mfa/webauthn/authenticate/options',
] as const;

function pathOf(req: Request): string {
  const url = req.originalUrl ?? req.url ?? '';
  const q = url.indexOf('?');
  const p = q < 0 ? url : url.slice(0, q);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/**
 * The first middleware of `stepUp.session`: on the shielded POST routes, one token from the bucket of
 * the session cookie the server signed, or (without one) from the client IP's bucket; else 429
 * `rate_limited` with `Retry-After`, answered before express-session loads anything. Other requests
 * pass untouched. With `shield.redis` (and a Redis client) an IP also spends from a per-minute window
 * shared by every process: one Redis command, still before the session is read.
 */
export function shield(ctx: StepUpContext): RequestHandler {
  const o = ctx.opts.shield;
  if (!o.enabled) return (_req, _res, next) => next();
  const routes = new Set<string>(SHIELDED_ROUTES.map((r) => o.routerPath + r));
  const ips = new BucketTable({ burst: o.ipBurst, perMinute: o.ipPerMinute }, o.maxKeys);
  const sessions = new BucketTable({ burst: o.sessionBurst, perMinute: o.sessionPerMinute }, o.maxKeys);
  const name = cookieName(ctx);
  const secrets = ctx.opts.session.secrets;
  const shared = o.redis && ctx.opts.redis ? ctx.ephemeral : null;
  const sharedLimit = Math.max(o.ipBurst, o.ipPerMinute);
  // Sessions whose login a timed account lock refused (423 with Retry-After): until it lifts, the same
  // answer again from here, without loading the session (a lock refuses every code, so nothing else
  // could come of it). Hard locks (no Retry-After: a backup code still opens them) are not kept.
  const locked = new Map<string, number>();
  const LOCKABLE = new Set<string>(['/mfa/challenge', '/step-up'].map((r) => o.routerPath + r));
  const rememberLock = (sid: string, res: Parameters<RequestHandler>[1]) => {
    res.once('finish', () => {
      const after = Number(res.getHeader('retry-after'));
      if (res.statusCode !== 423 || !(after > 0)) return;
      if (locked.size >= o.maxKeys) locked.delete(locked.keys().next().value!);
      locked.set(sid, ctx.now() + after * 1000);
    });
  };
  const refuse = (res: Parameters<RequestHandler>[1], waitMs: number, error: 'rate_limited' | 'account_locked' = 'rate_limited') => {
    const answer = () => sendError(res, new StepUpError(error, undefined, { retryAfterSeconds: retrySeconds(waitMs) }));
    // A client that does not wait for Retry-After would be answered again at once, as fast as it can
    // send: the refusal is held back a little (never past the wait it announces), so a flood over kept-alive
    // connections costs a timer per connection instead of the process's CPU. Dropped if the client leaves.
    const delay = Math.min(o.delayMs, waitMs);
    if (delay <= 0) return answer();
    const timer = setTimeout(answer, delay);
    res.once('close', () => clearTimeout(timer));
  };

  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    const path = pathOf(req);
    if (!routes.has(path)) return next();
    const now = ctx.now();
    const ip = req.ip ?? 'unknown';
    // Only the server signs, and it hands a cookie out only with a saved session (a login its IP paid
    // for): so a signed cookie may carry its own budget, while made-up cookies buy nothing.
    const sid = sessionIdFromCookie(req.headers.cookie, name, secrets);
    if (sid !== null && LOCKABLE.has(path)) {
      const until = locked.get(sid) ?? 0;
      if (until > now) return refuse(res, until - now, 'account_locked');
      if (until) locked.delete(sid);
      rememberLock(sid, res);
    }
    // A request with a session the server issued spends that session's budget (its login paid at
    // its IP); anything else spends its IP's. Users behind one NAT then share only the cost of logins.
    const wait = sid !== null ? sessions.take(sid, now) : ips.take(ip, now);
    if (wait > 0) return refuse(res, wait);
    if (!shared || sid !== null) return next();
    const windowMs = 60_000;
    const slot = Math.floor(now / windowMs);
    shared.incr(`shield:{${ip}}:${slot}`, windowMs + 1000).then(
      (n) => (n > sharedLimit ? refuse(res, (slot + 1) * windowMs - now) : next()),
      // Redis trouble: the in-process buckets have already decided; the session chain fails closed on its own.
      () => next(),
    );
  };
}
