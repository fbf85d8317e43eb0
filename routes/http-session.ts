import type { Request, Response } from 'express';
import type { StepUpContext } from '../lib/context';
import type { MfaSession } from '../lib/state/machine';
import type { StepUpUser } from '../lib/types';
import { randomId } from '../lib/crypto/codes';
import { StepUpError } from '../lib/errors';

declare module 'express-session' {
  interface SessionData {
    mfa?: MfaSession;
    /** Binds out-of-band step-up codes to this authenticated session. */
    bindingId?: string;
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends StepUpUser {}
  }
}

const cb = (resolve: () => void, reject: (e: unknown) => void) => (err?: unknown) => (err ? reject(err) : resolve());

/** New session id, old one destroyed in the store (fixation: MFA-03/04). Session data starts empty. */
export function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate(cb(resolve, reject)));
}

export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save(cb(resolve, reject)));
}

export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy(cb(resolve, reject)));
}

/**
 * Passport's login (regenerates the session id, stores the user), then the authenticated state,
 * then the user -> session index. Burn the pending state before the session is issued.
 */
export async function establish(ctx: StepUpContext, req: Request, user: StepUpUser, mfa: MfaSession): Promise<void> {
  const oldSid = req.sessionID;
  await new Promise<void>((resolve, reject) => req.login(user, { keepSessionInfo: false, session: true }, cb(resolve, reject)));
  req.session.mfa = mfa;
  req.session.bindingId = randomId();
  await saveSession(req);
  if (oldSid && oldSid !== req.sessionID) {
    await ctx.sessionIndex.remove(user.tenantId, user.id, oldSid);
    ctx.events.emitSessionRotated({ tenantId: user.tenantId, userId: user.id, oldSessionId: oldSid, newSessionId: req.sessionID });
  }
  await ctx.sessionIndex.add(user.tenantId, user.id, req.sessionID);
  // A disable that ran while this login was in flight ended the sessions it knew of, not this new
  // one: look again now that the session is indexed, and end it if the account was disabled.
  const fresh = await ctx.users.findById(user.tenantId, user.id);
  if (!fresh || fresh.disabledAt) {
    await destroySession(req);
    req.user = undefined;
    await ctx.sessionIndex.remove(user.tenantId, user.id, req.sessionID);
    throw new StepUpError('invalid_credentials');
  }
}

export function cookieName(ctx: StepUpContext): string {
  return ctx.opts.session.cookieName ?? (ctx.opts.session.secureCookie === true ? '__Host-sid' : 'sid');
}

/** Ends this session on the server and in the browser. */
export async function endSession(ctx: StepUpContext, req: Request, res: Response): Promise<void> {
  const sid = req.sessionID;
  const mfa = req.session?.mfa;
  const owner = req.user ?? (mfa?.pending ? { tenantId: mfa.pending.tenantId, id: mfa.pending.userId } : undefined);
  if (req.session) await destroySession(req);
  req.user = undefined;
  if (owner && sid) {
    await ctx.sessionIndex.remove(owner.tenantId, owner.id, sid);
    ctx.events.emitSessionsEnded({ tenantId: owner.tenantId, userId: owner.id, sessionIds: [sid], reason: 'logout' });
  }
  // Same attributes as the session cookie: a browser ignores a `__Host-` clear that is not Secure.
  const s = ctx.opts.session;
  res.clearCookie(cookieName(ctx), { path: '/', httpOnly: true, sameSite: s.sameSite, secure: s.secureCookie === 'auto' ? req.secure : s.secureCookie });
}
