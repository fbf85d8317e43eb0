import { Router, type RequestHandler } from 'express';
import type { StepUpContext } from '../lib/context';
import { requireAuth } from './guards';
import type { Lifecycle } from '../lib/account/index';
import { changePassword } from '../lib/account/password';
import { body, h, metaOf } from './http';
import { end, mfaOf, pendingOf, subjectRef, update } from './http-session';
import { loadSubject } from '../lib/auth/subject';
import { securityEventView } from '../lib/admin/views';
import { keptAfterCredentialChange } from '../lib/state/machine';

import { accountEmpty as empty, forgotBody, passwordBody, registerBody, resetBody, verifyBody } from './schemas';

const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

/**
 * Mounted under `/auth` next to the auth routes: account self-service. The public routes answer the
 * same for every account (MFA-19); none of them logs anybody in.
 */
export function accountRoutes(ctx: StepUpContext, lifecycle: Lifecycle): Router {
  const r = Router();

  /** `POST /auth/password {currentPassword, newPassword}` -> 204; the user's other sessions end. */
  r.post(
    '/password',
    requireAuth(ctx),
    noStore,
    h(async (req, res) => {
      const input = body(passwordBody, req);
      const subject = await loadSubject(ctx, subjectRef(ctx, req, false));
      const at = await changePassword(ctx, metaOf(req), subject, input);
      // Every session of the user ended with the mark; this one goes on, re-issued after it.
      await update(req, keptAfterCredentialChange(mfaOf(req)!, at));
      res.status(204).end();
    }),
  );

  /** `GET /auth/security-events` -> the signed-in user's 20 latest security events (admins shown by role only). */
  r.get(
    '/security-events',
    requireAuth(ctx),
    h(async (req, res) => {
      const u = req.user!;
      const events = await ctx.audit.list(u.tenantId, { limit: 20, userId: u.id });
      res.set('Cache-Control', 'no-store');
      res.json({ events: events.map(securityEventView) });
    }),
  );

  /** `POST /auth/register {tenant, email, password, name?}` -> 202 `{status:"pending_verification"}`, always. */
  r.post(
    '/register',
    noStore,
    h(async (req, res) => {
      await lifecycle.register(metaOf(req), body(registerBody, req));
      res.status(202).json({ status: 'pending_verification' });
    }),
  );

  /** `POST /auth/verify-email {token}` -> `{verified:true}`; 401 `invalid_code` for any bad, used or expired token. */
  r.post(
    '/verify-email',
    noStore,
    h(async (req, res) => {
      await lifecycle.verifyEmail(metaOf(req), body(verifyBody, req).token);
      res.json({ verified: true });
    }),
  );

  /** `POST /auth/verify-email/resend {}` from a `verification_required` session -> 202 `{sentTo, expiresIn}`. */
  r.post(
    '/verify-email/resend',
    noStore,
    h(async (req, res) => {
      body(empty, req);
      res.status(202).json(await lifecycle.resendVerification(metaOf(req), pendingOf(ctx, req, 'verification_required')));
    }),
  );

  /** `POST /auth/password/forgot {tenant, email}` -> 202 `{status:"reset_requested"}`, always. */
  r.post(
    '/password/forgot',
    noStore,
    h(async (req, res) => {
      await lifecycle.forgotPassword(metaOf(req), body(forgotBody, req));
      res.status(202).json({ status: 'reset_requested' });
    }),
  );

  /** `POST /auth/password/reset {token, newPassword}` -> `{reset:true}`; nobody is logged in. */
  r.post(
    '/password/reset',
    noStore,
    h(async (req, res) => {
      const done = await lifecycle.resetPassword(metaOf(req), body(resetBody, req));
      // This browser's own session of the user ends properly (so nothing saves it again at the end of the request).
      const mfa = mfaOf(req);
      const owner = req.user ? { tenantId: req.user.tenantId, userId: req.user.id } : mfa?.pending ? { tenantId: mfa.pending.tenantId, userId: mfa.pending.userId } : null;
      if (owner && owner.tenantId === done.tenantId && owner.userId === done.userId) await end(ctx, req, res, 'password_changed');
      res.json({ reset: true });
    }),
  );

  return r;
}
