import { Router, type Request } from 'express';
import type { StepUpContext } from '../lib/context';
import { StepUpError } from '../lib/errors';
import { assertMayEnrol, newBackupCodeSet } from '../lib/auth/enrolment';
import { sendCode } from '../lib/auth/codes';
import { verifySecondFactor } from '../lib/auth/second-factor';
import { loadSubject } from '../lib/auth/subject';
import { parsePhone } from '../lib/delivery/phone';
import type { OobChannel } from '../lib/factors/oob';
import { withOobEnrolment } from '../lib/state/machine';
import { hasFactor } from '../lib/state/policy';
import type { Method, UserPatch } from '../lib/types';
import { factorTarget, finishEnrolment, subjectRef, update } from './http-session';
import { body, h, metaOf } from './http';

import { mfaEmpty as empty, oobCodeBody as codeOnly, phoneBody } from './schemas';

const METHOD: Record<OobChannel, Method> = { email: 'email_otp', sms: 'sms_otp' };

/**
 * `POST /send`: a code for the login waiting in this session (purpose login, bound to the pending
 * login) or for a step-up of the authenticated user (bound to this session).
 */
async function sendForChallenge(ctx: StepUpContext, req: Request, channel: OobChannel) {
  const target = factorTarget(ctx, req);
  if (target.purpose === 'login' && !target.pending.methods.includes(METHOD[channel])) throw new StepUpError('method_not_allowed');
  const ids = target.purpose === 'login' ? { tenantId: target.pending.tenantId, userId: target.pending.userId, binding: target.pending.id } : target;
  const user = await ctx.users.findById(ids.tenantId, ids.userId);
  if (!user || user.disabledAt) throw new StepUpError('unauthenticated');
  const destination = channel === 'email' ? user.mfa.email && user.email : user.mfa.sms?.phone;
  if (!destination) throw new StepUpError('method_not_allowed');
  return sendCode(ctx, metaOf(req), { user, channel, purpose: target.purpose === 'login' ? 'login' : 'step_up', binding: ids.binding, destination });
}

export function oobRoutes(ctx: StepUpContext): Router {
  const r = Router();

  for (const channel of ['email', 'sms'] as const) {
    r.post(
      `/${channel}/send`,
      h(async (req, res) => {
        body(empty, req);
        res.status(202).json(await sendForChallenge(ctx, req, channel));
      }),
    );

    r.post(
      `/${channel}/enroll`,
      h(async (req, res) => {
        const input = channel === 'sms' ? body(phoneBody, req) : (body(empty, req), undefined);
        const subject = await loadSubject(ctx, subjectRef(ctx, req, true));
        if (channel === 'email' && subject.user.mfa.email) throw new StepUpError('already_enrolled');
        // A new phone is a new authenticator: the same proof as adding any factor (SR-3).
        assertMayEnrol(ctx, subject, METHOD[channel]);
        let destination = subject.user.email;
        if (input) {
          const phone = parsePhone(input.phone, input.country?.toUpperCase());
          if (!phone) throw new StepUpError('invalid_request', 'The phone number is not valid.');
          destination = phone;
        }
        const sent = await sendCode(ctx, metaOf(req), { user: subject.user, channel, purpose: 'enrol', binding: subject.binding, destination });
        await update(req, withOobEnrolment(subject.mfa, { channel, destination, bindingId: subject.binding }, ctx.now()));
        res.status(202).json(sent);
      }),
    );

    r.post(
      `/${channel}/verify`,
      h(async (req, res) => {
        const { code } = body(codeOnly, req);
        const subject = await loadSubject(ctx, subjectRef(ctx, req, true));
        const enrolment = subject.mfa.oobEnrolment;
        if (!enrolment || enrolment.channel !== channel) throw new StepUpError('not_found', 'Start the enrolment first.');
        assertMayEnrol(ctx, subject, METHOD[channel]);
        // The same pipeline as a login or step-up: budgets, lock, audit of failures.
        const meta = metaOf(req);
        const validFrom = subject.mfa.validFrom ?? subject.mfa.authTime ?? 0;
        await verifySecondFactor(ctx, { target: { purpose: 'enrol', tenantId: subject.tenantId, userId: subject.userId, binding: enrolment.bindingId, validFrom, channel }, method: METHOD[channel], code, meta });
        const { user } = subject;
        const at = new Date(ctx.now());
        const first = !hasFactor(user);
        const backup = first ? newBackupCodeSet(ctx) : undefined;
        const patch: UserPatch = {
          mfa: { ...(backup?.patch.mfa ?? {}), lastVerifiedAt: at, ...(channel === 'email' ? { email: { enabledAt: at } } : { sms: { phone: enrolment.destination, enabledAt: at } }) },
        };
        await ctx.users.update(user.tenantId, user.id, patch);
        await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'mfa_enrolled', details: { method: METHOD[channel] } });
        // The notice goes to the account's email: the independent channel for a new phone too.
        ctx.notify(user, { event: 'factor_added', method: METHOD[channel] });
        await finishEnrolment(ctx, req, subject, METHOD[channel]);
        res.set('Cache-Control', 'no-store');
        res.json({ enabled: true, ...(backup ? { backupCodes: backup.codes } : {}) });
      }),
    );
  }
  return r;
}
