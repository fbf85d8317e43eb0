import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import type { PassportLike } from './passport-like';
import type { StepUpContext } from '../lib/context';
import { StepUpError, toResponse } from '../lib/errors';
import { checkAuthenticated, isStepUpFresh } from '../lib/state/machine';
import { cookieName, destroySession } from './http-session';
import { userMethods } from '../lib/types';

// lastSeen is written at most once a minute (fewer session writes), and never so coarsely that
// steady activity inside a short idle timeout could still look idle: at most a tenth of it.
const LAST_SEEN_GRANULARITY_MS = 60_000;
const lastSeenGranularity = (idleSeconds: number) => Math.min(LAST_SEEN_GRANULARITY_MS, (idleSeconds * 1000) / 10);

/** Writes a StepUpError (or any error, as a generic 500) in the contract's JSON shape. */
export function sendError(res: Response, err: unknown): void {
  // Too late to answer (e.g. the session store failed while saving after the handler responded):
  // writing now would throw ERR_HTTP_HEADERS_SENT out of a timer and crash the process.
  if (res.headersSent) return;
  const { status, body, retryAfterSeconds } = toResponse(err);
  if (retryAfterSeconds !== undefined) res.set('Retry-After', String(retryAfterSeconds));
  res.status(status).json(body);
}

/**
 * The session chain: express-session (fail closed: a store that is down answers 503, never an
 * anonymous pass-through), Passport's session, then the server-side idle and absolute timeouts.
 */
export function buildSessionMiddleware(ctx: StepUpContext, passport: PassportLike): RequestHandler[] {
  const s = ctx.opts.session;
  const secure = s.secureCookie;
  const store = session({
    name: cookieName(ctx),
    secret: s.secrets,
    store: ctx.sessionStore,
    resave: false,
    saveUninitialized: false,
    proxy: undefined,
    cookie: {
      httpOnly: true,
      sameSite: s.sameSite,
      secure: secure,
      path: '/',
      maxAge: s.absoluteTimeoutSeconds * 1000,
    },
  });
  const failClosed: RequestHandler = (req, res, next) => {
    let passed = false;
    store(req, res, (err?: unknown) => {
      if (err) {
        ctx.logger.error('session store unavailable', { err: (err as Error).message });
        // express-session also reports save/touch failures from res.end(), after `next()` ran and the
        // answer is on its way: nothing is granted by then, so log only (never a second next()).
        if (passed || res.headersSent) return;
        return sendError(res, new StepUpError('unavailable'));
      }
      if (passed) return;
      passed = true;
      next();
    });
  };
  const passportSession = passport.session();
  const passportChecked: RequestHandler = (req, res, next) => {
    passportSession(req, res, (err?: unknown) => {
      // A session whose serialized user cannot be read is treated as anonymous, not as an error page.
      if (err) req.user = undefined;
      next();
    });
  };
  const timeouts: RequestHandler = (req, res, next) => {
    const mfa = req.session?.mfa;
    if (!req.session || (!mfa && !req.user)) return next();
    if (req.user && mfa?.state !== 'authenticated') {
      // Never let a user object without the plugin's authenticated state through.
      req.user = undefined;
      return next();
    }
    if (mfa?.state !== 'authenticated') return next();
    const now = ctx.now();
    const check = checkAuthenticated(mfa, req.user, now, s);
    if (check === 'ok') {
      if (now - (mfa.lastSeen ?? 0) >= lastSeenGranularity(s.idleTimeoutSeconds)) mfa.lastSeen = now;
      return next();
    }
    const user = req.user!;
    const sid = req.sessionID;
    destroySession(req)
      .then(async () => {
        req.user = undefined;
        await ctx.sessionIndex.remove(user.tenantId, user.id, sid);
        ctx.events.emitSessionsEnded({ tenantId: user.tenantId, userId: user.id, sessionIds: [sid], reason: 'expired' });
        next();
      })
      .catch((err: unknown) => {
        ctx.logger.error('session store unavailable', { err: (err as Error).message });
        sendError(res, new StepUpError('unavailable'));
      });
  };
  return [failClosed, passportChecked, timeouts];
}

export interface RequireAuthOptions {
  /** Minimum authentication assurance level (default 1). */
  aal?: 1 | 2;
  /** Roles of which the user must hold at least one. */
  roles?: string[];
}

/**
 * Guards a route: 401 `unauthenticated` unless the session is `authenticated` (a pending login is
 * never enough, whatever Passport says), 403 when the aal or role is not met.
 *
 * @example app.get('/api/profile', stepUp.requireAuth({ aal: 2 }), handler)
 */
export function requireAuth(ctx: StepUpContext, options: RequireAuthOptions = {}): RequestHandler {
  const aal = options.aal ?? 1;
  return (req: Request, res: Response, next: NextFunction) => {
    const mfa = req.session?.mfa;
    if (!req.user || mfa?.state !== 'authenticated' || !req.isAuthenticated?.()) return sendError(res, new StepUpError('unauthenticated'));
    if ((mfa.aal ?? 1) < aal) return sendError(res, new StepUpError('forbidden', 'This action needs a second factor (aal 2).'));
    if (options.roles && !options.roles.some((r) => req.user!.roles.includes(r as never))) return sendError(res, new StepUpError('forbidden'));
    next();
  };
}

export interface RequireStepUpOptions {
  /** How recent the last factor verification must be. Default: the tenant policy's `stepUpMaxAgeSeconds`. */
  maxAgeSeconds?: number;
}

/**
 * Demands a recent second-factor verification: 401 `step_up_required` with the user's methods
 * otherwise. Refresh it with `POST /auth/step-up`.
 */
export function requireStepUp(ctx: StepUpContext, options: RequireStepUpOptions = {}): RequestHandler {
  const auth = requireAuth(ctx);
  return (req, res, next) => {
    auth(req, res, () => {
      const mfa = req.session.mfa!;
      const maxAge = options.maxAgeSeconds ?? mfa.stepUpMaxAgeSeconds ?? 300;
      if (isStepUpFresh(mfa, ctx.now(), maxAge)) return next();
      // Only the refusal path looks the user up (to list methods); a fresh session costs nothing.
      const u = req.user!;
      Promise.all([ctx.users.findById(u.tenantId, u.id), ctx.tenants.findById(u.tenantId)])
        .then(([user, tenant]) => {
          const methods = user ? userMethods(user, tenant?.policy.allowedMethods) : [];
          sendError(res, new StepUpError('step_up_required', undefined, { body: { methods } }));
        })
        .catch((err: unknown) => next(err));
    });
  };
}
