import { z } from 'zod';
import type { Redis } from 'ioredis';
import type { Store } from 'express-session';
import type { PassportLike } from '../routes/passport-like';
import type { KeyRingEntry } from './crypto/secretbox';
import type { Argon2Params } from './crypto/passwords';
import type { AuditStore, TenantStore, UserStore } from './stores/ports';
import type { Mailer, SmsSender } from './delivery/ports';
import type { RealtimeOptions } from './realtime';

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface StepUpOptions {
  /** Shown in authenticator apps and mails, e.g. `"Acme"`. */
  issuer: string;
  /** Session settings; the plugin builds the express-session middleware from them. */
  session: {
    /** express-session secret(s); the first signs, all verify. At least 32 characters. */
    secret: string | string[];
    /** Defaults to a connect-redis store on `redis`, or express-session's MemoryStore without it. */
    store?: Store;
    /** Default `__Host-sid` when the cookie is Secure, `sid` otherwise. */
    cookieName?: string;
    /** `true`: Secure cookies (behind TLS). `'auto'` (default): Secure when the request came over TLS. */
    secureCookie?: boolean | 'auto';
    sameSite?: 'lax' | 'strict';
    /** Server-side idle timeout (default 1800 s: NIST rev 3 AAL2). */
    idleTimeoutSeconds?: number;
    /** Server-side absolute timeout from the authentication event (default 43200 s = 12 h). */
    absoluteTimeoutSeconds?: number;
  };
  /** AES-256-GCM key ring for secrets at rest: the first key seals, all open. */
  keys: KeyRingEntry[];
  stores: { users: UserStore; tenants: TenantStore; audit?: AuditStore };
  /** ioredis client for sessions, counters, codes and realtime fan-out. Without it: one process, memory. */
  redis?: Redis;
  /** Prefix for every Redis key the plugin writes (default `stepup:`). */
  redisPrefix?: string;
  /** Origins allowed to send state-changing requests and open sockets (exact `scheme://host[:port]`). */
  allowedOrigins?: string[];
  /** The one clock (ms since epoch) for every expiry and TOTP step. Default `Date.now`. */
  now?: () => number;
  logger?: Logger;
  /** The Passport instance to register strategies and the serializer on (default: the `passport` module). */
  passport?: PassportLike;
  /** Seconds a password-verified login may wait for its second factor (default 300). */
  pendingTtlSeconds?: number;
  /** Wrong codes allowed in one pending login before it is dropped (default 5). */
  challengeMaxFailures?: number;
  /** Second-factor lockout per account across sessions and IPs (default 10 failures, 15 min). */
  lockout?: { maxFailures?: number; lockSeconds?: number };
  /** Password guessing per (tenant, email) and per IP. */
  passwordLimits?: { perAccount?: number; perIp?: number; lockSeconds?: number };
  password?: { minLength?: number; maxLength?: number; argon2?: Argon2Params };
  /** TOTP acceptance window in steps (default 1 past, 1 future). */
  totp?: { windowPast?: number; windowFuture?: number };
  mailer?: Mailer;
  sms?: SmsSender;
  /** Out-of-band codes (email/SMS): TTL, tries, send caps. */
  oob?: { codeTtlSeconds?: number; maxAttempts?: number; sendsPerHour?: number; cooldownSeconds?: number; perIpPerHour?: number; deliveryTimeoutSeconds?: number };
  /**
   * Deadline for every Redis call the plugin makes (sessions, counters, codes), in ms (default 1500):
   * a stalled Redis answers 503 `unavailable` instead of hanging the request.
   */
  redisTimeoutMs?: number;
  /** Whether an email code lifts a session to aal 2 (default false: NIST does not accept email as OOB). */
  emailOtpCountsAsSecondFactor?: boolean;
  /** Limits and switches for `stepUp.realtime` (sessions, secret, Redis and origins come from the options above). */
  realtime?: Partial<Omit<RealtimeOptions, 'sessionStore' | 'secret' | 'cookieName' | 'redis' | 'now' | 'logger' | 'isSessionValid'>>;
}

const fn = z.custom<(...a: unknown[]) => unknown>((v) => typeof v === 'function');
const obj = z.custom<object>((v) => typeof v === 'object' && v !== null);
const secs = (def: number, max = 86400 * 30) => z.number().int().min(1).max(max).default(def);

const schema = z.object({
  issuer: z.string().min(1).max(64),
  session: z.object({
    secret: z.union([z.string().min(32), z.array(z.string().min(32)).min(1)]),
    store: obj.optional(),
    cookieName: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/).optional(),
    secureCookie: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    sameSite: z.enum(['lax', 'strict']).default('lax'),
    idleTimeoutSeconds: secs(1800),
    absoluteTimeoutSeconds: secs(43200),
  }),
  keys: z.array(obj).min(1),
  stores: z.object({ users: obj, tenants: obj, audit: obj.optional() }),
  redis: obj.optional(),
  redisPrefix: z.string().min(1).max(64).default('stepup:'),
  allowedOrigins: z
    .array(
      z.string().refine((u) => {
        try {
          const x = new URL(u);
          return /^https?:$/.test(x.protocol) && x.origin !== 'null';
        } catch {
          return false;
        }
      }, 'must be an http(s) origin such as https://app.example.com'),
    )
    .default([]),
  now: fn.optional(),
  logger: obj.optional(),
  passport: obj.optional(),
  pendingTtlSeconds: secs(300, 3600),
  challengeMaxFailures: z.number().int().min(1).max(100).default(5),
  lockout: z.object({ maxFailures: z.number().int().min(1).max(100).default(10), lockSeconds: secs(900) }).default({ maxFailures: 10, lockSeconds: 900 }),
  passwordLimits: z
    .object({ perAccount: z.number().int().min(1).max(100).default(10), perIp: z.number().int().min(1).max(100000).default(100), lockSeconds: secs(900) })
    .default({ perAccount: 10, perIp: 100, lockSeconds: 900 }),
  password: z
    .object({ minLength: z.number().int().min(8).max(256).default(8), maxLength: z.number().int().min(64).max(1024).default(256), argon2: obj.optional() })
    .default({ minLength: 8, maxLength: 256 }),
  totp: z.object({ windowPast: z.number().int().min(0).max(2).default(1), windowFuture: z.number().int().min(0).max(2).default(1) }).default({ windowPast: 1, windowFuture: 1 }),
  mailer: obj.optional(),
  sms: obj.optional(),
  oob: z
    .object({
      codeTtlSeconds: secs(600, 600),
      maxAttempts: z.number().int().min(1).max(10).default(5),
      sendsPerHour: z.number().int().min(1).max(100).default(3),
      cooldownSeconds: z.number().int().min(0).max(3600).default(60),
      perIpPerHour: z.number().int().min(1).max(10000).default(20),
      deliveryTimeoutSeconds: z.number().min(0.1).max(60).default(5),
    })
    .default({ codeTtlSeconds: 600, maxAttempts: 5, sendsPerHour: 3, cooldownSeconds: 60, perIpPerHour: 20, deliveryTimeoutSeconds: 5 }),
  redisTimeoutMs: z.number().int().min(50).max(60000).default(1500),
  emailOtpCountsAsSecondFactor: z.boolean().default(false),
  realtime: obj.optional(),
});

type Parsed = z.infer<typeof schema>;

export type ResolvedOptions = Omit<Parsed, 'session' | 'keys' | 'stores' | 'redis' | 'now' | 'logger' | 'passport' | 'mailer' | 'sms' | 'password' | 'realtime'> & {
  realtime?: StepUpOptions['realtime'];
  session: Omit<Parsed['session'], 'store' | 'secret'> & { store?: Store; secrets: string[] };
  keys: KeyRingEntry[];
  stores: StepUpOptions['stores'];
  redis?: Redis;
  now: () => number;
  logger: Logger;
  passport?: PassportLike;
  mailer?: Mailer;
  sms?: SmsSender;
  password: { minLength: number; maxLength: number; argon2?: Argon2Params };
};

const silentInfo: Logger = {
  info: () => undefined,
  warn: (msg, f) => console.warn(`[passport-stepup] ${msg}`, f ?? ''),
  error: (msg, f) => console.error(`[passport-stepup] ${msg}`, f ?? ''),
};

/** Checks the options once; the first problem becomes a TypeError naming the option. */
export function resolveOptions(input: StepUpOptions): ResolvedOptions {
  if (!input || typeof input !== 'object') throw new TypeError('passport-stepup: options must be an object');
  const res = schema.safeParse(input);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    const path = issue.path.join('.') || '(options)';
    throw new TypeError(`passport-stepup: option "${path}" is invalid: ${issue.message}`);
  }
  const p = res.data;
  const o = input;
  return {
    ...p,
    session: { ...p.session, store: o.session.store, secrets: Array.isArray(o.session.secret) ? o.session.secret : [o.session.secret] },
    keys: o.keys,
    stores: o.stores,
    redis: o.redis,
    now: o.now ?? Date.now,
    logger: o.logger ?? silentInfo,
    passport: o.passport,
    mailer: o.mailer,
    sms: o.sms,
    password: { ...p.password, argon2: o.password?.argon2 },
    realtime: o.realtime,
  };
}
