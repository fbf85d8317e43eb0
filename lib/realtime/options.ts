import type { RedisLike } from '../stores/ephemeral';
import { normaliseOrigin } from '../origins';

/** The subset of an express-session `Store` the realtime server needs (MemoryStore, connect-redis RedisStore, ...). */
export interface SessionStoreLike {
  get(sid: string, callback: (err: unknown, session?: unknown) => void): unknown;
}

/** Never handed cookies, session ids or message bodies: only reasons, codes and counts. */
export interface RealtimeLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface RealtimeOptions {
  /** The express-session store the app uses; sessions are loaded with `store.get(sid, cb)`. */
  sessionStore: SessionStoreLike;
  /** The express-session secret(s); every one is tried to unsign the cookie, like express-session does. */
  secret: string | string[];
  /** Default `connect.sid`. */
  cookieName?: string;
  /** Exact origins (`https://app.example.com`); no wildcard, no substring match. */
  allowedOrigins: string[];
  /** Accept upgrades without an `Origin` header (non-browser clients). Default false. */
  allowMissingOrigin?: boolean;
  /** When given, emits and control messages go through Redis pub/sub; the caller keeps ownership of it. */
  redis?: RedisLike;
  /** Default `stepup:rt:`. */
  channelPrefix?: string;
  /** Deadline of one Redis publish, ms (default 1500). */
  redisTimeoutMs?: number;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
  logger?: RealtimeLogger;
  /** Extra check (idle/absolute timeouts, disabled account...). A throw counts as invalid. */
  isSessionValid?: (sessionData: unknown, now: number) => boolean;
  /** Minimum `session.mfa.aal`. Default 1. */
  minAal?: number;
  /** Default 16 KiB; a bigger client message closes the socket with 1009. */
  maxPayloadBytes?: number;
  /** Default 100; one more closes the socket with 1008. */
  maxMessagesPerMinute?: number;
  /** Default 10 per process; the next upgrade is answered 429. */
  maxConnectionsPerUser?: number;
  /** Default 1 MiB; a socket with more unsent data is a slow consumer and is terminated. */
  maxBufferedBytes?: number;
  /** Default 30000; a socket that did not answer the previous ping is terminated. */
  heartbeatIntervalMs?: number;
  /** Default 30000; each socket's session is re-loaded and the socket closed with 4401 when it ended. */
  revalidateIntervalMs?: number;
  /** Default 5000; a session store slower than this answers the upgrade 503. */
  sessionLoadTimeoutMs?: number;
}

export interface ResolvedOptions {
  sessionStore: SessionStoreLike;
  secrets: string[];
  cookieName: string;
  allowedOrigins: ReadonlySet<string>;
  allowMissingOrigin: boolean;
  redis?: RedisLike;
  channelPrefix: string;
  redisTimeoutMs: number;
  now: () => number;
  logger: RealtimeLogger;
  isSessionValid?: (sessionData: unknown, now: number) => boolean;
  minAal: number;
  maxPayloadBytes: number;
  maxMessagesPerMinute: number;
  maxConnectionsPerUser: number;
  maxBufferedBytes: number;
  heartbeatIntervalMs: number;
  revalidateIntervalMs: number;
  sessionLoadTimeoutMs: number;
}

const noop = (): void => undefined;
export const silentLogger: RealtimeLogger = { info: noop, warn: noop, error: noop };

function fail(option: string, why: string): never {
  throw new TypeError(`createRealtime: option "${option}" ${why}`);
}

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) fail(name, 'must be a positive integer');
  return value;
}

export { normaliseOrigin };

function resolveSecrets(secret: unknown): string[] {
  const list = Array.isArray(secret) ? secret : [secret];
  if (list.length === 0 || !list.every((s): s is string => typeof s === 'string' && s.length > 0)) {
    fail('secret', 'must be a non-empty string or a non-empty array of non-empty strings');
  }
  return [...list];
}

function isRedisLike(value: unknown): value is RedisLike {
  const r = value as Partial<Record<'publish' | 'duplicate', unknown>> | null;
  return typeof r === 'object' && r !== null && typeof r.publish === 'function' && typeof r.duplicate === 'function';
}

function isLogger(value: unknown): value is RealtimeLogger {
  const l = value as Partial<Record<'info' | 'warn' | 'error', unknown>> | null;
  return typeof l === 'object' && l !== null && ['info', 'warn', 'error'].every((k) => typeof l[k as 'info'] === 'function');
}

/** Checked once, at construction: a bad option is a `TypeError` naming it. */
export function resolveOptions(options: RealtimeOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('createRealtime: options are required');
  const o = options;
  const store = o.sessionStore as Partial<SessionStoreLike> | undefined;
  if (typeof store !== 'object' || store === null || typeof store.get !== 'function') {
    fail('sessionStore', 'must be an express-session Store (with get(sid, cb))');
  }
  const secrets = resolveSecrets(o.secret);
  const cookieName = o.cookieName ?? 'connect.sid';
  if (typeof cookieName !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName)) {
    fail('cookieName', 'must be a cookie name token');
  }
  const allowMissingOrigin = o.allowMissingOrigin ?? false;
  if (typeof allowMissingOrigin !== 'boolean') fail('allowMissingOrigin', 'must be a boolean');
  if (!Array.isArray(o.allowedOrigins)) fail('allowedOrigins', 'must be an array of origins');
  const allowedOrigins = new Set(o.allowedOrigins.map((entry) => normaliseOrigin(entry)));
  if (allowedOrigins.size === 0 && !allowMissingOrigin) fail('allowedOrigins', 'must list at least one origin');
  if (o.redis !== undefined && !isRedisLike(o.redis)) fail('redis', 'must be an ioredis client');
  const channelPrefix = o.channelPrefix ?? 'stepup:rt:';
  if (typeof channelPrefix !== 'string' || channelPrefix.length === 0) fail('channelPrefix', 'must be a non-empty string');
  if (o.now !== undefined && typeof o.now !== 'function') fail('now', 'must be a function returning ms');
  if (o.logger !== undefined && !isLogger(o.logger)) fail('logger', 'must have info, warn and error functions');
  if (o.isSessionValid !== undefined && typeof o.isSessionValid !== 'function') fail('isSessionValid', 'must be a function');
  const minAal = o.minAal ?? 1;
  if (minAal !== 1 && minAal !== 2) fail('minAal', 'must be 1 or 2');
  return {
    sessionStore: store as SessionStoreLike,
    secrets,
    cookieName,
    allowedOrigins,
    allowMissingOrigin,
    redis: o.redis,
    channelPrefix,
    redisTimeoutMs: positiveInt('redisTimeoutMs', o.redisTimeoutMs, 1500),
    now: o.now ?? Date.now,
    logger: o.logger ?? silentLogger,
    isSessionValid: o.isSessionValid,
    minAal,
    maxPayloadBytes: positiveInt('maxPayloadBytes', o.maxPayloadBytes, 16 * 1024),
    maxMessagesPerMinute: positiveInt('maxMessagesPerMinute', o.maxMessagesPerMinute, 100),
    maxConnectionsPerUser: positiveInt('maxConnectionsPerUser', o.maxConnectionsPerUser, 10),
    maxBufferedBytes: positiveInt('maxBufferedBytes', o.maxBufferedBytes, 1024 * 1024),
    heartbeatIntervalMs: positiveInt('heartbeatIntervalMs', o.heartbeatIntervalMs, 30_000),
    revalidateIntervalMs: positiveInt('revalidateIntervalMs', o.revalidateIntervalMs, 30_000),
    sessionLoadTimeoutMs: positiveInt('sessionLoadTimeoutMs', o.sessionLoadTimeoutMs, 5_000),
  };
}
