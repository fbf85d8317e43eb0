import { Router } from 'express';
import { z } from 'zod';
import type { StepUpContext } from '../lib/context';
import { StepUpError } from '../lib/errors';
import { requireAuth, requireStepUp } from './guards';
import { assertMayEnrol, confirmTotpEnrolment, disableMethod, mfaStatus, regenerateBackupCodes, startTotpEnrolment } from '../lib/auth/enrolment';
import { saveSession } from './http-session';
import { subjectOf, type Subject } from '../lib/auth/subject';
import { aalOf, completeWithFactor } from './auth';
import type { Method } from '../lib/types';
import { body, fields, h } from './http';
import type { Request } from 'express';
import { maskPhone } from '../lib/delivery/mask';

const empty = z.strictObject({});
const codeOnly = z.strictObject({ code: z.string().regex(/^[0-9]{6}$/) });
const methodOnly = z.strictObject({ method: fields.method });

/**
 * After a factor is enrolled: an `enrollment_required` login completes (new session id, aal 2);
 * an authenticated session counts the confirmation as a fresh verification.
 */
export async function afterEnrolment(ctx: StepUpContext, req: Request, subject: Subject, method: Method): Promise<void> {
  // The same aal a later login with this method gives (an email-only account stays at aal 1).
  const aal = aalOf(ctx, method);
  if (subject.kind === 'enrolling') {
    await completeWithFactor(ctx, req, subject.user, subject.tenant, aal, method);
    return;
  }
  const mfa = req.session.mfa!;
  mfa.aal = Math.max(mfa.aal ?? 1, aal) as 1 | 2;
  mfa.mfaVerifiedAt = ctx.now();
  await saveSession(req);
}

export function mfaRoutes(ctx: StepUpContext): Router {
  const r = Router();

  r.post(
    '/totp/enroll',
    h(async (req, res) => {
      body(empty, req);
      const subject = await subjectOf(ctx, req, true);
      assertMayEnrol(ctx, subject, req.session.mfa, 'totp');
      const enrolment = await startTotpEnrolment(ctx, subject);
      // Only the latest secret can be confirmed (ATK-18); the old factor stays until then.
      req.session.mfa!.totpEnrolment = { sealed: enrolment.sealed, startedAt: ctx.now() };
      await saveSession(req);
      res.set('Cache-Control', 'no-store');
      res.json({ secret: enrolment.secret, otpauthUrl: enrolment.otpauthUrl, qrCode: enrolment.qrCode });
    }),
  );

  r.post(
    '/totp/verify',
    h(async (req, res) => {
      const { code } = body(codeOnly, req);
      const subject = await subjectOf(ctx, req, true);
      const pending = req.session.mfa?.totpEnrolment;
      if (!pending) throw new StepUpError('not_found', 'Start the enrolment first.');
      assertMayEnrol(ctx, subject, req.session.mfa, 'totp');
      const backupCodes = await confirmTotpEnrolment(ctx, req, subject, pending.sealed, code);
      delete req.session.mfa!.totpEnrolment;
      await afterEnrolment(ctx, req, subject, 'totp');
      res.set('Cache-Control', 'no-store');
      res.json({ enabled: true, backupCodes });
    }),
  );

  r.get(
    '/status',
    requireAuth(ctx),
    h(async (req, res) => {
      const { user } = await subjectOf(ctx, req, false);
      res.set('Cache-Control', 'no-store');
      res.json(mfaStatus(user, maskPhone));
    }),
  );

  r.post(
    '/backup-codes/regenerate',
    requireStepUp(ctx),
    h(async (req, res) => {
      body(empty, req);
      const { user } = await subjectOf(ctx, req, false);
      const backupCodes = await regenerateBackupCodes(ctx, req, user);
      res.set('Cache-Control', 'no-store');
      res.json({ backupCodes });
    }),
  );

  r.post(
    '/disable',
    requireStepUp(ctx),
    h(async (req, res) => {
      const { method } = body(methodOnly, req);
      const { user, tenant } = await subjectOf(ctx, req, false);
      await disableMethod(ctx, req, user, tenant, method);
      // A factor change ends the user's other sessions (and their sockets).
      const ended = await ctx.sessionIndex.endAll(user.tenantId, user.id, req.sessionID);
      if (ended.length) ctx.events.emitSessionsEnded({ tenantId: user.tenantId, userId: user.id, sessionIds: ended, reason: 'mfa_disabled' });
      res.status(204).end();
    }),
  );

  return r;
}
