import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import { generatePassword } from '../crypto/codes';
import { checkPasswordLength } from '../account/password';
import { DEFAULT_POLICY, normaliseEmail, type Role, type TenantPolicy, type TenantRecord, type UserRecord } from '../types';

export const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export async function createTenant(ctx: StepUpContext, input: { slug: string; name: string; policy?: Partial<TenantPolicy> }): Promise<TenantRecord> {
  if (!SLUG_RE.test(input.slug)) throw new StepUpError('invalid_request', 'The slug must be lower-case letters, digits and dashes.');
  const policy: TenantPolicy = { ...DEFAULT_POLICY, ...(input.policy ?? {}) };
  if (policy.mfaRequired && !policy.mfaRequiredSince) policy.mfaRequiredSince = new Date(ctx.now());
  return ctx.tenants.create({ slug: input.slug, name: input.name, policy });
}

export interface ProvisionedUser {
  user: UserRecord;
  /** Present when the password was generated: shown once, never stored in clear. */
  initialPassword?: string;
}

/** Creates a user with an argon2id hash; generates a random initial password when none is given. */
export async function createUser(
  ctx: StepUpContext,
  input: { tenantId: string; email: string; name?: string; roles?: Role[]; password?: string; emailVerified?: boolean },
): Promise<ProvisionedUser> {
  const initialPassword = input.password === undefined ? generatePassword() : undefined;
  const password = input.password ?? initialPassword!;
  checkPasswordLength(ctx.opts.password, password);
  const user = await ctx.users.create({
    tenantId: input.tenantId,
    email: normaliseEmail(input.email),
    name: input.name,
    roles: input.roles ?? ['user'],
    passwordHash: await ctx.hasher.hash(password),
    emailVerifiedAt: input.emailVerified === false ? null : new Date(ctx.now()),
    createdAt: new Date(ctx.now()),
  });
  return { user, initialPassword };
}
