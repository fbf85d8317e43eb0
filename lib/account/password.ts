import type { Request } from 'express';
import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import { isStepUpFresh } from '../state/machine';
import { userMethods } from '../types';

/** Password length in characters (code points), as NIST counts it: no composition rules. */
export function passwordLength(p: string): number {
  return [...p].length;
}

/**
 * Self-service password change (MFA-08, MFA-16, MFA-21). The current password is the
 * re-authentication; a user who has a second factor must also have verified it recently (step-up),
 * so a stolen session plus a phished password is not enough. Wrong current passwords count
 * against the same per-account budget as logins. Ends the user's other sessions; keeps this one.
 */
export async function changePassword(ctx: StepUpContext, req: Request, input: { currentPassword: string; newPassword: string }): Promise<number> {
  const u = req.user!;
  const [user, tenant] = await Promise.all([ctx.users.findById(u.tenantId, u.id), ctx.tenants.findById(u.tenantId)]);
  if (!user || !tenant || user.disabledAt) throw new StepUpError('unauthenticated');

  const methods = userMethods(user, tenant.policy.allowedMethods);
  const mfa = req.session.mfa;
  if (methods.length > 0 && !isStepUpFresh(mfa, ctx.now(), mfa?.stepUpMaxAgeSeconds ?? tenant.policy.stepUpMaxAgeSeconds)) {
    throw new StepUpError('step_up_required', undefined, { body: { methods } });
  }

  const { minLength, maxLength } = ctx.opts.password;
  const n = passwordLength(input.newPassword);
  if (n < minLength || n > maxLength) throw new StepUpError('invalid_request', `The new password must be ${minLength} to ${maxLength} characters.`);

  // Same key as the login's account budget: the change form is no side door for guessing.
  const accountKey = `${tenant.slug}:${user.email}`;
  const ipKey = req.ip ?? 'unknown';
  await ctx.limits.passwordIp.assertOpen(ipKey);
  const attempt = await ctx.limits.passwordAccount.reserve(accountKey);
  if (!(await ctx.hasher.verify(user.passwordHash, input.currentPassword))) {
    await ctx.limits.passwordAccount.failed(accountKey, attempt);
    await ctx.limits.passwordIp.hit(ipKey);
    await ctx.record(req, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'password_change_failed' });
    throw new StepUpError('invalid_credentials', 'The current password is not correct.');
  }
  await ctx.limits.passwordAccount.succeeded(accountKey);

  const passwordHash = await ctx.hasher.hash(input.newPassword);
  if (!(await ctx.users.update(user.tenantId, user.id, { passwordHash }))) throw new StepUpError('unauthenticated');
  const ended = await ctx.sessionIndex.endAll(user.tenantId, user.id, req.sessionID);
  if (ended.length) ctx.events.emitSessionsEnded({ tenantId: user.tenantId, userId: user.id, sessionIds: ended, reason: 'password_changed' });
  await ctx.record(req, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'password_changed', details: { sessionsEnded: ended.length } });
  ctx.notify(user, { event: 'password_changed' });
  return ended.length;
}
