import { Router, type Request } from 'express';
import { z } from 'zod';
import type { StepUpContext } from '../lib/context';
import { StepUpError } from '../lib/errors';
import { assertMayEnrol, newBackupCodeSet } from '../lib/auth/enrolment';
import { sendCode } from '../lib/auth/codes';
import { parsePhone } from '../lib/delivery/phone';
import { saveSession } from './http-session';
import { factorTarget, subjectOf } from '../lib/auth/subject';
import { hasPrimaryFactor, type Method, type UserPatch } from '../lib/types';
import type { OobChannel } from '../lib/factors/oob';
import { afterEnrolment } from './mfa';
import { body, h } from './http';

const empty = z.strictObject({});
const codeOnly = z.strictObject({ code: z.string().regex(/^[0-9]{6}$/) });
const phoneBody = z.strictObject({ phone: z.string().min(3).max(32), country: z.string().regex(/^[A-Za-z]{2}$/).optional() });

const METHOD: Record<OobChannel, Method> = { email: 'email_otp', sms: 'sms_otp' };

/**
 * `POST /send`: a code for the login waiting in this session (purpose login, bound to the pending
 * login) or for a step-up of the authenticated user (bound to this session).
 */
async function sendForChallenge(ctx: StepUpContext, req: Request, channel: OobChannel) {
  const { user, purpose, binding } = await factorTarget(ctx, req, METHOD[channel]);
  const destination = channel === 'email' ? user.mfa.email && user.email : user.mfa.sms?.phone;
  if (!destination) throw new StepUpError('method_not_allowed');
  return sendCode(ctx, req, { user, channel, purpose, binding, destination });
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
        const subject = await subjectOf(ctx, req, true);
        if (channel === 'email' && subject.user.mfa.email) throw new StepUpError('already_enrolled');
        // A new phone is a new authenticator: the same step-up rule as adding any factor.
        assertMayEnrol(ctx, subject, req.session.mfa, METHOD[channel]);
        let destination = subject.user.email;
        if (input) {
          const phone = parsePhone(input.phone, input.country?.toUpperCase());
          if (!phone) throw new StepUpError('invalid_request', 'The phone number is not valid.');
          destination = phone;
        }
        const binding = subject.kind === 'enrolling' ? req.session.mfa!.pending!.id : (req.session.bindingId ?? req.sessionID);
        const sent = await sendCode(ctx, req, { user: subject.user, channel, purpose: 'enrol', binding, destination });
        req.session.mfa!.oobEnrolment = { channel, destination, bindingId: binding, startedAt: ctx.now() };
        await saveSession(req);
        res.status(202).json(sent);
      }),
    );

    r.post(
      `/${channel}/verify`,
      h(async (req, res) => {
        const { code } = body(codeOnly, req);
        const subject = await subjectOf(ctx, req, true);
        const enrolment = req.session.mfa?.oobEnrolment;
        if (!enrolment || enrolment.channel !== channel) throw new StepUpError('not_found', 'Start the enrolment first.');
        assertMayEnrol(ctx, subject, req.session.mfa, METHOD[channel]);
        const { user } = subject;
        const key = `${user.tenantId}:${user.id}`;
        const n = await ctx.limits.secondFactor.reserve(key);
        const result = await ctx.oob.verify({ tenantId: user.tenantId, userId: user.id, purpose: 'enrol', channel, binding: enrolment.bindingId, code });
        if (result !== 'ok') {
          await ctx.limits.secondFactor.failed(key, n);
          throw new StepUpError(result === 'expired' ? 'challenge_expired' : 'invalid_code');
        }
        await ctx.limits.secondFactor.succeeded(key);
        const at = new Date(ctx.now());
        const first = !hasPrimaryFactor(user);
        const backup = first ? newBackupCodeSet(ctx) : undefined;
        const patch: UserPatch = {
          mfa: { ...(backup?.patch.mfa ?? {}), lastVerifiedAt: at, ...(channel === 'email' ? { email: { enabledAt: at } } : { sms: { phone: enrolment.destination, enabledAt: at } }) },
        };
        await ctx.users.update(user.tenantId, user.id, patch);
        delete req.session.mfa!.oobEnrolment;
        await ctx.record(req, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'mfa_enrolled', details: { method: METHOD[channel] } });
        // The notice goes to the account's email: the independent channel for a new phone too.
        ctx.notify(user, { event: 'factor_added', method: METHOD[channel] });
        await afterEnrolment(ctx, req, subject, METHOD[channel]);
        res.set('Cache-Control', 'no-store');
        res.json({ enabled: true, ...(backup ? { backupCodes: backup.codes } : {}) });
      }),
    );
  }
  return r;
}
