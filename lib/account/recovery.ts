import type { RequestMeta } from '../types';
import { StepUpError } from '../errors';
import { passwordResetMessage } from '../delivery/messages';
import { normaliseEmail } from '../types';
import { minutesOf, type LifecycleKit } from './kit';

/**
 * `POST /auth/password/forgot {tenant, email}` (ATK-13): the IP budget (429) and the address's send
 * budget are checked for every input; the lookup, the token and the mail run after the 202, so the
 * answer and its timing are the same for unknown tenants, unknown, disabled and real accounts. A new
 * token makes the previous one stop working.
 */
export async function forgotPassword(kit: LifecycleKit, meta: RequestMeta, input: { tenant: string; email: string }): Promise<void> {
  const { ctx, settings } = kit;
  kit.requireMailer();
  await kit.ipBudget(meta);
  const email = normaliseEmail(input.email);
  const addressWait = await kit.limiter.reserve('reset', `${input.tenant}\n${email}`, settings.sendsPerHour, settings.cooldownSeconds);
  kit.defer('forgot', async () => {
    const tenant = await ctx.tenants.findBySlug(input.tenant);
    const user = tenant ? await ctx.users.findByEmail(tenant.id, email) : null;
    if (!tenant || !user || user.disabledAt) return;
    if (addressWait !== null) {
      await ctx.record(meta, { tenantId: tenant.id, userId: user.id, type: 'lifecycle_mail_suppressed', details: { kind: 'reset' } });
      return;
    }
    const { token } = await kit.tokens.issue('reset', { tenantId: tenant.id, userId: user.id }, settings.resetTtlSeconds);
    const content = passwordResetMessage({ token, link: settings.links.resetPassword, minutes: minutesOf(settings.resetTtlSeconds), appName: ctx.opts.issuer });
    const sent = await kit.mail(user.email, content, 'password_reset');
    await ctx.record(meta, { tenantId: tenant.id, userId: user.id, type: 'password_reset_requested', details: { delivered: sent } });
  });
}

/**
 * `POST /auth/password/reset {token, newPassword}` (MFA-49, MFA-50, ATK-24). The length is checked
 * before the token is spent (a typo does not cost the link). Then: the token is burned; the password
 * changes; EVERY session of the user ends, their sockets close; the user is told by mail; nobody is
 * logged in, and the factors stay, so the next login still asks for the second factor. A reset also
 * proves the inbox, so an address not verified yet becomes verified (the owner of an address can take
 * back an account someone else registered with it: its password is replaced and it has no factor).
 */
export interface PasswordResetResult {
  tenantId: string;
  userId: string;
  /** The revocation mark: every session of the user from before it is dead. */
  revokedAt: number;
  sessionsEnded: number;
}

export async function resetPassword(kit: LifecycleKit, meta: RequestMeta, input: { token: string; newPassword: string }): Promise<PasswordResetResult> {
  const { ctx } = kit;
  kit.checkPasswordLength(input.newPassword);
  const ipKey = meta.ip ?? 'unknown';
  await ctx.limits.passwordIp.assertOpen(ipKey);
  const subject = await kit.tokens.consume('reset', input.token);
  const user = subject ? await ctx.users.findById(subject.tenantId, subject.userId) : null;
  if (!user || user.disabledAt) {
    await ctx.limits.passwordIp.hit(ipKey);
    throw new StepUpError('invalid_code', 'The link is not valid or has expired.');
  }
  const passwordHash = await ctx.hasher.hash(input.newPassword);
  // The revocation mark before the credential changes (SR-1, SR-13): a crash between the two leaves
  // the old sessions dead and the old password in place, never the other way round.
  const { at, ended } = await ctx.sessions.endAll(user.tenantId, user.id, 'password_changed');
  const updated = await ctx.users.update(user.tenantId, user.id, {
    passwordHash,
    sessionsValidAfter: new Date(at),
    rememberedDevices: [],
    ...(user.emailVerifiedAt ? {} : { emailVerifiedAt: new Date(at) }),
  });
  if (!updated) throw new StepUpError('invalid_code', 'The link is not valid or has expired.');
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'password_reset', details: { sessionsEnded: ended.length } });
  ctx.notify(updated, { event: 'password_changed' });
  return { tenantId: user.tenantId, userId: user.id, revokedAt: at, sessionsEnded: ended.length };
}
