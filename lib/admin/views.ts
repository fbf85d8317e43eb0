import { maskPhone } from '../delivery/mask';
import { mfaStatus } from '../auth/enrolment';
import type { AuditEvent, TenantRecord, UserRecord } from '../types';
import { policyView } from './policy';

// Views are allow-lists: a field added to a record later stays private until it is added here.
// Never: passwordHash, mfa.totp.secret, backup-code hashes or salt, key ids.

const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

export function userView(user: UserRecord) {
  return {
    id: user.id,
    email: user.email,
    name: user.name ?? null,
    roles: [...user.roles],
    createdAt: iso(user.createdAt),
    emailVerifiedAt: iso(user.emailVerifiedAt),
    disabledAt: iso(user.disabledAt),
    mfa: mfaStatus(user, maskPhone),
  };
}

export function tenantView(tenant: TenantRecord) {
  return { id: tenant.id, slug: tenant.slug, name: tenant.name, policy: policyView(tenant.policy), createdAt: iso(tenant.createdAt) };
}

export function auditView(e: AuditEvent) {
  return {
    type: e.type,
    at: iso(e.at),
    userId: e.userId ?? null,
    actorId: e.actorId ?? null,
    ip: e.ip ?? null,
    userAgent: e.userAgent ?? null,
    details: e.details ?? {},
  };
}

/**
 * One of the user's own security events, as the user may see it (SR-6): what happened and when; the
 * user's own IP and browser for what the user did; for what an administrator did, only the role
 * ("admin", "superadmin", "operator"): never the admin's IP, browser, id or tenant.
 */
export function securityEventView(e: AuditEvent) {
  const byOther = Boolean(e.actorId && e.actorId !== e.userId) || (e.details as { via?: string } | undefined)?.via === 'operator';
  const { actorTenantId: _t, actorRole, via: _v, ...details } = (e.details ?? {}) as Record<string, unknown>;
  return {
    type: e.type,
    at: iso(e.at),
    actor: byOther ? String(actorRole ?? 'admin') : 'you',
    ip: byOther ? null : (e.ip ?? null),
    userAgent: byOther ? null : (e.userAgent ?? null),
    details,
  };
}
