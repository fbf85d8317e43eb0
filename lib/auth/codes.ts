import type { Request } from 'express';
import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import { codeMessage, smsCodeText } from '../delivery/messages';
import { maskEmail, maskPhone } from '../delivery/mask';
import type { OobChannel, OobPurpose } from '../factors/oob';
import { factorVerifiers, type FactorVerifier } from './second-factor';
import type { UserRecord } from '../types';

const channelVerifier =
  (channel: OobChannel): FactorVerifier =>
  async (ctx, { user, code, purpose, binding }) => {
    if (channel === 'email' ? !user.mfa.email : !user.mfa.sms) return false;
    const result = await ctx.oob.verify({ tenantId: user.tenantId, userId: user.id, purpose, channel, binding, code });
    return result === 'ok';
  };

factorVerifiers.email_otp = channelVerifier('email');
factorVerifiers.sms_otp = channelVerifier('sms');

/**
 * Issues a code and delivers it. The destination always comes from the server (the user record or
 * the enrolment in the session), never from the request (MFA-42). A delivery failure is a 502.
 */
export async function sendCode(
  ctx: StepUpContext,
  req: Request,
  input: { user: UserRecord; channel: OobChannel; purpose: OobPurpose; binding: string; destination: string },
): Promise<{ sentTo: string; expiresIn: number }> {
  const { user, channel, purpose, binding, destination } = input;
  const sender = channel === 'email' ? ctx.opts.mailer : ctx.opts.sms;
  if (!sender) throw new StepUpError('method_not_allowed', `No ${channel === 'email' ? 'mailer' : 'SMS sender'} is configured.`);
  const { code, expiresInSeconds } = await ctx.oob.issue({ tenantId: user.tenantId, userId: user.id, purpose, channel, binding, destination, ip: req.ip });
  const minutes = Math.max(1, Math.round(expiresInSeconds / 60));
  try {
    if (channel === 'email') await ctx.opts.mailer!.send({ to: destination, ...codeMessage({ purpose, code, minutes, appName: ctx.opts.issuer }) });
    else await ctx.opts.sms!.send({ to: destination, text: smsCodeText({ purpose, code, minutes, appName: ctx.opts.issuer }) });
  } catch (err) {
    ctx.logger.warn('code delivery failed', { channel, tenantId: user.tenantId, userId: user.id, err: (err as Error).message });
    throw err instanceof StepUpError ? err : new StepUpError('delivery_failed');
  }
  await ctx.record(req, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'mfa_code_sent', details: { channel, purpose } });
  return { sentTo: channel === 'email' ? maskEmail(destination) : maskPhone(destination), expiresIn: expiresInSeconds };
}
