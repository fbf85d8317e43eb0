import type { RequestMeta } from '../types';
import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import { createTenant, createUser } from './provision';
import { lifecycleTokens } from '../account/index';
import { applyPolicyPatch, type PolicyPatch } from './policy';
import { PLATFORM_SLUG, type Actor } from './scope';
import { enrolledFactors } from '../state/policy';
import { DEFAULT_POLICY, normaliseEmail, type Role, type TenantRecord, type UserRecord } from '../types';

// Tenant and user administration: what the admin API, the CLI and the example app's bootstrap share.
// The routes only check who may act on which tenant; everything here assumes that was done.

// Who acted, as the user's own security events may show it: the role, never the admin's IP or tenant (SR-6).
const actorDetails = (actor: Actor | null) =>
  actor ? { actorTenantId: actor.user.tenantId, actorRole: actor.superadmin ? 'superadmin' : 'admin' } : { via: 'operator', actorRole: 'operator' };

export interface ProvisionedTenant {
  tenant: TenantRecord;
  admin: UserRecord;
  /** The first admin's random password: returned once, stored only as an argon2id hash. */
  initialPassword: string;
}

/** A tenant and its first admin (who must enrol a factor at first login: admins always need one). */
export async function provisionTenant(
  ctx: StepUpContext,
  meta: RequestMeta | null,
  actor: Actor | null,
  input: { slug: string; name: string; policy?: PolicyPatch; admin: { email: string; name?: string } },
): Promise<ProvisionedTenant> {
  // The platform tenant is made by the bootstrap only (with its superadmin), never as a customer tenant.
  if (input.slug === PLATFORM_SLUG) throw new StepUpError('conflict', 'The slug "platform" is reserved.');
  const policy = applyPolicyPatch(DEFAULT_POLICY, input.policy ?? {}, ctx.now());
  const tenant = await createTenant(ctx, { slug: input.slug, name: input.name, policy });
  await ctx.record(meta, { tenantId: tenant.id, userId: null, actorId: actor?.user.id ?? null, type: 'tenant_created', details: { slug: tenant.slug, ...actorDetails(actor) } });
  const first = await provisionUser(ctx, meta, actor, tenant, { ...input.admin, role: 'admin' });
  return { tenant, admin: first.user, initialPassword: first.initialPassword };
}

/** A user with a random initial password; a duplicate email in the tenant is 409 `conflict`. */
export async function provisionUser(
  ctx: StepUpContext,
  meta: RequestMeta | null,
  actor: Actor | null,
  tenant: TenantRecord,
  input: { email: string; name?: string; role: Role },
): Promise<{ user: UserRecord; initialPassword: string }> {
  // Superadmins exist only in the platform tenant, and only through the bootstrap.
  if (input.role === 'superadmin') throw new StepUpError('forbidden');
  const { user, initialPassword } = await createUser(ctx, { tenantId: tenant.id, email: input.email, name: input.name, roles: [input.role] });
  await ctx.record(meta, { tenantId: tenant.id, userId: user.id, actorId: actor?.user.id ?? null, type: 'user_provisioned', details: { role: input.role, ...actorDetails(actor) } });
  return { user, initialPassword: initialPassword! };
}

/**
 * Admin-assisted recovery (MFA-49, MFA-52): removes every factor and backup code, so the next login
 * must enrol again, and ends every session of the user (their sockets close). The admin never sees
 * or chooses a credential. Returns how many sessions ended.
 */
export async function resetUserMfa(ctx: StepUpContext, meta: RequestMeta, actor: Actor, tenant: TenantRecord, userId: string): Promise<number> {
  const target = await ctx.users.findById(tenant.id, userId);
  if (!target) throw new StepUpError('not_found');
  // Self-service has its own routes (with the step-up of the factor being changed).
  if (target.id === actor.user.id) throw new StepUpError('forbidden', 'Manage your own factors under /auth/mfa.');
  const removed = enrolledFactors(target);
  // The mark before the factors go (SR-1, SR-13): no session of the user outlives the reset, even one in flight.
  const { at, ended } = await ctx.sessions.endAll(tenant.id, target.id, 'mfa_reset');
  const updated = await ctx.users.update(tenant.id, target.id, {
    sessionsValidAfter: new Date(at),
    lockCount: 0,
    lockedUntil: null,
    rememberedDevices: [],
    mfa: { totp: null, email: null, sms: null, webauthn: [], backupCodes: [], backupCodeSalt: null, backupCodeKeyId: null },
  });
  if (!updated) throw new StepUpError('not_found');
  await ctx.record(meta, {
    tenantId: tenant.id,
    userId: target.id,
    actorId: actor.user.id,
    type: 'admin_mfa_reset',
    details: { factors: removed, backupCodes: target.mfa.backupCodes.length, sessionsEnded: ended.length, ...actorDetails(actor) },
  });
  ctx.notify(target, { event: 'admin_mfa_reset' });
  return ended.length;
}

/**
 * Disables or re-enables an account (MFA-17). A disabled account fails the password step exactly like
 * a wrong password (lib/login.ts), every session of it ends at once and its sockets close, and its
 * outstanding verification and reset links stop working. An admin cannot disable (or enable) itself.
 * Disabling an account that is already disabled ends any session again and changes nothing else.
 */
export async function setUserDisabled(
  ctx: StepUpContext,
  meta: RequestMeta,
  actor: Actor,
  tenant: TenantRecord,
  userId: string,
  disabled: boolean,
): Promise<{ user: UserRecord; sessionsEnded: number }> {
  const target = await ctx.users.findById(tenant.id, userId);
  if (!target) throw new StepUpError('not_found');
  if (target.id === actor.user.id) throw new StepUpError('forbidden', 'You cannot disable or enable your own account.');
  if (!disabled) {
    if (!target.disabledAt) return { user: target, sessionsEnded: 0 };
    const updated = await ctx.users.update(tenant.id, target.id, { disabledAt: null });
    if (!updated) throw new StepUpError('not_found');
    await ctx.record(meta, { tenantId: tenant.id, userId: target.id, actorId: actor.user.id, type: 'user_enabled', details: { ...actorDetails(actor) } });
    return { user: updated, sessionsEnded: 0 };
  }
  // The mark first (no session of the user loads from here on, HTTP or WebSocket), then the flag (no
  // password step succeeds), then the indexed sessions are destroyed and their sockets closed.
  const { at, ended } = await ctx.sessions.endAll(tenant.id, target.id, 'user_disabled');
  const updated = target.disabledAt ? target : await ctx.users.update(tenant.id, target.id, { disabledAt: new Date(at), sessionsValidAfter: new Date(at), rememberedDevices: [] });
  if (!updated) throw new StepUpError('not_found');
  const tokens = lifecycleTokens(ctx);
  await Promise.all([tokens.revoke('verify', { tenantId: tenant.id, userId: target.id }), tokens.revoke('reset', { tenantId: tenant.id, userId: target.id })]);
  if (!target.disabledAt || ended.length) {
    await ctx.record(meta, { tenantId: tenant.id, userId: target.id, actorId: actor.user.id, type: 'user_disabled', details: { sessionsEnded: ended.length, ...actorDetails(actor) } });
  }
  return { user: updated, sessionsEnded: ended.length };
}

/** Applies a policy patch; it takes effect at each user's next login or step-up. */
export async function updateTenantPolicy(ctx: StepUpContext, meta: RequestMeta, actor: Actor, tenant: TenantRecord, patch: PolicyPatch): Promise<TenantRecord> {
  const policy = applyPolicyPatch(tenant.policy, patch, ctx.now());
  const updated = await ctx.tenants.updatePolicy(tenant.id, policy);
  if (!updated) throw new StepUpError('not_found');
  await ctx.record(meta, { tenantId: tenant.id, userId: null, actorId: actor.user.id, type: 'policy_updated', details: { changes: { ...patch }, ...actorDetails(actor) } });
  return updated;
}

export interface BootstrapResult {
  tenant: TenantRecord;
  user: { id: string; email: string };
  created: { tenant: boolean; user: boolean };
}

/**
 * Makes sure the platform tenant and a superadmin with this email exist. Idempotent: a restart (or a
 * second process racing this one) neither duplicates them nor touches an existing account's password
 * or factors. An existing platform user without the role is granted it (audited).
 *
 * @example await stepUp.bootstrapSuperadmin({ email: process.env.STEPUP_SUPERADMIN_EMAIL, password })
 */
export async function bootstrapSuperadmin(ctx: StepUpContext, input: { email: string; password: string }): Promise<BootstrapResult> {
  const email = normaliseEmail(String(input.email ?? ''));
  if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254) throw new TypeError('bootstrapSuperadmin: "email" is not an email address');
  if (typeof input.password !== 'string') throw new TypeError('bootstrapSuperadmin: "password" must be a string');
  const created = { tenant: false, user: false };

  let tenant = await ctx.tenants.findBySlug(PLATFORM_SLUG);
  if (!tenant) {
    try {
      tenant = await createTenant(ctx, { slug: PLATFORM_SLUG, name: 'Platform', policy: { mfaRequired: true, gracePeriodDays: 0 } });
      created.tenant = true;
      await ctx.record(null, { tenantId: tenant.id, type: 'tenant_created', details: { slug: PLATFORM_SLUG, via: 'bootstrap' } });
    } catch (err) {
      if (!(err instanceof StepUpError && err.code === 'conflict')) throw err;
      tenant = await ctx.tenants.findBySlug(PLATFORM_SLUG);
      if (!tenant) throw err;
    }
  }

  let user = await ctx.users.findByEmail(tenant.id, email);
  if (!user) {
    try {
      user = (await createUser(ctx, { tenantId: tenant.id, email, password: input.password, roles: ['superadmin'] })).user;
      created.user = true;
      await ctx.record(null, { tenantId: tenant.id, userId: user.id, type: 'user_provisioned', details: { role: 'superadmin', via: 'bootstrap' } });
    } catch (err) {
      if (!(err instanceof StepUpError && err.code === 'conflict')) throw err;
      user = await ctx.users.findByEmail(tenant.id, email);
      if (!user) throw err;
    }
  }
  if (!user.roles.includes('superadmin')) {
    user = (await ctx.users.update(tenant.id, user.id, { roles: [...user.roles, 'superadmin'] })) ?? user;
    await ctx.record(null, { tenantId: tenant.id, userId: user.id, type: 'role_granted', details: { role: 'superadmin', via: 'bootstrap' } });
  }
  return { tenant, user: { id: user.id, email: user.email }, created };
}
