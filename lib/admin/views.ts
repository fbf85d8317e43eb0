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
