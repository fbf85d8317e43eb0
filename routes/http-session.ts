import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import type { PassportLike } from './passport-like';
import type { StepUpContext } from '../lib/context';
import { StepUpError } from '../lib/errors';
import { randomId } from '../lib/crypto/codes';
import type { FactorTarget } from '../lib/auth/second-factor';
import type { Subject, SubjectRef } from '../lib/auth/subject';
import { afterEnrolment, checkAuthenticated, checkPending, type MfaSession, type PendingLogin, type PendingState } from '../lib/state/machine';
import { aalOf } from '../lib/state/policy';
import { dropSessionMeta, methodsOf, sessionMetaEntry, sessionMetaKey, touchSessionMeta } from '../lib/auth/session-meta';
import { toSessionUser, type Method, type StepUpUser } from '../lib/types';
import { metaOf, sendError } from './http';
import type { AfterPassword } from '../lib/auth/password';
import type { LoginResponse } from '../client/types';
import { readCookie } from '../lib/realtime/session';
import { sessionTag } from '../lib/auth/sessions';

// The ONE module that reads and writes `req.session.mfa` (establish, regenerate, save, end): the state
// machine (lib/state/machine.ts) computes every next value, this module puts it in the session.

declare module 'express-session' {
  interface SessionData {
    mfa?: MfaSession;
    /** Binds out-of-band step-up codes to this authenticated session. */
    bindingId?: string;
    /** `mfa_required` only: days the challenge page may offer to remember this browser (0 or absent: none). */
    rememberDeviceDays?: number;
    /** Binds a passwordless challenge to this (still anonymous) session; gone with the login's new id. */
    passkeyBinding?: string;
  }
}

declare global {
  namespace Express {
    interface User extends StepUpUser {}
  }
}

const cb = (resolve: () => void, reject: (e: unknown) => void) => (err?: unknown) => (err ? reject(err) : resolve());

/**
 * The user tag the next session id made for this request carries (`<random>~<tag>`): set just before a
 * login's regeneration, used once by `genid`. The Redis store then reads the session and its user's
 * revocation mark in one command (routes/session-store.ts).
 */
const nextIdUser = new WeakMap<Request, string>();
const tagNextId = (req: Request, mfa: MfaSession): void => {
  if (mfa.uid) nextIdUser.set(req, mfa.uid);
};
function genid(req: Request): string {
  const uid = nextIdUser.get(req);
  nextIdUser.delete(req);
  return newSessionId(uid);
}

/** A session id: 24 random bytes (as express-session's own), then `~<tag>` when it is made for a user. */
export function newSessionId(uid?: string): string {
  const id = randomId(24);
  return uid ? `${id}~${sessionTag(uid)}` : id;
}

function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate(cb(resolve, reject)));
}

function save(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save(cb(resolve, reject)));
}

function destroy(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy(cb(resolve, reject)));
}

export function cookieName(ctx: StepUpContext): string {
  const s = ctx.opts.session;
  return s.cookieName ?? (s.external ? 'connect.sid' : s.secureCookie === true ? '__Host-sid' : 'sid');
}

/** The binding of this session's passwordless passkey challenge (made on first use). */
export function bindPasskeyChallenge(req: Request): string {
  req.session.passkeyBinding ??= randomId();
  return req.session.passkeyBinding;
}

export function passkeyBindingOf(req: Request): string | undefined {
  return req.session?.passkeyBinding;
}

/** The session's state, read only (for views and checks). */
export function mfaOf(req: Request): MfaSession | undefined {
  return req.session?.mfa;
}

/** The pending login of a session in a given state (410 when it expired, 409 when there is none). */
export function pendingOf(ctx: StepUpContext, req: Request, state: PendingState): PendingLogin {
  const check = checkPending(req.session?.mfa, state, ctx.now());
  if (!check.ok) throw new StepUpError(check.reason === 'expired' ? 'challenge_expired' : 'no_pending_login');
  return check.pending;
}

/**
 * A new id as soon as the password verifies (MFA-03), with the pending state; the last login replaces
 * any pending one. Indexed so "log out everywhere" and resets reach pending logins too.
 */
export async function beginPending(ctx: StepUpContext, req: Request, mfa: MfaSession, opts: { rememberDeviceDays?: number } = {}): Promise<void> {
  const oldSid = req.sessionID;
  tagNextId(req, mfa);
  // A request without a session cookie holds an id nobody but this server has seen and nothing stored:
  // a new id (it carries the user's tag) without destroying the old one (no tombstone, no write).
  const store = req.sessionStore as session.Store & { generate?: (req: Request) => void };
  if (sentSessionCookie(ctx, req) || typeof store.generate !== 'function') await regenerate(req);
  else store.generate(req);
  req.session.mfa = mfa;
  if (opts.rememberDeviceDays) req.session.rememberDeviceDays = opts.rememberDeviceDays;
  await save(req);
  const { tenantId, userId } = mfa.pending!;
  // The listing record, the index entry (and the old record gone): one round trip on a single Redis.
  const replaced = oldSid && oldSid !== req.sessionID ? oldSid : undefined;
  await ctx.sessions.index(tenantId, userId, req.sessionID, {
    set: [sessionMetaEntry(ctx, tenantId, userId, req.sessionID, mfa, metaOf(req))],
    del: replaced ? [sessionMetaKey(tenantId, userId, replaced)] : undefined,
  });
}

/**
 * Passport's login (regenerates the session id, stores the user), then the authenticated state,
 * then the user -> session index (MFA-03/04). The pending state is burned before the session is issued.
 */
export async function establish(ctx: StepUpContext, req: Request, user: StepUpUser, mfa: MfaSession): Promise<void> {
  const oldSid = req.sessionID;
  const bindingId = randomId();
  // Passport's login regenerates the id and saves the new session: the new state is put in as soon as
  // that session exists, so Passport's one save writes it all (no second save of our own).
  fillOnRegenerate(req, (sess) => {
    sess.mfa = mfa;
    sess.bindingId = bindingId;
  });
  tagNextId(req, mfa);
  await new Promise<void>((resolve, reject) => req.login(user, { keepSessionInfo: false, session: true }, cb(resolve, reject)));
  if (req.session.mfa !== mfa || req.session.bindingId !== bindingId) {
    // A Passport that did not regenerate through `req.session.regenerate`: write the state ourselves.
    req.session.mfa = mfa;
    req.session.bindingId = bindingId;
    await save(req);
  }
  // The listing record, the index entry (the replaced id and its record gone) and, once indexed, the
  // revocation mark: one round trip on a single Redis. A disable or reset that ran while this login
  // was in flight ended the sessions it knew of, not this new one: look again (the mark covers the rest).
  const replaced = oldSid && oldSid !== req.sessionID ? oldSid : undefined;
  const [fresh, mark] = await Promise.all([
    ctx.users.findById(user.tenantId, user.id),
    ctx.sessions.index(user.tenantId, user.id, req.sessionID, {
      replaced,
      set: [sessionMetaEntry(ctx, user.tenantId, user.id, req.sessionID, mfa, metaOf(req))],
      del: replaced ? [sessionMetaKey(user.tenantId, user.id, replaced)] : undefined,
    }),
  ]);
  if (replaced) ctx.events.emitSessionRotated({ tenantId: user.tenantId, userId: user.id, oldSessionId: replaced, newSessionId: req.sessionID });
  if (!fresh || fresh.disabledAt || mark > (mfa.validFrom ?? 0)) {
    await destroy(req);
    req.user = undefined;
    await ctx.sessions.remove(user.tenantId, user.id, req.sessionID);
    await dropSessionMeta(ctx, user.tenantId, user.id, req.sessionID);
    throw new StepUpError('invalid_credentials');
  }
}

/**
 * A verified first factor (the plugin's password, or the host's own strategy through
 * `stepUp.beginSecondFactor`) put into the session: authenticated at aal 1, or the pending login the
 * machine chose (any `req.user` of the host's gives way to it). Answers what `POST /auth/login` answers.
 */
export async function afterFirstFactor(ctx: StepUpContext, req: Request, next: AfterPassword, opts: { rememberDeviceDays?: number } = {}): Promise<LoginResponse> {
  if (next.state === 'authenticated') {
    await establish(ctx, req, next.user, next.mfa);
    const deadline = next.decision.enrollmentDeadline;
    return { state: 'authenticated', aal: 1, user: req.user!, ...(deadline ? { enrollmentDeadline: new Date(deadline).toISOString() } : {}) } as LoginResponse;
  }
  req.user = undefined;
  await beginPending(ctx, req, next.mfa, opts);
  const expiresAt = new Date(next.mfa.pending!.expiresAt).toISOString();
  const d = next.decision;
  const days = opts.rememberDeviceDays;
  return (d.state === 'verification_required' ? { state: d.state, expiresAt } : { state: d.state, methods: d.methods, expiresAt, ...(days ? { rememberDeviceDays: days } : {}) }) as LoginResponse;
}

/** Whether the request carried this plugin's session cookie (valid or not). */
function sentSessionCookie(ctx: StepUpContext, req: Request): boolean {
  return readCookie(req.headers.cookie, cookieName(ctx)) !== undefined;
}

/** Runs `fill` on the new session as soon as the next `req.session.regenerate` has made it. */
function fillOnRegenerate(req: Request, fill: (sess: Request['session']) => void): void {
  const old = req.session;
  const regen = old.regenerate;
  old.regenerate = function (this: typeof old, done: (err?: unknown) => void) {
    return regen.call(this, (err?: unknown) => {
      if (!err) fill(req.session);
      done(err);
    });
  } as typeof old.regenerate;
}

/** Writes a next state that keeps the session id (enrolment in progress, a kept session after a password change). */
export async function update(req: Request, mfa: MfaSession): Promise<void> {
  req.session.mfa = mfa;
  await save(req);
}

/** Drops a pending login (expired, too many wrong codes): the session is anonymous again. */
export async function dropPending(req: Request): Promise<void> {
  if (!req.session?.mfa) return;
  delete req.session.mfa;
  await save(req);
}

/** Ends this session on the server and in the browser (audited by the caller). */
export async function end(ctx: StepUpContext, req: Request, res: Response, reason: 'logout' | 'logout_all' | 'password_changed' = 'logout'): Promise<{ tenantId: string; userId: string } | null> {
  const sid = req.sessionID;
  const mfa = req.session?.mfa;
  const hostCookie = ctx.opts.session.external ? req.session?.cookie : undefined;
  const owner = req.user ? { tenantId: req.user.tenantId, userId: req.user.id } : mfa?.pending ? { tenantId: mfa.pending.tenantId, userId: mfa.pending.userId } : null;
  if (req.session) await destroy(req);
  req.user = undefined;
  if (owner && sid) await ctx.sessions.ended(owner.tenantId, owner.userId, sid, reason);
  // Same attributes as the session cookie: a browser ignores a `__Host-` clear that is not Secure.
  const s = ctx.opts.session;
  if (hostCookie) {
    const sameSite = typeof hostCookie.sameSite === 'string' || typeof hostCookie.sameSite === 'boolean' ? hostCookie.sameSite : undefined;
    res.clearCookie(cookieName(ctx), { path: hostCookie.path ?? '/', domain: hostCookie.domain, httpOnly: true, sameSite, secure: hostCookie.secure === true });
  } else {
    res.clearCookie(cookieName(ctx), { path: '/', httpOnly: true, sameSite: s.sameSite, secure: s.secureCookie === 'auto' ? req.secure : s.secureCookie });
  }
  return owner;
}

/**
 * Who a second-factor code is for: the pending user of an `mfa_required` session (login), or the
 * authenticated user (step-up). Never anything from the body (MFA-07).
 */
export function factorTarget(ctx: StepUpContext, req: Request): FactorTarget {
  const mfa = req.session?.mfa;
  if (req.user && mfa?.state === 'authenticated') {
    return { purpose: 'step_up', tenantId: req.user.tenantId, userId: req.user.id, binding: req.session.bindingId ?? req.sessionID, validFrom: mfa.validFrom ?? mfa.authTime ?? 0 };
  }
  const pending = pendingOf(ctx, req, 'mfa_required');
  return { purpose: 'login', pending, validFrom: mfa!.validFrom ?? mfa!.authTime ?? 0 };
}

/** Who a factor-management route acts on: the authenticated user, or (with `allowEnrolling`) the enrolling one. */
export function subjectRef(ctx: StepUpContext, req: Request, allowEnrolling: boolean): SubjectRef {
  const mfa = req.session?.mfa;
  if (req.user && mfa?.state === 'authenticated') {
    return { tenantId: req.user.tenantId, userId: req.user.id, kind: 'authenticated', mfa, binding: req.session.bindingId ?? req.sessionID };
  }
  if (allowEnrolling) {
    const check = checkPending(mfa, 'enrollment_required', ctx.now());
    if (check.ok) return { tenantId: check.pending.tenantId, userId: check.pending.userId, kind: 'enrolling', mfa: mfa!, binding: check.pending.id };
    if (check.reason === 'expired') throw new StepUpError('challenge_expired');
  }
  throw new StepUpError('unauthenticated');
}

/** `GET /auth/session`: what the client may know of its session. */
export function sessionView(req: Request) {
  const mfa = req.session?.mfa;
  if (req.user && mfa?.state === 'authenticated') {
    return {
      state: 'authenticated',
      aal: mfa.aal,
      user: req.user,
      mfaVerifiedAt: mfa.mfaVerifiedAt ? new Date(mfa.mfaVerifiedAt).toISOString() : null,
      amr: methodsOf(mfa),
      ...(mfa.enrollmentDeadline ? { enrollmentDeadline: new Date(mfa.enrollmentDeadline).toISOString() } : {}),
    };
  }
  if (mfa?.pending && mfa.state === 'verification_required') {
    return { state: mfa.state, expiresAt: new Date(mfa.pending.expiresAt).toISOString() };
  }
  if (mfa?.pending && (mfa.state === 'mfa_required' || mfa.state === 'enrollment_required')) {
    const days = mfa.state === 'mfa_required' ? (req.session.rememberDeviceDays ?? 0) : 0;
    return { state: mfa.state, methods: mfa.pending.methods as Method[], expiresAt: new Date(mfa.pending.expiresAt).toISOString(), ...(days > 0 ? { rememberDeviceDays: days } : {}) };
  }
  return { state: 'anonymous' };
}

/** The shape the plugin's serializer stores (index.ts): a host's own user objects do not have it. */
function isPluginUser(u: unknown): boolean {
  const x = u as Partial<StepUpUser> | null;
  return !!x && typeof x.id === 'string' && typeof x.tenantId === 'string' && typeof x.tenant === 'string' && Array.isArray(x.roles);
}

// lastSeen is written at most once a minute (fewer session writes), and never so coarsely that
// steady activity inside a short idle timeout could still look idle: at most a tenth of it.
const lastSeenGranularity = (idleSeconds: number) => Math.min(60_000, (idleSeconds * 1000) / 10);

/**
 * The session chain: express-session on the plugin's store (fail closed: a store that is down or slow
 * answers 503, never an anonymous pass-through), Passport's session, then the server-side idle and
 * absolute timeouts (THE `checkAuthenticated` rule).
 */
export function sessionMiddleware(ctx: StepUpContext, passport: PassportLike, store: session.Store): RequestHandler[] {
  const s = ctx.opts.session;
  const mw = s.external
    ? null
    : session({
        name: cookieName(ctx),
        genid,
        secret: s.secrets,
        store,
        resave: false,
        saveUninitialized: false,
        cookie: { httpOnly: true, sameSite: s.sameSite, secure: s.secureCookie, path: '/', maxAge: s.absoluteTimeoutSeconds * 1000 },
      });
  // Which express-session loaded this request's session: the plugin's own, or (with `external`) the
  // host's built on the plugin's store. Any other one would skip the store's checks (revocation marks,
  // tombstones): refused with an error that says what to change, never a silent pass.
  const misconfigured = (req: Request, next: NextFunction): void => {
    const why = s.external
      ? req.session
        ? 'session.external is set, but the express-session that ran before stepUp.session does not use stepUp.stores.sessions as its store'
        : 'session.external is set, but no express-session ran before stepUp.session: mount yours (with store: stepUp.stores.sessions) first'
      : 'an express-session of the host ran before stepUp.session: remove it, or set session.external and build it with store: stepUp.stores.sessions and the same secret';
    ctx.logger.error('session middleware misconfigured', { reason: why });
    next(new Error(`passport-stepup: ${why}`));
  };
  const loaded = new WeakSet<Request>(); // requests whose session the plugin's own middleware loaded
  const load: RequestHandler = (req, res, next) => {
    if (req.session) return (s.external ? req.sessionStore === store : loaded.has(req)) ? next() : misconfigured(req, next);
    if (!mw) return misconfigured(req, next);
    let passed = false;
    mw(req, res, (err?: unknown) => {
      if (err) {
        ctx.logger.error('session store unavailable', { err: (err as Error).message });
        // express-session also reports save failures from res.end(), after `next()` ran and the answer
        // is on its way: nothing is granted by then, so log only (never a second next()).
        if (passed || res.headersSent) return;
        return sendError(res, new StepUpError('unavailable'));
      }
      if (passed) return;
      passed = true;
      loaded.add(req);
      next();
    });
  };
  // express-session silently drops a Secure cookie on a request it does not see as TLS: the login
  // answers 200 and the next request is anonymous. Say so once, at the first such request.
  let warned = false;
  const secureCheck: RequestHandler = (req, _res, next) => {
    if (!warned && req.session?.cookie?.secure === true && !req.secure) {
      warned = true;
      ctx.logger.warn(
        'the session cookie is Secure (session.secureCookie: true) but this request is plain http (no TLS, or `trust proxy` is not set so X-Forwarded-Proto is ignored): browsers get no session cookie and every login seems to do nothing. Serve over https, set app.set("trust proxy", <hops>) behind a TLS proxy, or use secureCookie: "auto" in development.',
        { path: req.path },
      );
    }
    next();
  };
  const passportSession = passport.session();
  const passportChecked: RequestHandler = (req, res, next) => {
    passportSession(req, res, (err?: unknown) => {
      // A session whose serialized user cannot be read is treated as anonymous, not as an error page.
      if (err) req.user = undefined;
      next();
    });
  };
  const timeouts: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    const mfa = req.session?.mfa;
    if (!req.session || (!mfa && !req.user)) return next();
    if (req.user && mfa?.state !== 'authenticated') {
      // Never let one of the plugin's users through without its authenticated state. A login the host
      // made with its own strategy (no plugin state, not a plugin user) is the host's: left alone;
      // the plugin's guards still refuse it.
      if (mfa || isPluginUser(req.user)) req.user = undefined;
      return next();
    }
    if (mfa?.state !== 'authenticated') return next();
    const now = ctx.now();
    const check = checkAuthenticated(mfa, req.user, now, s);
    if (check === 'ok') {
      if (now - (mfa.lastSeen ?? 0) >= lastSeenGranularity(s.idleTimeoutSeconds)) {
        mfa.lastSeen = now;
        // The session list's record follows at the same pace (once a minute; a failure never fails the request).
        const u = req.user!;
        return void touchSessionMeta(ctx, u.tenantId, u.id, req.sessionID, mfa, now)
          .catch((err: Error) => ctx.logger.warn('session list record not refreshed', { err: err.message }))
          .then(() => next());
      }
      return next();
    }
    const user = req.user!;
    const sid = req.sessionID;
    destroy(req)
      .then(async () => {
        req.user = undefined;
        await ctx.sessions.ended(user.tenantId, user.id, sid, 'expired');
        next();
      })
      .catch((err: unknown) => {
        ctx.logger.error('session store unavailable', { err: (err as Error).message });
        sendError(res, new StepUpError('unavailable'));
      });
  };
  return [load, secureCheck, passportChecked, timeouts];
}

/**
 * After a factor is enrolled: an `enrollment_required` login completes (new session id); an
 * authenticated session counts the confirmation as a fresh proof with that factor. The aal is the one
 * a later login with this method gives (an email-only account stays at aal 1).
 */
export async function finishEnrolment(ctx: StepUpContext, req: Request, subject: Subject, method: Method): Promise<void> {
  const aal = aalOf(method, ctx.opts.emailOtpCountsAsSecondFactor);
  const next = afterEnrolment(mfaOf(req)!, method, aal, subject.tenant.policy, ctx.now());
  if (subject.kind === 'enrolling') {
    await establish(ctx, req, toSessionUser(subject.user, subject.tenant.slug), next);
    await ctx.record(metaOf(req), { tenantId: subject.user.tenantId, userId: subject.user.id, actorId: subject.user.id, type: 'login_succeeded', details: { method, aal } });
    return;
  }
  await update(req, next);
}

