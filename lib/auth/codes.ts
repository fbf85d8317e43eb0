import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import { codeMessage, smsCodeText } from '../delivery/messages';
import { maskEmail, maskPhone } from '../delivery/mask';
import type { OobChannel, OobPurpose } from '../factors/oob';
import type { RequestMeta, UserRecord } from '../types';

/**
 * Issues a code and delivers it. The destination always comes from the server (the user record or
 * the enrolment in the session), never from the request (MFA-42). A delivery failure is a 502.
 */
export async function sendCode(
  ctx: StepUpContext,
  meta: RequestMeta,
  input: { user: UserRecord; channel: OobChannel; purpose: OobPurpose; binding: string; destination: string },
): Promise<{ sentTo: string; expiresIn: number }> {
  const { user, channel, purpose, binding, destination } = input;
  const sender = channel === 'email' ? ctx.opts.mailer : ctx.opts.sms;
  if (!sender) throw new StepUpError('method_not_allowed', `No ${channel === 'email' ? 'mailer' : 'SMS sender'} is configured.`);
  const { code, expiresInSeconds, undo } = await ctx.oob.issue({ tenantId: user.tenantId, userId: user.id, purpose, channel, binding, destination, ip: meta.ip ?? undefined });
  const minutes = Math.max(1, Math.round(expiresInSeconds / 60));
  // The sender gets deliveryTimeoutSeconds (default 5): a hanging SMTP server or gateway answers 502
  // instead of holding the request. A failed or timed-out delivery gives the send back to every cap
  // (undo), so an outage never leaves the user waiting out a cooldown or an hourly count.
  const timeoutMs = ctx.opts.oob.deliveryTimeoutSeconds * 1000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const sending =
      channel === 'email'
        ? ctx.opts.mailer!.send({ to: destination, ...codeMessage({ purpose, code, minutes, appName: ctx.opts.issuer }) })
        : ctx.opts.sms!.send({ to: destination, text: smsCodeText({ purpose, code, minutes, appName: ctx.opts.issuer }) });
    sending.catch(() => undefined); // a send that loses the race may still fail later
    await Promise.race([
      sending,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('delivery timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
      }),
    ]);
  } catch (err) {
    await undo().catch((e: Error) => ctx.logger.warn('could not give a failed send back to the caps', { err: e.message }));
    // An error class name (`TypeError`, `AbortError`) and an errno-style code (`ETIMEDOUT`, `EENVELOPE`)
    // only: a gateway's message, or a custom transport's `name` or `code`, may echo the request (the
    // one-time code, the number), so anything else is left out.
    const { name, code: errCode } = (err ?? {}) as { name?: unknown; code?: unknown };
    ctx.logger.warn('code delivery failed', {
      channel,
      tenantId: user.tenantId,
      userId: user.id,
      err: typeof name === 'string' && /^[A-Z][A-Za-z]{0,39}Error$|^Error$/.test(name) ? name : 'Error',
      errCode: typeof errCode === 'string' && /^[A-Z][A-Z0-9_]{0,39}$/.test(errCode) ? errCode : undefined,
    });
    throw err instanceof StepUpError ? err : new StepUpError('delivery_failed');
  } finally {
    clearTimeout(timer);
  }
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'mfa_code_sent', details: { channel, purpose } });
  return { sentTo: channel === 'email' ? maskEmail(destination) : maskPhone(destination), expiresIn: expiresInSeconds };
}
