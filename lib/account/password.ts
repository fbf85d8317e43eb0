import type { RequestMeta } from '../types';
import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import { stepUpError } from '../auth/step-up';
import type { Subject } from '../auth/subject';

/**
 * THE password rule (MFA-21): a length in characters (code points, as NIST counts them) between the
 * configured bounds, no composition rules. 400 otherwise.
 */
export function checkPasswordLength(bounds: { minLength: number; maxLength: number }, password: string, what = 'The password'): void {
  const n = [...password].length;
  if (n < bounds.minLength || n > bounds.maxLength) throw new StepUpError('invalid_request', `${what} must be ${bounds.minLength} to ${bounds.maxLength} characters.`);
}

/**
 * Self-service password change (MFA-08, MFA-16, MFA-21). The current password is the
 * re-authentication; a user who has a second factor must also have a fresh, strong enough step-up,
 * so a stolen session plus a phished password is not enough. Wrong current passwords count against
 * the same per-account budget as logins. Every session of the user ends (the revocation mark is
 * written before the new hash); the caller re-issues its own session with `keptAfterCredentialChange`.
 * Returns the mark.
 */
export async function changePassword(ctx: StepUpContext, meta: RequestMeta, subject: Subject, input: { currentPassword: string; newPassword: string }): Promise<number> {
  const { user, tenant } = subject;
  const stale = stepUpError(user, tenant, subject.mfa, ctx.now());
  if (stale) throw stale;
  checkPasswordLength(ctx.opts.password, input.newPassword, 'The new password');

  // Same key as the login's account budget: the change form is no side door for guessing.
  const accountKey = `${tenant.slug}:${user.email}`;
  const ipKey = meta.ip ?? 'unknown';
  await ctx.limits.passwordIp.assertOpen(ipKey);
  const attempt = await ctx.limits.passwordAccount.reserve(accountKey);
  if (!(await ctx.hasher.verify(user.passwordHash, input.currentPassword))) {
    await ctx.limits.passwordAccount.failed(accountKey, attempt);
    await ctx.limits.passwordIp.hit(ipKey);
    await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'password_change_failed' });
    throw new StepUpError('invalid_credentials', 'The current password is not correct.');
  }
  await ctx.limits.passwordAccount.succeeded(accountKey);

  const passwordHash = await ctx.hasher.hash(input.newPassword);
  // The mark before the credential (SR-1, SR-13): a crash in between cannot leave old sessions valid.
  const { at, ended } = await ctx.sessions.endAll(user.tenantId, user.id, 'password_changed', meta.sessionId ?? undefined);
  if (!(await ctx.users.update(user.tenantId, user.id, { passwordHash, sessionsValidAfter: new Date(at), rememberedDevices: [] }))) throw new StepUpError('unauthenticated');
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'password_changed', details: { sessionsEnded: ended.length } });
  ctx.notify(user, { event: 'password_changed' });
  return at;
}
