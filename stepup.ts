import { Router, type Request, type RequestHandler } from 'express';
import defaultPassport from 'passport';
import type { PassportLike } from './routes/passport-like';
import type { Store } from 'express-session';
import type { StepUpOptions } from './lib/config';
import { createContext, type StepUpContext } from './lib/context';
import { StepUpError } from './lib/errors';
import { verifySecondFactor } from './lib/auth/second-factor';
import { buildSessionMiddleware, requireAuth, requireStepUp, type RequireAuthOptions, type RequireStepUpOptions } from './routes/guards';
import { verifyPassword } from './lib/auth/password';
import { createTenant, createUser } from './lib/admin/provision';
import { bootstrapSuperadmin, type BootstrapResult } from './lib/admin/actions';
import { factorTarget } from './lib/auth/subject';
import type { StepUpEvents } from './lib/events';
import type { AuditStore, TenantStore, UserStore } from './lib/stores/ports';
import type { Method } from './lib/types';
import { PasswordStrategy } from './strategies/password';
import { TotpStrategy } from './strategies/totp';
import { BackupCodeStrategy } from './strategies/backup-code';
import { EmailOtpStrategy } from './strategies/email-otp';
import { SmsOtpStrategy } from './strategies/sms-otp';
import { oobRoutes } from './routes/oob';
import './lib/auth/codes';
import { createRealtime, REALTIME_CLOSE_CODES, type Realtime } from './lib/realtime';
import { checkAuthenticated, type MfaSession } from './lib/state/machine';
import { cookieName } from './routes/http-session';
import { authRoutes } from './routes/auth';
import { mfaRoutes } from './routes/mfa';
import { adminRoutes } from './routes/admin';
import { accountRoutes } from './routes/account';
import { errorHandler, jsonOnly, originCheck } from './routes/http';
import { createLifecycle, type Lifecycle } from './lib/account/index';

export interface StepUp {
  /** Session middleware chain: express-session (fail closed), Passport's session, server-side timeouts. */
  session: RequestHandler[];
  /** Mount at `/auth`: login, challenge, step-up, session, logout, factor enrolment and management. */
  router: Router;
  /** Mount at `/admin`: tenants, users, policy, MFA resets and the audit trail. */
  adminRouter: Router;
  requireAuth(options?: RequireAuthOptions): RequestHandler;
  requireStepUp(options?: RequireStepUpOptions): RequestHandler;
  strategies: { password: PasswordStrategy; totp: TotpStrategy; backupCode: BackupCodeStrategy; emailOtp: EmailOtpStrategy; smsOtp: SmsOtpStrategy };
  stores: { users: UserStore; tenants: TenantStore; audit: AuditStore; sessions: Store };
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
  /** Ends every session of a user (admin reset, password change, disable). */
  endUserSessions(tenantId: string, userId: string, reason: 'mfa_reset' | 'password_changed' | 'user_disabled' | 'logout_all'): Promise<string[]>;
  /**
   * WebSockets on the host's HTTP server for `authenticated` sessions (created on first use):
   * `stepUp.realtime.attach(server, { path: '/ws' })`, then `emitSyncStatus` / `emitNotification`.
   * Sockets close when their session ends (logout, logout-all, reset, password change, expiry).
   */
  readonly realtime: Realtime;
  /** Waits for deferred lifecycle work, then closes the realtime server (if created). The host owns and closes Redis and MongoDB. */
  close(): Promise<void>;
  /** Internal context, for the plugin's own modules and tests. */
  context: StepUpContext;
}

/** Builds the plugin: checks the options once (TypeError naming a bad one) and registers the strategies. */
export function createStepUp(options: StepUpOptions): StepUp {
  const ctx = createContext(options);
  const lifecycle = createLifecycle(ctx, options.lifecycle);
  const passport: PassportLike = ctx.opts.passport ?? defaultPassport;

  const codeVerify = (method: Method) => async (req: Request, code: string) => {
    const target = await factorTarget(ctx, req);
    const tenant = await ctx.tenants.findById(target.tenantId);
    if (!tenant) throw new StepUpError('unauthenticated');
    const ok = await verifySecondFactor(ctx, { user: target.user, tenant, method, code, purpose: target.purpose, binding: target.binding }, req);
    return ok ? target.user : (false as const);
  };

  const strategies = {
    password: new PasswordStrategy((req, email, password) => verifyPassword(ctx, req, String(req.body?.tenant ?? ''), email, password)),
    totp: new TotpStrategy(codeVerify('totp')),
    backupCode: new BackupCodeStrategy(codeVerify('backup_code')),
    emailOtp: new EmailOtpStrategy(codeVerify('email_otp')),
    smsOtp: new SmsOtpStrategy(codeVerify('sms_otp')),
  };
  passport.use(strategies.password.name, strategies.password as never);
  passport.use(strategies.totp.name, strategies.totp as never);
  passport.use(strategies.backupCode.name, strategies.backupCode as never);
  passport.use(strategies.emailOtp.name, strategies.emailOtp as never);
  passport.use(strategies.smsOtp.name, strategies.smsOtp as never);

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

  const router = Router();
  router.use(originCheck(ctx), ...jsonOnly());
  router.use(authRoutes(ctx, passport));
  router.use('/mfa', mfaRoutes(ctx));
  router.use('/mfa', oobRoutes(ctx));
  router.use(accountRoutes(ctx, lifecycle));
  router.use(errorHandler(ctx));

  const adminRouter = Router();
  adminRouter.use(originCheck(ctx), ...jsonOnly());
  adminRouter.use(adminRoutes(ctx));
  adminRouter.use(errorHandler(ctx));

  let realtime: Realtime | undefined;
  const getRealtime = (): Realtime => {
    if (realtime) return realtime;
    const extra: NonNullable<StepUpOptions['realtime']> = ctx.opts.realtime ?? {};
    const s = ctx.opts.session;
    realtime = createRealtime({
      ...extra,
      allowedOrigins: extra.allowedOrigins ?? ctx.opts.allowedOrigins,
      sessionStore: ctx.sessionStore,
      secret: s.secrets,
      cookieName: cookieName(ctx),
      redis: ctx.opts.redis,
      channelPrefix: extra.channelPrefix ?? `${ctx.opts.redisPrefix}rt:`,
      now: ctx.now,
      logger: ctx.logger,
      // The same idle and absolute timeouts as HTTP requests.
      isSessionValid: (data, now) => {
        const d = data as { mfa?: MfaSession; passport?: { user?: Express.User } };
        return checkAuthenticated(d.mfa, d.passport?.user, now, s) === 'ok';
      },
    });
    const rt = realtime;
    const warn = (err: Error) => ctx.logger.warn('realtime: closing sockets failed', { err: err.message });
    ctx.events.on('sessions_ended', (e: { sessionIds: string[] }) => void rt.closeSessions(e.sessionIds).catch(warn));
    ctx.events.on('session_rotated', (e: { oldSessionId: string }) => void rt.closeSessions([e.oldSessionId], REALTIME_CLOSE_CODES.reconnect).catch(warn));
    return rt;
  };

  return {
    get realtime() {
      return getRealtime();
    },
    async close() {
      // Work started after earlier 202 answers (lifecycle mails) finishes before the host closes Redis.
      await lifecycle.idle();
      if (realtime) await realtime.close();
    },
    session: buildSessionMiddleware(ctx, passport),
    router,
    adminRouter,
    requireAuth: (o) => requireAuth(ctx, o),
    requireStepUp: (o) => requireStepUp(ctx, o),
    strategies,
    stores: { users: ctx.users, tenants: ctx.tenants, audit: ctx.audit, sessions: ctx.sessionStore },
    events: ctx.events,
    lifecycle,
    createTenant: (input) => createTenant(ctx, input),
    createUser: (input) => createUser(ctx, input),
    bootstrapSuperadmin: (input) => bootstrapSuperadmin(ctx, input),
    async endUserSessions(tenantId, userId, reason) {
      const ended = await ctx.sessionIndex.endAll(tenantId, userId);
      if (ended.length) ctx.events.emitSessionsEnded({ tenantId, userId, sessionIds: ended, reason });
      return ended;
    },
    context: ctx,
  };
}
