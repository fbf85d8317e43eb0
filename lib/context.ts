import { resolveOptions, type Logger, type ResolvedOptions, type StepUpOptions } from './config';
import { SecretBox } from './crypto/secretbox';
import { PasswordHasher, OWASP_ARGON2 } from './crypto/passwords';
import { deriveKey } from './crypto/codes';
import { AttemptLimiter } from './limits/attempts';
import { MemoryEphemeralStore, RedisEphemeralStore, type EphemeralStore } from './stores/ephemeral';
import { MemoryAuditStore } from './stores/memory';
import type { AuditStore, TenantStore, UserStore } from './stores/ports';
import { DEFAULT_TOTP, type TotpParams } from './factors/totp';
import { StepUpEvents } from './events';
import { UserSessions, type SessionDestroyer } from './auth/sessions';
import type { AuditEvent, Method, RequestMeta, UserRecord } from './types';
import { OobCodes } from './factors/oob';
import { securityNotice } from './delivery/messages';
import { WebauthnService } from './factors/webauthn';

export type NoticeEvent =
  | 'factor_added'
  | 'factor_removed'
  | 'backup_codes_regenerated'
  | 'backup_code_used'
  | 'account_locked'
  | 'admin_mfa_reset'
  | 'password_changed'
  | 'totp_replay';

export interface Notice {
  event: NoticeEvent;
  method?: string;
  remaining?: number;
}

/** Everything the routes, strategies and guards share: built once by createStepUp. */
export interface StepUpContext {
  opts: ResolvedOptions;
  users: UserStore;
  tenants: TenantStore;
  audit: AuditStore;
  ephemeral: EphemeralStore;
  /** user -> sessions, revocation marks, and the one `endAll` (docs/SECURITY.md SR-1). */
  sessions: UserSessions;
  box: SecretBox;
  hasher: PasswordHasher;
  totp: TotpParams;
  now: () => number;
  logger: Logger;
  events: StepUpEvents;
  limits: { secondFactor: AttemptLimiter; passwordAccount: AttemptLimiter; passwordIp: AttemptLimiter };
  /** Key for MACing backup codes under a key-ring id. */
  backupKey(keyId: string): Buffer;
  /** Writes an audit event (and emits it); never throws into the request. */
  record(meta: RequestMeta | null, event: Omit<AuditEvent, 'at' | 'ip' | 'userAgent'>): Promise<void>;
  /** Security notification to the user through an independent channel (mail); fire and forget. */
  notify(user: UserRecord, notice: Notice): void;
  /** Email and SMS codes: one engine, bound to (user, purpose, channel, login or session). */
  oob: OobCodes;
  /** Optional extra receiver of security notices (tests, host hooks); the mailer gets them too. */
  noticeSender?: (user: UserRecord, notice: Notice) => Promise<void>;
  /**
   * Passkeys (WebAuthn) for the configured relying party; null when none can be derived (no
   * `webauthn` option and no `allowedOrigins` usable as WebAuthn origins): the passkey routes then answer 404.
   */
  webauthn: WebauthnService | null;
  /** Methods this server cannot run whatever a policy allows (`webauthn` without a relying party): never offered for enrolment. */
  unavailableMethods: readonly Method[];
}

/** For tools without HTTP sessions (the CLI): nothing to destroy. */
const NO_SESSIONS: SessionDestroyer = { destroy: (_sid, cb) => cb?.() };

/**
 * Builds the core's services. The session store comes from the HTTP layer (routes/session-store.ts):
 * the core only destroys sessions by id.
 */
export function createContext(input: StepUpOptions, sessionStore: SessionDestroyer = NO_SESSIONS, ephemeralStore?: EphemeralStore): StepUpContext {
  const opts = resolveOptions(input);
  const now = opts.now;
  const logger = opts.logger;
  const ephemeral: EphemeralStore = ephemeralStore ?? createEphemeral(opts);
  const webauthn = createWebauthn(opts, ephemeral);
  const box = new SecretBox(opts.keys);
  const audit = opts.stores.audit ?? new MemoryAuditStore();
  const events = new StepUpEvents();
  const ttlMs = opts.session.absoluteTimeoutSeconds * 1000;
  const backupKeys = new Map<string, Buffer>();

  const ctx: StepUpContext = {
    opts,
    users: opts.stores.users,
    tenants: opts.stores.tenants,
    audit,
    ephemeral,
    sessions: new UserSessions(ephemeral, sessionStore, events, ttlMs, now),
    box,
    hasher: new PasswordHasher(opts.password.argon2 ?? OWASP_ARGON2, { concurrency: opts.password.concurrency, maxQueued: opts.password.maxQueued }),
    totp: { ...DEFAULT_TOTP, windowPast: opts.totp.windowPast, windowFuture: opts.totp.windowFuture },
    now,
    logger,
    events,
    limits: {
      secondFactor: new AttemptLimiter(ephemeral, now, 'mfa', {
        maxFailures: opts.lockout.maxFailures,
        lockSeconds: opts.lockout.lockSeconds,
        windowSeconds: 86400,
        lockedError: 'account_locked',
      }),
      passwordAccount: new AttemptLimiter(ephemeral, now, 'pw', {
        maxFailures: opts.passwordLimits.perAccount,
        lockSeconds: opts.passwordLimits.lockSeconds,
        windowSeconds: 3600,
        lockedError: 'rate_limited',
      }),
      passwordIp: new AttemptLimiter(ephemeral, now, 'pwip', {
        maxFailures: opts.passwordLimits.perIp,
        lockSeconds: opts.passwordLimits.lockSeconds,
        windowSeconds: 3600,
        lockedError: 'rate_limited',
      }),
    },
    backupKey(keyId: string): Buffer {
      let k = backupKeys.get(keyId);
      if (!k) {
        const master = box.keyFor(keyId);
        if (!master) throw new Error('backup codes were made under a key that is no longer in the key ring');
        k = deriveKey(master, 'backup-codes');
        backupKeys.set(keyId, k);
      }
      return k;
    },
    async record(meta, event) {
      const full: AuditEvent = {
        ...event,
        at: new Date(now()),
        ip: meta?.ip ?? null,
        userAgent: meta?.userAgent?.slice(0, 256) ?? null,
      };
      try {
        await audit.record(full);
      } catch (err) {
        logger.error('audit store write failed', { type: event.type, err: (err as Error).message });
      }
      logger.info('audit', { type: full.type, tenantId: full.tenantId, userId: full.userId, actorId: full.actorId, ip: full.ip });
      events.emitAudit(full);
    },
    notify(user, notice) {
      ctx.noticeSender?.(user, notice).catch((err: Error) => logger.warn('security notification hook failed', { event: notice.event, err: err.message }));
      const mailer = opts.mailer;
      if (!mailer) return;
      const content = securityNotice({ event: notice.event, method: notice.method, remaining: notice.remaining, appName: opts.issuer });
      mailer.send({ to: user.email, ...content }).catch((err: Error) => logger.warn('security notification failed', { event: notice.event, err: err.message }));
    },
    oob: new OobCodes({
      store: ephemeral,
      now,
      secret: deriveKey(box.keyFor(box.currentKeyId)!, 'oob-codes'),
      codeTtlSeconds: opts.oob.codeTtlSeconds,
      maxAttempts: opts.oob.maxAttempts,
      sendsPerHour: opts.oob.sendsPerHour,
      cooldownSeconds: opts.oob.cooldownSeconds,
      perIpPerHour: opts.oob.perIpPerHour,
    }),
    webauthn,
    unavailableMethods: webauthn ? [] : ['webauthn'],
  };
  return ctx;
}

/**
 * The relying party: `options.webauthn` when given (checked: a bad RP ID or origin is a TypeError now,
 * not every passkey failing later); otherwise derived from `allowedOrigins` (RP ID = the first one's
 * host name, origins = those WebAuthn accepts: https, or http on localhost). Origin and RP ID never
 * come from a request header.
 */
function createWebauthn(opts: ResolvedOptions, challenges: EphemeralStore): WebauthnService | null {
  const w = opts.webauthn;
  const explicit = w.rpId !== undefined || w.origins !== undefined;
  const origins = w.origins ?? opts.allowedOrigins.map((o) => new URL(o).origin).filter(webauthnOrigin);
  const rpId = w.rpId ?? (origins[0] ? new URL(origins[0]).hostname : undefined);
  if (!explicit && (!rpId || origins.length === 0)) return null;
  return new WebauthnService({ rpId: rpId ?? '', rpName: w.rpName ?? opts.issuer, origins, now: opts.now, challenges });
}

function webauthnOrigin(origin: string): boolean {
  const u = new URL(origin);
  return u.protocol === 'https:' || (u.protocol === 'http:' && (u.hostname === 'localhost' || u.hostname.endsWith('.localhost')));
}

/** The ephemeral store the options ask for: Redis when a client is given, else memory on the injected clock. */
export function createEphemeral(opts: ResolvedOptions): EphemeralStore {
  return opts.redis ? new RedisEphemeralStore(opts.redis, { prefix: opts.redisPrefix, timeoutMs: opts.redisTimeoutMs }) : new MemoryEphemeralStore(opts.now);
}
