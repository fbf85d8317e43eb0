import type { Request } from 'express';
import type { StepUpContext } from '../context';
import { normaliseEmail, type TenantRecord, type UserRecord } from '../types';

/**
 * The password step. Unknown tenant, unknown user, disabled user and wrong password all spend one
 * argon2id verification and return false, so neither the answer nor its timing tells them apart.
 */
export async function verifyPassword(
  ctx: StepUpContext,
  req: Request,
  tenantSlug: string,
  emailInput: string,
  password: string,
): Promise<{ user: UserRecord; tenant: TenantRecord } | false> {
  const email = normaliseEmail(emailInput);
  const tenant = await ctx.tenants.findBySlug(tenantSlug);
  const user = tenant ? await ctx.users.findByEmail(tenant.id, email) : null;
  if (!tenant || !user) {
    await ctx.hasher.verifyDummy(password);
    return false;
  }
  const ok = await ctx.hasher.verify(user.passwordHash, password);
  if (!ok || user.disabledAt) {
    await ctx.record(req, { tenantId: tenant.id, userId: user.id, actorId: user.id, type: 'login_failed', details: { step: 'password' } });
    return false;
  }
  if (ctx.hasher.needsRehash(user.passwordHash)) {
    // Parameters changed since this hash was made: redo it now that the password is known.
    const passwordHash = await ctx.hasher.hash(password);
    await ctx.users.update(tenant.id, user.id, { passwordHash });
  }
  return { user, tenant };
}
