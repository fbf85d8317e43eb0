import { z } from 'zod';
import type { KeyRingEntry } from './crypto/secretbox';
import type { Argon2Params } from './crypto/passwords';
import type { AuditStore, TenantStore, UserStore } from './stores/ports';
import type { Mailer, SmsSender } from './delivery/ports';
import type { RealtimeOptions } from './realtime';
import { lifecycleSchema, type LifecycleOptions } from './account/options';
import { isOrigin } from './origins';

/** The one logger type of the plugin (realtime included). `debug` is optional: client mistakes go there. */
export interface Logger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** The part of an express-session store the plugin uses (structural: any express-session store fits). */
export interface SessionStoreLike {
  get(sid: string, callback: (err: unknown, session?: unknown) => void): unknown;
  set(sid: string, session: never, callback?: (err?: unknown) => void): unknown;
  destroy(sid: string, callback?: (err?: unknown) => void): unknown;
}

/** The ioredis client the plugin uses: a `Redis`, a `Cluster` or a Sentinel-backed `Redis` (structural: ioredis 5 and 6 fit). */
export type { RedisLike } from './stores/ephemeral';
import type { RedisLike } from './stores/ephemeral';

/** Realtime limits and switches a host may set (sessions, secret, Redis and the clock come from the plugin). */
export type RealtimeSettings = Partial<
  Pick<
    RealtimeOptions,
    | 'allowedOrigins'
    | 'allowMissingOrigin'
    | 'channelPrefix'
    | 'minAal'
    | 'maxPayloadBytes'
    | 'maxMessagesPerMinute'
    | 'maxConnectionsPerUser'
    | 'maxBufferedBytes'
    | 'heartbeatIntervalMs'
    | 'revalidateIntervalMs'
    | 'sessionLoadTimeoutMs'
  >
>;

export interface StepUpOptions {
  /** Shown in authenticator apps and mails, e.g. `"Acme"`. */
  issuer: string;
  /** Session settings; the plugin builds the express-session middleware from them (or, with `external`, the host does). */
  session: {
    /** express-session secret(s); the first signs, all verify. At least 32 characters. With `external`: the host's. */
    secret: string | string[];
    /**
     * `true`: the host mounts its own express-session (its cookie, its settings) built with
     * `store: stepUp.stores.sessions` and the same `secret`, before `stepUp.session`; the plugin then
     * builds none. Default false: `stepUp.session` holds the plugin's own.
     */
    external?: boolean;
    /**
     * Default: the plugin's own Redis store on `redis` (one command loads a session and checks its
     * user's revocation mark), or a memory store without it. A store given here gets the same checks
     * at the cost of one more round trip.
     */
    store?: SessionStoreLike;
    /** Default `__Host-sid` when the cookie is Secure, `sid` otherwise; `connect.sid` (express-session's) with `external`. */
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
  stores: { users: UserStore; tenants: TenantStore; audit?: AuditStore; ensureIndexes?: () => Promise<void>; dropTenantData?: (slug: string) => Promise<void> };
  /** ioredis client for sessions, counters, codes and realtime fan-out. Without it: one process, memory. */
  redis?: RedisLike;
  /** Prefix for every Redis key the plugin writes (default `stepup:`). */
  redisPrefix?: string;
  /**
   * Deadline for every Redis call the plugin makes (sessions, counters, codes), in ms (default 1500):
   * a stalled Redis answers 503 `unavailable` instead of hanging the request.
   */
  redisTimeoutMs?: number;
  /** Origins allowed to send state-changing requests and open sockets (exact `scheme://host[:port]`). */
  allowedOrigins?: string[];
  /** The one clock (ms since epoch) for every expiry, TOTP step and stored timestamp. Default `Date.now`. */
  now?: () => number;
  logger?: Logger;
  /** The Passport instance to register strategies and the serializer on (default: the `passport` module). */
  passport?: object;
  /**
   * Single-tenant mode: the tenant slug a login without `tenant` in its body signs in to
   * (e.g. `'acme'`). Default: none, `tenant` is required. A body's own `tenant` still wins.
   */
  defaultTenant?: string;
  /** Seconds a password-verified login may wait for its second factor (default 300). */
  pendingTtlSeconds?: number;
  /** Wrong codes allowed in one pending login before it is dropped (default 5). */
  challengeMaxFailures?: number;
  /**
   * Second-factor lockout per account across sessions and IPs: `maxFailures` (default 10) wrong codes
   * lock for `lockSeconds` (default 900), each further lock within a day four times longer, and after
   * `maxLocksPerDay` (default 3) locks only a backup code or an administrator opens the account.
   */
  lockout?: { maxFailures?: number; lockSeconds?: number; maxLocksPerDay?: number };
  /** Password guessing per (tenant, email) and per IP. */
  passwordLimits?: { perAccount?: number; perIp?: number; lockSeconds?: number };
  /**
   * `password.concurrency`: argon2id computations at once (default: one fewer than the libuv pool and
   * than the CPUs, at least 1, so other work keeps a thread and the event loop a core); `password.maxQueued`: logins that may wait for one (default
   * 64); beyond that a login is refused with 503 `unavailable` instead of piling up.
   */
  password?: { minLength?: number; maxLength?: number; argon2?: Argon2Params; concurrency?: number; maxQueued?: number };
  /**
   * The shield: a per-session and per-IP budget (token buckets) checked before the session is loaded,
   * on the plugin's POST routes that guess or send something (login, challenge, step-up, code sends and
   * confirmations, passkey options and verifications): a request with a session cookie the server signed spends that session's budget,
   * any other its IP's. A refusal is 429 `rate_limited` with `Retry-After`, and costs no session
   * read or write and no argon2. Buckets are in process memory; `redis: true` adds a per-IP fixed
   * window in Redis shared by every process. Behind a proxy set Express's `trust proxy`, or every
   * client shares the proxy's budget.
   */
  shield?: {
    enabled?: boolean;
    /** Where `stepUp.router` is mounted (default `/auth`): the shield matches `<routerPath>/login` and so on. */
    routerPath?: string;
    ipBurst?: number;
    ipPerMinute?: number;
    sessionBurst?: number;
    sessionPerMinute?: number;
    /** Buckets kept per process before the oldest are dropped (default 100000). */
    maxKeys?: number;
    /** A refusal is answered after this delay (ms, default 1000, never past its Retry-After): a client that ignores Retry-After cannot spin on refusals. */
    delayMs?: number;
    redis?: boolean;
  };
  /** TOTP acceptance window in steps (default 1 past, 1 future). */
  totp?: { windowPast?: number; windowFuture?: number };
  mailer?: Mailer;
  sms?: SmsSender;
  /** Out-of-band codes (email/SMS): TTL, tries, send caps, delivery deadline. */
  oob?: { codeTtlSeconds?: number; maxAttempts?: number; sendsPerHour?: number; cooldownSeconds?: number; perIpPerHour?: number; deliveryTimeoutSeconds?: number };
  /** Whether an email code lifts a session to aal 2 (default false: NIST does not accept email as OOB). */
  emailOtpCountsAsSecondFactor?: boolean;
  /** Self-registration, email verification and password reset: see `LifecycleOptions`. */
  lifecycle?: LifecycleOptions;
  /**
   * Passkeys (WebAuthn): the relying party. `rpId` is the registrable domain (e.g. `example.com`),
   * `origins` the exact origins pages run on. Origin and RP ID come from here, never from request headers.
   * Default: from the first `allowedOrigins` entry.
   */
  webauthn?: { rpId?: string; rpName?: string; origins?: string[] };
  /** Limits and switches for `stepUp.realtime` (`minAal` defaults to 2: sockets are for fully authenticated sessions). */
  realtime?: RealtimeSettings;
}

const fn = z.custom<(...a: unknown[]) => unknown>((v) => typeof v === 'function', 'must be a function');
const obj = z.custom<object>((v) => typeof v === 'object' && v !== null, 'must be an object');
const secs = (def: number, max = 86400 * 30) => z.number().int().min(1).max(max).default(def);
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const origin = z.string().refine(isOrigin, 'must be a bare http(s) origin such as https://app.example.com');

// Defaults are written here once; `z.strictObject` everywhere: a misspelled option is an error, never ignored.
const schema = z.strictObject({
  issuer: z.string().min(1).max(64),
  session: z.strictObject({
    secret: z.union([z.string().min(32), z.array(z.string().min(32)).min(1)]),
    external: z.boolean().default(false),
    store: obj.optional(),
    cookieName: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/).optional(),
    secureCookie: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    sameSite: z.enum(['lax', 'strict']).default('lax'),
    idleTimeoutSeconds: secs(1800),
    absoluteTimeoutSeconds: secs(43200),
  }),
  keys: z.array(obj).min(1),
  stores: z.strictObject({ users: obj, tenants: obj, audit: obj.optional(), ensureIndexes: fn.optional(), dropTenantData: fn.optional() }),
  redis: obj.optional(),
  redisPrefix: z.string().min(1).max(64).default('stepup:'),
  redisTimeoutMs: int(50, 60000).default(1500),
  allowedOrigins: z.array(origin).default([]),
  now: fn.optional(),
  logger: obj.optional(),
  passport: obj.optional(),
  defaultTenant: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a tenant slug (lower-case letters, digits, dashes)').optional(),
  pendingTtlSeconds: secs(300, 3600),
  challengeMaxFailures: int(1, 100).default(5),
  lockout: z.strictObject({ maxFailures: int(1, 100).default(10), lockSeconds: secs(900), maxLocksPerDay: int(1, 100).default(3) }).prefault({}),
  passwordLimits: z.strictObject({ perAccount: int(1, 100).default(10), perIp: int(1, 100000).default(100), lockSeconds: secs(900) }).prefault({}),
  password: z
    .strictObject({ minLength: int(8, 256).default(8), maxLength: int(64, 1024).default(256), argon2: obj.optional(), concurrency: int(1, 256).optional(), maxQueued: int(0, 100000).default(64) })
    .prefault({}),
  shield: z
    .strictObject({
      enabled: z.boolean().default(true),
      routerPath: z.string().regex(/^(\/[^/?#]+)*$/).default('/auth'),
      ipBurst: int(1, 1_000_000).default(120),
      ipPerMinute: int(1, 1_000_000).default(60),
      sessionBurst: int(1, 1_000_000).default(10),
      sessionPerMinute: int(1, 1_000_000).default(6),
      maxKeys: int(100, 10_000_000).default(100_000),
      delayMs: int(0, 60_000).default(1000),
      redis: z.boolean().default(false),
    })
    .prefault({}),
  totp: z.strictObject({ windowPast: int(0, 2).default(1), windowFuture: int(0, 2).default(1) }).prefault({}),
  mailer: obj.optional(),
  sms: obj.optional(),
  oob: z
    .strictObject({
      codeTtlSeconds: secs(600, 600),
      maxAttempts: int(1, 10).default(5),
      sendsPerHour: int(1, 100).default(3),
      cooldownSeconds: int(0, 3600).default(60),
      perIpPerHour: int(1, 10000).default(20),
      deliveryTimeoutSeconds: z.number().min(0.1).max(60).default(5),
    })
    .prefault({}),
  emailOtpCountsAsSecondFactor: z.boolean().default(false),
  lifecycle: lifecycleSchema.optional(),
  webauthn: z.strictObject({ rpId: z.string().min(1).max(253).optional(), rpName: z.string().min(1).max(64).optional(), origins: z.array(origin).optional() }).prefault({}),
  realtime: z
    .strictObject({
      allowedOrigins: z.array(origin).optional(),
      allowMissingOrigin: z.boolean().optional(),
      channelPrefix: z.string().min(1).max(64).optional(),
      minAal: z.union([z.literal(1), z.literal(2)]).default(2),
      maxPayloadBytes: int(64, 16 * 1024 * 1024).optional(),
      maxMessagesPerMinute: int(1, 100000).optional(),
      maxConnectionsPerUser: int(1, 10000).optional(),
      maxBufferedBytes: int(1024, 1024 * 1024 * 1024).optional(),
      heartbeatIntervalMs: int(100, 3600000).optional(),
      revalidateIntervalMs: int(100, 3600000).optional(),
      sessionLoadTimeoutMs: int(10, 60000).optional(),
    })
    .prefault({}),
});

/** The options schema, for generated docs (scripts/options-doc.ts): not part of the public API. */
export { schema as optionsSchema };

type Parsed = z.infer<typeof schema>;

export type ResolvedOptions = Omit<Parsed, 'session' | 'keys' | 'stores' | 'redis' | 'now' | 'logger' | 'passport' | 'mailer' | 'sms' | 'password' | 'lifecycle'> & {
  session: Omit<Parsed['session'], 'store' | 'secret'> & { store?: SessionStoreLike; secrets: string[] };
  keys: KeyRingEntry[];
  stores: StepUpOptions['stores'];
  redis?: RedisLike;
  now: () => number;
  logger: Logger;
  passport?: object;
  mailer?: Mailer;
  sms?: SmsSender;
  password: { minLength: number; maxLength: number; argon2?: Argon2Params; concurrency?: number; maxQueued: number };
  lifecycle?: LifecycleOptions;
};

const defaultLogger: Logger = {
  info: () => undefined,
  warn: (msg, f) => console.warn(`[passport-stepup] ${msg}`, f ?? ''),
  error: (msg, f) => console.error(`[passport-stepup] ${msg}`, f ?? ''),
};

/** Edit distance, for "did you mean" on a misspelled option. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** The keys a strict object at `path` accepts (for suggestions). */
function knownKeys(path: PropertyKey[]): string[] {
  let s: z.ZodType = schema;
  for (const p of path) {
    const def = (s as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> } } })._zod.def;
    let cur: z.ZodType = s;
    let d = def;
    while (d.innerType) {
      cur = d.innerType;
      d = (cur as unknown as { _zod: { def: typeof def } })._zod.def;
    }
    if (!d.shape || typeof p !== 'string' || !d.shape[p]) return [];
    s = d.shape[p]!;
  }
  let d = (s as unknown as { _zod: { def: { innerType?: z.ZodType; shape?: Record<string, z.ZodType> } } })._zod.def;
  while (d.innerType) d = (d.innerType as unknown as { _zod: { def: typeof d } })._zod.def;
  return d.shape ? Object.keys(d.shape) : [];
}

/** Checks the options once; the first problem becomes a TypeError naming the option. */
export function resolveOptions(input: StepUpOptions): ResolvedOptions {
  if (!input || typeof input !== 'object') throw new TypeError('passport-stepup: options must be an object');
  const res = schema.safeParse(input);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!;
      const path = [...issue.path, key].join('.');
      const near = knownKeys(issue.path).filter((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
      throw new TypeError(`passport-stepup: unknown option "${path}"${near.length ? `; did you mean "${[...issue.path, near[0]].join('.')}"?` : ''}`);
    }
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
    logger: o.logger ?? defaultLogger,
    passport: o.passport,
    mailer: o.mailer,
    sms: o.sms,
    password: { ...p.password, argon2: o.password?.argon2 },
    lifecycle: o.lifecycle,
  };
}
