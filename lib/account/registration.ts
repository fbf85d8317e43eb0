import type { RequestMeta } from '../types';
import { StepUpError } from '../errors';
import { registrationExistsMessage, verificationMessage } from '../delivery/messages';
import { maskEmail } from '../delivery/mask';
import type { PendingLogin } from '../state/machine';
import { normaliseEmail, type TenantRecord, type UserRecord } from '../types';
import { minutesOf, type LifecycleKit } from './kit';

export interface RegisterInput {
  tenant: string;
  email: string;
  password: string;
  name?: string;
}

/**
 * `POST /auth/register` (MFA-19, MFA-20, ATK-13). Before the answer: the password's length (400 for
 * everyone), the caller's IP budget (429), the address's send budget, and one argon2id hash of the
 * password, whatever follows. Everything that depends on the tenant or the address (is registration
 * on? does the account exist?) runs after the 202 has been sent, so neither the answer nor its timing
 * can tell. Then: a new account (role `user`, unverified, self-registered) and a verification link, or
 * a "you already have an account" note to an existing one; an unknown tenant or a tenant without
 * self-registration gets no account and no mail.
 */
export async function register(kit: LifecycleKit, meta: RequestMeta, input: RegisterInput): Promise<void> {
  const { ctx, settings } = kit;
  kit.requireMailer();
  kit.checkPasswordLength(input.password);
  await kit.ipBudget(meta);
  const email = normaliseEmail(input.email);
  const addressWait = await kit.limiter.reserve('verify', `${input.tenant}\n${email}`, settings.sendsPerHour, settings.cooldownSeconds);
  const passwordHash = await ctx.hasher.hash(input.password);
  kit.defer('register', async () => {
    const tenant = await ctx.tenants.findBySlug(input.tenant);
    if (!tenant) return;
    if (tenant.policy.selfRegistration !== true) {
      await ctx.record(meta, { tenantId: tenant.id, type: 'registration_refused', details: { reason: 'self_registration_off' } });
      return;
    }
    if (addressWait !== null) {
      await ctx.record(meta, { tenantId: tenant.id, type: 'lifecycle_mail_suppressed', details: { kind: 'verify' } });
      return;
    }
    const existing = await ctx.users.findByEmail(tenant.id, email);
    if (existing) return alreadyRegistered(kit, meta, existing);
    let user: UserRecord;
    try {
      user = await ctx.users.create({
        tenantId: tenant.id,
        email,
        name: input.name,
        roles: ['user'],
        passwordHash,
        emailVerifiedAt: null,
        selfRegistered: true,
        createdAt: new Date(ctx.now()),
      });
    } catch (err) {
      if (!(err instanceof StepUpError && err.code === 'conflict')) throw err;
      // A concurrent registration won: this one is a duplicate like any other.
      const raced = await ctx.users.findByEmail(tenant.id, email);
      if (raced) await alreadyRegistered(kit, meta, raced);
      return;
    }
    // An adapter that keeps only the fields it knows gets the flag by patch (the memory one; Mongo stores it at once).
    if (user.selfRegistered !== true) user = (await ctx.users.update(tenant.id, user.id, { selfRegistered: true })) ?? user;
    await ctx.record(meta, { tenantId: tenant.id, userId: user.id, actorId: user.id, type: 'user_registered', details: { role: 'user' } });
    await sendVerification(kit, meta, user, tenant);
  });
}

async function alreadyRegistered(kit: LifecycleKit, meta: RequestMeta, user: UserRecord): Promise<void> {
  const { ctx } = kit;
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, type: 'registration_duplicate', details: { disabled: Boolean(user.disabledAt) } });
  if (user.disabledAt) return;
  await kit.mail(user.email, registrationExistsMessage({ appName: ctx.opts.issuer, forgotLink: kit.settings.links.forgotPassword }), 'registration_exists');
}

/** A new verification link (the previous one stops working). True when the mail was handed over. */
async function sendVerification(kit: LifecycleKit, meta: RequestMeta, user: UserRecord, tenant: TenantRecord): Promise<boolean> {
  const { ctx, settings } = kit;
  const { token } = await kit.tokens.issue('verify', { tenantId: tenant.id, userId: user.id }, settings.verifyTtlSeconds);
  const content = verificationMessage({ token, link: settings.links.verifyEmail, minutes: minutesOf(settings.verifyTtlSeconds), appName: ctx.opts.issuer });
  const sent = await kit.mail(user.email, content, 'verification');
  await ctx.record(meta, { tenantId: tenant.id, userId: user.id, actorId: user.id, type: 'email_verification_sent', details: { delivered: sent } });
  return sent;
}

/**
 * `POST /auth/verify-email {token}`: burns the token (single use, 24 h on the injected clock, current
 * one only) and marks the address verified. Logs nobody in. Every refusal is the same 401.
 */
export async function verifyEmail(kit: LifecycleKit, meta: RequestMeta, token: string): Promise<void> {
  const { ctx } = kit;
  const ipKey = meta.ip ?? 'unknown';
  await ctx.limits.passwordIp.assertOpen(ipKey);
  const subject = await kit.tokens.consume('verify', token);
  const user = subject ? await ctx.users.findById(subject.tenantId, subject.userId) : null;
  if (!user || user.disabledAt) {
    await ctx.limits.passwordIp.hit(ipKey);
    throw new StepUpError('invalid_code', 'The link is not valid or has expired.');
  }
  if (!user.emailVerifiedAt) await ctx.users.update(user.tenantId, user.id, { emailVerifiedAt: new Date(ctx.now()) });
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'email_verified' });
}

/**
 * `POST /auth/verify-email/resend {}` from a `verification_required` session (the password was
 * right): a new link to the account's own address. Its caps answer 429 here: the caller has proved
 * the password, so they tell nothing new.
 */
export async function resendVerification(kit: LifecycleKit, meta: RequestMeta, pending: PendingLogin): Promise<{ sentTo: string; expiresIn: number }> {
  const { ctx, settings } = kit;
  kit.requireMailer();
  const [user, tenant] = await Promise.all([ctx.users.findById(pending.tenantId, pending.userId), ctx.tenants.findById(pending.tenantId)]);
  if (!user || !tenant || user.disabledAt) throw new StepUpError('unauthenticated');
  if (user.emailVerifiedAt) throw new StepUpError('conflict', 'The address is already verified; sign in again.');
  await kit.ipBudget(meta);
  const wait = await kit.limiter.reserve('verify', `${tenant.slug}\n${user.email}`, settings.sendsPerHour, settings.cooldownSeconds);
  if (wait !== null) throw new StepUpError('rate_limited', undefined, { retryAfterSeconds: wait });
  if (!(await sendVerification(kit, meta, user, tenant))) throw new StepUpError('delivery_failed');
  return { sentTo: maskEmail(user.email), expiresIn: settings.verifyTtlSeconds };
}
