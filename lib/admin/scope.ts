import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import { SLUG_RE } from './provision';
import type { StepUpUser, TenantRecord, UserRecord } from '../types';

/** The tenant superadmins live in. */
export const PLATFORM_SLUG = 'platform';

/** Who is acting on the admin API, re-read from the store (a demoted or disabled admin stops at once). */
export interface Actor {
  user: UserRecord;
  /** Slug of the actor's own tenant (from the session, checked against the stored tenant id). */
  tenant: string;
  superadmin: boolean;
}

/** A superadmin is a user holding the role *and* living in the platform tenant. */
export function isSuperadmin(roles: readonly string[], tenantSlug: string): boolean {
  return roles.includes('superadmin') && tenantSlug === PLATFORM_SLUG;
}

/**
 * The actor behind an authenticated admin request. Roles come from the store, not from the session
 * snapshot: 401 when the account is gone or disabled, 403 unless admin or superadmin.
 */
export async function loadActor(ctx: StepUpContext, u: StepUpUser | undefined): Promise<Actor> {
  if (!u) throw new StepUpError('unauthenticated');
  const user = await ctx.users.findById(u.tenantId, u.id);
  if (!user || user.disabledAt) throw new StepUpError('unauthenticated');
  const superadmin = isSuperadmin(user.roles, u.tenant);
  if (!superadmin && !user.roles.includes('admin')) throw new StepUpError('forbidden');
  return { user, tenant: u.tenant, superadmin };
}

/**
 * The tenant named by the path, if the actor may act on it. The tenant comes from the path and the
 * session only; headers, query and body never name it (MFA-52, ATK-19).
 *
 * - admin, another slug: 403 `forbidden`, decided before any lookup (no tenant-existence oracle);
 * - superadmin, unknown slug: 404 `not_found`.
 */
export async function tenantInScope(ctx: StepUpContext, actor: Actor, slug: string): Promise<TenantRecord> {
  if (!actor.superadmin && slug !== actor.tenant) throw new StepUpError('forbidden');
  const tenant = SLUG_RE.test(slug) ? await ctx.tenants.findBySlug(slug) : null;
  if (!tenant) throw new StepUpError(actor.superadmin ? 'not_found' : 'forbidden');
  // The session's slug and the stored tenant must agree (a renamed or recreated tenant is not ours).
  if (!actor.superadmin && tenant.id !== actor.user.tenantId) throw new StepUpError('forbidden');
  return tenant;
}
