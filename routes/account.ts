import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { StepUpContext } from '../lib/context';
import { requireAuth } from './guards';
import type { Lifecycle } from '../lib/account/index';
import { TOKEN_PATTERN } from '../lib/account/tokens';
import { changePassword } from '../lib/account/password';
import { body, fields, h } from './http';

// Bounded here only against abuse (argon2 input); the configured 8..256 character rule is in lib/.
const newPassword = z.string().max(1024);
const passwordBody = z.strictObject({ currentPassword: z.string().min(1).max(1024), newPassword });
const registerBody = z.strictObject({ tenant: fields.tenant, email: fields.email, password: newPassword, name: z.string().trim().min(1).max(200).optional() });
const forgotBody = z.strictObject({ tenant: fields.tenant, email: fields.email });
const token = z.string().regex(TOKEN_PATTERN);
const verifyBody = z.strictObject({ token });
const resetBody = z.strictObject({ token, newPassword });
const empty = z.strictObject({});

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
      await changePassword(ctx, req, input);
      res.status(204).end();
    }),
  );

  /** `POST /auth/register {tenant, email, password, name?}` -> 202 `{status:"pending_verification"}`, always. */
  r.post(
    '/register',
    noStore,
    h(async (req, res) => {
      await lifecycle.register(req, body(registerBody, req));
      res.status(202).json({ status: 'pending_verification' });
    }),
  );

  /** `POST /auth/verify-email {token}` -> `{verified:true}`; 401 `invalid_code` for any bad, used or expired token. */
  r.post(
    '/verify-email',
    noStore,
    h(async (req, res) => {
      await lifecycle.verifyEmail(req, body(verifyBody, req).token);
      res.json({ verified: true });
    }),
  );

  /** `POST /auth/verify-email/resend {}` from a `verification_required` session -> 202 `{sentTo, expiresIn}`. */
  r.post(
    '/verify-email/resend',
    noStore,
    h(async (req, res) => {
      body(empty, req);
      res.status(202).json(await lifecycle.resendVerification(req));
    }),
  );

  /** `POST /auth/password/forgot {tenant, email}` -> 202 `{status:"reset_requested"}`, always. */
  r.post(
    '/password/forgot',
    noStore,
    h(async (req, res) => {
      await lifecycle.forgotPassword(req, body(forgotBody, req));
      res.status(202).json({ status: 'reset_requested' });
    }),
  );

  /** `POST /auth/password/reset {token, newPassword}` -> `{reset:true}`; nobody is logged in. */
  r.post(
    '/password/reset',
    noStore,
    h(async (req, res) => {
      await lifecycle.resetPassword(req, res, body(resetBody, req));
      res.json({ reset: true });
    }),
  );

  return r;
}
