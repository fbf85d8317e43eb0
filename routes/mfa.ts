import { Router, type Request } from 'express';
import type { StepUpContext } from '../lib/context';
import { StepUpError } from '../lib/errors';
import { assertMayEnrol, confirmTotpEnrolment, disableMethod, mfaStatus, regenerateBackupCodes, startTotpEnrolment } from '../lib/auth/enrolment';
import { loadSubject } from '../lib/auth/subject';
import { maskPhone } from '../lib/delivery/mask';
import { keptAfterCredentialChange, withTotpEnrolment } from '../lib/state/machine';
import { requireAuth, requireStepUp } from './guards';
import { finishEnrolment, mfaOf, subjectRef, update } from './http-session';
import { body, h, metaOf } from './http';

import { mfaEmpty as empty, methodOnlyBody as methodOnly, totpCodeBody as codeOnly } from './schemas';

export function mfaRoutes(ctx: StepUpContext): Router {
  const r = Router();
  const subject = (req: Request, allowEnrolling: boolean) => loadSubject(ctx, subjectRef(ctx, req, allowEnrolling));

  r.post(
    '/totp/enroll',
    h(async (req, res) => {
      body(empty, req);
      const s = await subject(req, true);
      assertMayEnrol(ctx, s, 'totp');
      const enrolment = await startTotpEnrolment(ctx, s);
      // Only the latest secret can be confirmed (ATK-18); the old factor stays until then.
      await update(req, withTotpEnrolment(s.mfa, enrolment.sealed, ctx.now()));
      res.set('Cache-Control', 'no-store');
      res.json({ secret: enrolment.secret, otpauthUrl: enrolment.otpauthUrl, qrCode: enrolment.qrCode });
    }),
  );

  r.post(
    '/totp/verify',
    h(async (req, res) => {
      const { code } = body(codeOnly, req);
      const s = await subject(req, true);
      const pending = s.mfa.totpEnrolment;
      if (!pending) throw new StepUpError('not_found', 'Start the enrolment first.');
      assertMayEnrol(ctx, s, 'totp');
      const backupCodes = await confirmTotpEnrolment(ctx, metaOf(req), s, pending.sealed, code);
      await finishEnrolment(ctx, req, s, 'totp');
      res.set('Cache-Control', 'no-store');
      res.json({ enabled: true, backupCodes });
    }),
  );

  r.get(
    '/status',
    requireAuth(ctx),
    h(async (req, res) => {
      const { user } = await subject(req, false);
      res.set('Cache-Control', 'no-store');
      res.json(mfaStatus(user, maskPhone, ctx.webauthn !== null));
    }),
  );

  // A backup code cannot vouch for its own replacement: a real factor is needed here (SR-2).
  r.post(
    '/backup-codes/regenerate',
    requireStepUp(ctx, { purpose: 'backup_codes' }),
    h(async (req, res) => {
      body(empty, req);
      const { user } = await subject(req, false);
      const backupCodes = await regenerateBackupCodes(ctx, metaOf(req), user);
      res.set('Cache-Control', 'no-store');
      res.json({ backupCodes });
    }),
  );

  r.post(
    '/disable',
    requireStepUp(ctx),
    h(async (req, res) => {
      const { method } = body(methodOnly, req);
      const { user, tenant } = await subject(req, false);
      await disableMethod(ctx, metaOf(req), user, tenant, method);
      // A factor change ends the user's other sessions (and their sockets); this one is re-issued after the mark.
      const { at } = await ctx.sessions.endAll(user.tenantId, user.id, 'mfa_disabled', req.sessionID);
      await update(req, keptAfterCredentialChange(mfaOf(req)!, at));
      res.status(204).end();
    }),
  );

  return r;
}
