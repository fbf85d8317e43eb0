/**
 * passport-stepup: multi-factor authentication for Express + Passport.
 *
 * @example
 * const stepUp = createStepUp({ issuer: 'Acme', session: { secret }, keys: [{ id: 'k1', key }],
 *   stores: { users: new MemoryUserStore(), tenants: new MemoryTenantStore() }, redis });
 * app.use(stepUp.session);
 * app.use('/auth', stepUp.router);
 * app.get('/api/profile', stepUp.requireAuth({ aal: 2 }), (req, res) => res.json(req.user));
 */
// Kept in index.d.ts: `req.user` and `req.login` come from @types/passport, which the emitted types
// need in a consumer's compile even when the app never imports passport itself.
/// <reference types="passport" preserve="true" />
import { Router, type Request, type RequestHandler } from 'express';
import defaultPassport from 'passport';
import type { Store } from 'express-session';
import { resolveOptions, type StepUpOptions } from './lib/config';
import { createContext, createEphemeral, type StepUpContext } from './lib/context';
import { verifySecondFactor } from './lib/auth/second-factor';
import { afterPassword, verifyPassword } from './lib/auth/password';
import { StepUpError } from './lib/errors';
import type { EndReason } from './lib/auth/sessions';
import { createTenant, createUser } from './lib/admin/provision';
import { bootstrapSuperadmin, type BootstrapResult } from './lib/admin/actions';
import type { StepUpEvents } from './lib/events';
import type { AuditStore, TenantStore, UserStore } from './lib/stores/ports';
import { createRealtime, REALTIME_CLOSE_CODES, type Realtime } from './lib/realtime';
import { checkAuthenticated, type MfaSession } from './lib/state/machine';
import { createLifecycle, type Lifecycle } from './lib/account/index';
import { CodeStrategy, CODE_STRATEGIES, PasswordStrategy as LocalPasswordStrategy, WebauthnStrategy } from './strategies';
import { normaliseEmail, type RequestMeta, type TenantRecord, type UserRecord } from './lib/types';
import type { LoginResponse } from './client/types';
import type { PassportLike } from './routes/passport-like';
import { createSessionStore } from './routes/session-store';
import { afterFirstFactor, cookieName, factorTarget, sessionMiddleware } from './routes/http-session';
// Kept in index.d.ts on purpose: routes/http-session.ts augments `req.user` (Express.User = StepUpUser)
// and `req.session.mfa` (express-session SessionData); a consumer's compile must see both.
import './routes/http-session';
import { shield } from './routes/shield';
import { requireAuth, requireStepUp, type RequireAuthOptions, type RequireStepUpOptions } from './routes/guards';
import { errorHandler, jsonOnly, metaOf, originCheck } from './routes/http';
import { authRoutes } from './routes/auth';
import { mfaRoutes } from './routes/mfa';
import { oobRoutes } from './routes/oob';
import { accountRoutes } from './routes/account';
import { adminRoutes } from './routes/admin';
import { sessionRoutes } from './routes/sessions';
import { passkeyRoutes, passwordlessTarget, webauthnRoutes } from './routes/webauthn';
import { PASSKEY_LOGIN_STRATEGY, WEBAUTHN_STRATEGY } from './routes/passkey-shapes';

export type { StepUpOptions, Logger, SessionStoreLike, RealtimeSettings } from './lib/config';
export type { Lifecycle, LifecycleOptions } from './lib/account/index';
export type { Mailer, SmsSender, MailMessage, SmsMessage } from './lib/delivery/ports';
export { SmtpMailer, WebhookSmsSender, DevOutbox, verifyWebhookSignature, signWebhook, type OutboxEntry } from './lib/delivery';
export { StepUpError, ERROR_TABLE, type ErrorCode } from './lib/errors';
export * as errors from './lib/errors';
export type { MfaSession, MfaState, PendingLogin } from './lib/state/machine';
export type { RequireAuthOptions, RequireStepUpOptions } from './routes/guards';
export type { UserStore, TenantStore, AuditStore } from './lib/stores/ports';
export { MemoryUserStore, MemoryTenantStore, MemoryAuditStore } from './lib/stores/memory';
export { createMemoryStores } from './lib/stores/memory';
// The MongoDB stores are in `passport-stepup/mongoose` (mongoose.ts): the root never loads mongoose.
export type { StoreSet, AuditPage } from './lib/stores/ports';
export type { EphemeralStore } from './lib/stores/ephemeral';
export { createRealtime, REALTIME_CLOSE_CODES } from './lib/realtime';
export type { Realtime, RealtimeOptions, SyncStatusPayload, NotificationPayload, NotificationTarget } from './lib/realtime';
export { SecretBox, type KeyRingEntry } from './lib/crypto/secretbox';
/**
 * A Passport strategy as Passport uses it. Typed structurally so the shipped declarations need no
 * @types/passport-local (the password strategy is passport-local underneath).
 */
export interface PassportStrategy {
  readonly name: string;
  authenticate(req: Request, options?: object): void;
}
/** Checks a password for `PasswordStrategy`: the records on success, false otherwise (same for unknown users). */
export type PasswordVerify = (meta: RequestMeta, tenant: string, email: string, password: string) => Promise<{ user: UserRecord; tenant: TenantRecord } | false>;
/**
 * passport-local with the tenant from the body, `{tenant, email, password}` (`defaultTenant` when it
 * has none). The plugin registers one as `stepup-password`; a host rarely builds its own.
 */
export const PasswordStrategy: new (verify: PasswordVerify, meta: (req: Request) => RequestMeta, defaultTenant?: string) => PassportStrategy = LocalPasswordStrategy;
export type PasswordStrategy = PassportStrategy;
export { CodeStrategy, CODE_STRATEGIES, type CodeSpec } from './strategies';
export { sendError } from './routes/http';
/** What every route answers (the browser client's types, `passport-stepup/client`, are the same). */
export type {
  SessionUser,
  SessionState,
  SessionView,
  LoginInput,
  LoginResponse,
  CodeInput,
  ChallengeResponse,
  CodeSent,
  StepUpResponse,
  TotpEnrolment,
  EnrolmentConfirmed,
  MethodStatus,
  MfaStatus,
  BackupCodes,
  RegisterInput,
  TenantView,
  AdminUserView,
  AuditEventView,
  TenantCreated,
  CreateTenantInput,
  CreateUserInput,
  UserCreated,
  UserList,
  AuditList,
  UserDisabledChange,
  ErrorBody,
} from './client/types';
export { securityEventView } from './lib/admin/views';
export type { Method, Role, TenantPolicy, TenantRecord, UserRecord, StepUpUser, AuditEvent, RequestMeta } from './lib/types';
export { DEFAULT_POLICY, METHODS } from './lib/types';
export type { BootstrapResult } from './lib/admin/actions';

export interface StepUp {
  /** Session middleware chain: express-session (fail closed), Passport's session, server-side timeouts. */
  session: RequestHandler[];
  /** Mount at `/auth`: login, challenge, step-up, session, logout, factor enrolment and management. */
  router: Router;
  /** Mount at `/admin`: tenants, users, policy, MFA resets and the audit trail. */
  adminRouter: Router;
  requireAuth(options?: RequireAuthOptions): RequestHandler;
  requireStepUp(options?: RequireStepUpOptions): RequestHandler;
  /** The Passport strategies the plugin registered (by Passport name). */
  strategies: { password: PassportStrategy; codes: CodeStrategy[] };
  stores: { users: UserStore; tenants: TenantStore; audit: AuditStore; sessions: Store; ensureIndexes(): Promise<void> };
  events: StepUpEvents;
  /**
   * Self-registration, email verification and password reset (`options.lifecycle`); the routes are
   * on `router`. `await stepUp.lifecycle.idle()` waits for the work started after earlier 202 answers.
   */
  lifecycle: Lifecycle;
  /** Operator helpers (also used by the admin API and the example app). */
  createTenant: (input: Parameters<typeof createTenant>[1]) => ReturnType<typeof createTenant>;
  createUser: (input: Parameters<typeof createUser>[1]) => ReturnType<typeof createUser>;
  /** Creates the platform tenant and a superadmin if missing; idempotent (a restart changes nothing). */
  bootstrapSuperadmin(input: { email: string; password: string }): Promise<BootstrapResult>;
  /** Ends every session of a user, wherever it is (the revocation mark: docs/SECURITY.md SR-1). */
  endUserSessions(tenantId: string, userId: string, reason: EndReason): Promise<string[]>;
  /** The error middleware the plugin's routers use, for host routes: `{error, message}` with the table's status. */
  errorHandler: ReturnType<typeof errorHandler>;
  /**
   * Any first factor: after the host's own Passport strategy (OAuth, SAML, LDAP, its passport-local)
   * verified who this is, puts the session into the plugin's state machine as a verified password
   * would: `mfa_required` or `enrollment_required` (the host's login is replaced by the pending one,
   * new session id) or `authenticated` at aal 1. Answer the client with the result (same shape as
   * `POST /auth/login`); the second factor then goes through `/auth/mfa/challenge`. The user must exist
   * in the plugin's stores (`createUser`); unknown or disabled: `StepUpError('invalid_credentials')`.
   *
   * @example
   * app.post('/host/login', passport.authenticate('local', { session: false }), (req, res, next) =>
   *   stepUp.beginSecondFactor(req, { tenant: 'acme', email: req.user!.email }).then((r) => res.json(r), next));
   */
  beginSecondFactor(req: Request, user: { tenant: string; email: string } | { tenantId: string; userId: string }): Promise<LoginResponse>;
  /**
   * WebSockets on the host's HTTP server for fully authenticated sessions (aal 2 by default,
   * `realtime.minAal`; created on first use): `stepUp.realtime.attach(server, { path: '/ws' })`.
   * Sockets close when their session ends (logout, logout-all, reset, password change, disable, expiry).
   */
  readonly realtime: Realtime;
  /** Waits for deferred lifecycle work, then closes the realtime server (sockets close with 1001). The host owns and closes Redis and MongoDB. */
  close(): Promise<void>;
}

const contexts = new WeakMap<StepUp, StepUpContext>();

/** Internals for the plugin's own tests (`passport-stepup/testing`): never part of the public API. */
export function internalContextOf(stepUp: StepUp): StepUpContext {
  const ctx = contexts.get(stepUp);
  if (!ctx) throw new TypeError('not a StepUp instance');
  return ctx;
}

/** Builds the plugin: checks the options once (TypeError naming a bad one) and registers the strategies. */
export function createStepUp(options: StepUpOptions): StepUp {
  const resolved = resolveOptions(options);
  const ephemeral = createEphemeral(resolved);
  const s = resolved.session;
  const sessionStore = createSessionStore({
    redis: resolved.redis,
    store: s.store,
    ephemeral,
    settings: { prefix: resolved.redisPrefix, absoluteMs: s.absoluteTimeoutSeconds * 1000, pendingMs: resolved.pendingTtlSeconds * 1000, timeoutMs: resolved.redisTimeoutMs },
  });
  const ctx = createContext(options, sessionStore, ephemeral);
  const lifecycle = createLifecycle(ctx, options.lifecycle);
  const passport = (ctx.opts.passport ?? defaultPassport) as PassportLike;

  const strategies = {
    password: new LocalPasswordStrategy((meta, tenant, email, password) => verifyPassword(ctx, meta, tenant, email, password), metaOf, ctx.opts.defaultTenant),
    codes: CODE_STRATEGIES.map((spec) => new CodeStrategy(spec, { target: (req) => factorTarget(ctx, req), meta: metaOf, verify: (a) => verifySecondFactor(ctx, a) })),
  };
  passport.use(strategies.password.name, strategies.password as never);
  for (const c of strategies.codes) passport.use(c.name, c as never);
  // Passkeys: the second factor (login, step-up) and passwordless sign-in, through the same pipeline.
  const verify = (a: Parameters<typeof verifySecondFactor>[1]) => verifySecondFactor(ctx, a);
  const passkeyStrategies = [
    new WebauthnStrategy(WEBAUTHN_STRATEGY, { target: (req) => factorTarget(ctx, req), meta: metaOf, verify }),
    new WebauthnStrategy(PASSKEY_LOGIN_STRATEGY, { target: passwordlessTarget(ctx), meta: metaOf, verify }),
  ];
  for (const w of passkeyStrategies) passport.use(w.name, w as never);

  // The session holds the small StepUpUser itself: no database lookup per request.
  passport.serializeUser((user: Express.User, done) => {
    const u = user as Partial<Express.User>;
    if (u && typeof u.id === 'string' && typeof u.tenantId === 'string' && typeof u.tenant === 'string') {
      return done(null, { id: u.id, tenantId: u.tenantId, tenant: u.tenant, email: u.email, name: u.name, roles: u.roles });
    }
    done('pass');
  });
  passport.deserializeUser((obj: unknown, done) => {
    const u = obj as Partial<Express.User> | null;
    if (u && typeof u.id === 'string' && typeof u.tenantId === 'string' && Array.isArray(u.roles)) return done(null, u as Express.User);
    done('pass');
  });

  const errors = errorHandler(ctx);
  const router = Router();
  router.use(originCheck(ctx), ...jsonOnly());
  router.use(authRoutes(ctx, passport, ctx.opts.defaultTenant));
  router.use('/mfa', mfaRoutes(ctx));
  router.use('/mfa', oobRoutes(ctx));
  router.use('/mfa', webauthnRoutes(ctx));
  router.use(passkeyRoutes(ctx, passport));
  router.use(accountRoutes(ctx, lifecycle));
  router.use(sessionRoutes(ctx));
  router.use(errors);

  const adminRouter = Router();
  adminRouter.use(originCheck(ctx), ...jsonOnly());
  adminRouter.use(adminRoutes(ctx));
  adminRouter.use(errors);

  let realtime: Realtime | undefined;
  const getRealtime = (): Realtime => {
    if (realtime) return realtime;
    const rt = ctx.opts.realtime;
    realtime = createRealtime({
      ...rt,
      allowedOrigins: rt.allowedOrigins ?? ctx.opts.allowedOrigins,
      sessionStore,
      secret: s.secrets,
      cookieName: cookieName(ctx),
      redis: ctx.opts.redis,
      channelPrefix: rt.channelPrefix ?? `${ctx.opts.redisPrefix}rt:`,
      redisTimeoutMs: ctx.opts.redisTimeoutMs,
      now: ctx.now,
      logger: ctx.logger,
      // THE authenticated rule (timeouts); the store already refused revoked and disabled sessions.
      isSessionValid: (data, now) => {
        const d = data as { mfa?: MfaSession; passport?: { user?: Express.User } };
        return checkAuthenticated(d.mfa, d.passport?.user, now, s) === 'ok';
      },
    });
    const live = realtime;
    const warn = (err: Error) => ctx.logger.warn('realtime: closing sockets failed', { err: err.message });
    ctx.events.on('sessions_ended', (e: { sessionIds: string[] }) => void live.closeSessions(e.sessionIds).catch(warn));
    ctx.events.on('session_rotated', (e: { oldSessionId: string }) => void live.closeSessions([e.oldSessionId], REALTIME_CLOSE_CODES.reconnect).catch(warn));
    return live;
  };

  const stepUp: StepUp = {
    get realtime() {
      return getRealtime();
    },
    async close() {
      // Work started after earlier 202 answers (lifecycle mails) finishes before the host closes Redis.
      await lifecycle.idle();
      if (realtime) await realtime.close();
    },
    session: [shield(ctx), ...sessionMiddleware(ctx, passport, sessionStore)],
    router,
    adminRouter,
    requireAuth: (o) => requireAuth(ctx, o),
    requireStepUp: (o) => requireStepUp(ctx, o),
    strategies,
    stores: { users: ctx.users, tenants: ctx.tenants, audit: ctx.audit, sessions: sessionStore, ensureIndexes: async () => ctx.opts.stores.ensureIndexes?.() },
    events: ctx.events,
    lifecycle,
    createTenant: (input) => createTenant(ctx, input),
    createUser: (input) => createUser(ctx, input),
    bootstrapSuperadmin: (input) => bootstrapSuperadmin(ctx, input),
    async endUserSessions(tenantId, userId, reason) {
      const { at, ended } = await ctx.sessions.endAll(tenantId, userId, reason);
      await ctx.users.update(tenantId, userId, { sessionsValidAfter: new Date(at) });
      return ended;
    },
    errorHandler: errors,
    async beginSecondFactor(req, who) {
      const tenant = 'tenant' in who ? await ctx.tenants.findBySlug(who.tenant) : await ctx.tenants.findById(who.tenantId);
      const user = !tenant ? null : 'email' in who ? await ctx.users.findByEmail(tenant.id, normaliseEmail(who.email)) : await ctx.users.findById(tenant.id, who.userId);
      if (!tenant || !user || user.disabledAt) throw new StepUpError('invalid_credentials');
      return afterFirstFactor(ctx, req, await afterPassword(ctx, metaOf(req), user, tenant));
    },
  };
  contexts.set(stepUp, ctx);
  return stepUp;
}
