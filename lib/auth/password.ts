import type { StepUpContext } from '../context';
import { randomId } from '../crypto/codes';
import { decideAfterPassword, passwordSession, pendingSession, type LoginDecision, type MfaSession } from '../state/machine';
import { normaliseEmail, toSessionUser, type RequestMeta, type StepUpUser, type TenantRecord, type UserRecord } from '../types';

/**
 * The password step, under its budgets (per IP and per (tenant, email): 429 with Retry-After). Unknown
 * tenant, unknown user, disabled user and wrong password all spend one argon2id verification and
 * return false, so neither the answer nor its timing tells them apart.
 */
export async function verifyPassword(
  ctx: StepUpContext,
  meta: RequestMeta,
  tenantSlug: string,
  emailInput: string,
  password: string,
): Promise<{ user: UserRecord; tenant: TenantRecord } | false> {
  const email = normaliseEmail(emailInput);
  const accountKey = `${tenantSlug}:${email}`;
  const ipKey = meta.ip ?? 'unknown';
  await ctx.limits.passwordIp.assertOpen(ipKey);
  const attempt = await ctx.limits.passwordAccount.reserve(accountKey);
  const found = await check(ctx, meta, tenantSlug, email, password);
  if (!found) {
    await ctx.limits.passwordAccount.failed(accountKey, attempt);
    await ctx.limits.passwordIp.hit(ipKey);
    return false;
  }
  await ctx.limits.passwordAccount.succeeded(accountKey);
  return found;
}

async function check(ctx: StepUpContext, meta: RequestMeta, tenantSlug: string, email: string, password: string) {
  const tenant = await ctx.tenants.findBySlug(tenantSlug);
  const user = tenant ? await ctx.users.findByEmail(tenant.id, email) : null;
  if (!tenant || !user) {
    await ctx.hasher.verifyDummy(password);
    return false;
  }
  const ok = await ctx.hasher.verify(user.passwordHash, password);
  if (!ok || user.disabledAt) {
    await ctx.record(meta, { tenantId: tenant.id, userId: user.id, actorId: user.id, type: 'login_failed', details: { step: 'password' } });
    return false;
  }
  if (ctx.hasher.needsRehash(user.passwordHash)) {
    // Parameters changed since this hash was made: redo it now that the password is known.
    await ctx.users.update(tenant.id, user.id, { passwordHash: await ctx.hasher.hash(password) });
  }
  return { user, tenant };
}

export type AfterPassword =
  | { state: 'authenticated'; user: StepUpUser; mfa: MfaSession; decision: Extract<LoginDecision, { state: 'authenticated' }> }
  | { state: 'pending'; mfa: MfaSession; decision: Exclude<LoginDecision, { state: 'authenticated' }> };

/** Where a verified password leads (the state machine decides; the HTTP session writes it). Audited. */
export async function afterPassword(ctx: StepUpContext, meta: RequestMeta, user: UserRecord, tenant: TenantRecord): Promise<AfterPassword> {
  const now = ctx.now();
  const decision = decideAfterPassword(user, tenant, now, ctx.opts.emailOtpCountsAsSecondFactor, ctx.unavailableMethods);
  if (decision.state === 'authenticated') {
    const su = toSessionUser(user, tenant.slug);
    await ctx.record(meta, { tenantId: tenant.id, userId: user.id, actorId: user.id, type: 'login_succeeded', details: { aal: 1 } });
    return { state: 'authenticated', user: su, mfa: passwordSession(su, now, tenant.policy, decision.enrollmentDeadline), decision };
  }
  await ctx.record(meta, { tenantId: tenant.id, userId: user.id, actorId: user.id, type: 'login_password_verified', details: { next: decision.state } });
  return { state: 'pending', mfa: pendingSession(decision, user, tenant, randomId(), now, ctx.opts.pendingTtlSeconds), decision };
}

/** A verified second factor of a login: audited as the login's success. */
export async function recordLoginFactor(ctx: StepUpContext, meta: RequestMeta, user: UserRecord, method: string, aal: 1 | 2): Promise<void> {
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'login_succeeded', details: { method, aal } });
}

