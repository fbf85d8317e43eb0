import { Router } from 'express';
import { z } from 'zod';
import type { StepUpContext } from '../lib/context';
import { requireAuth } from '../lib/guards';
import { changePassword } from '../lib/tenancy/account';
import { body, h } from './common';

// Bounded here only against abuse (argon2 input); the configured 8..256 character rule is in changePassword.
const passwordBody = z.strictObject({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().max(1024) });

/** Mounted under `/auth` next to the auth routes: account self-service. */
export function accountRoutes(ctx: StepUpContext): Router {
  const r = Router();

  /** `POST /auth/password {currentPassword, newPassword}` -> 204; the user's other sessions end. */
  r.post(
    '/password',
    requireAuth(ctx),
    h(async (req, res) => {
      const input = body(passwordBody, req);
      await changePassword(ctx, req, input);
      res.set('Cache-Control', 'no-store');
      res.status(204).end();
    }),
  );

  return r;
}
