import { authenticatedSession, checkAuthenticated, checkPending, decideAfterPassword, enrollableMethods, isPrivileged, isStepUpFresh, pendingSession, type MfaSession } from '../../lib/state/machine';
import { DEFAULT_POLICY, type Role, type StepUpUser, type TenantPolicy, type TenantRecord, type UserRecord } from '../../lib/types';

const NOW = Date.UTC(2030, 0, 10);
const DAY = 86400_000;

function tenant(policy: Partial<TenantPolicy> = {}): TenantRecord {
  return { id: 't1', slug: 'acme', name: 'ACME', policy: { ...DEFAULT_POLICY, ...policy }, createdAt: new Date(NOW - 100 * DAY) };
}

function user(o: { roles?: Role[]; totp?: boolean; email?: boolean; codes?: number; createdAt?: number } = {}): UserRecord {
  return {
    id: 'u1',
    tenantId: 't1',
    email: 'alice@example.com',
    roles: o.roles ?? ['user'],
    passwordHash: 'x',
    mfa: {
      totp: o.totp ? { secret: 'v1.k1.x.y.z', enrolledAt: new Date(NOW), lastStep: 0 } : null,
      email: o.email ? { enabledAt: new Date(NOW) } : null,
      backupCodes: Array.from({ length: o.codes ?? 0 }, () => ({ hash: 'h', usedAt: null })),
    },
    createdAt: new Date(o.createdAt ?? NOW - 30 * DAY),
  };
}

const sessionUser: StepUpUser = { id: 'u1', tenantId: 't1', tenant: 'acme', email: 'alice@example.com', roles: ['user'] };

describe('decideAfterPassword', () => {
  it('a user with a factor must present it; methods strongest first', () => {
    expect(decideAfterPassword(user({ totp: true, codes: 10, email: true }), tenant(), NOW)).toEqual({ state: 'mfa_required', methods: ['totp', 'backup_code', 'email_otp'] });
  });

  it('methods outside the tenant policy are not offered; backup codes alone are not a factor', () => {
    expect(decideAfterPassword(user({ totp: true, email: true }), tenant({ allowedMethods: ['email_otp'] }), NOW)).toEqual({ state: 'mfa_required', methods: ['email_otp'] });
    expect(decideAfterPassword(user({ codes: 10 }), tenant(), NOW)).toEqual({ state: 'authenticated', aal: 1 });
  });

  it('no factor and no policy: aal 1', () => {
    expect(decideAfterPassword(user(), tenant(), NOW)).toEqual({ state: 'authenticated', aal: 1 });
  });

  it.each<Role>(['admin', 'superadmin'])('a %s without a factor must enrol, whatever the policy, with no grace', (role) => {
    const u = user({ roles: [role], createdAt: NOW - 1000 });
    expect(decideAfterPassword(u, tenant({ gracePeriodDays: 30 }), NOW)).toEqual({ state: 'enrollment_required', methods: ['totp', 'email_otp', 'sms_otp'] });
    expect(decideAfterPassword(u, tenant({ mfaRequired: true, allowedMethods: ['totp', 'backup_code'] }), NOW)).toEqual({ state: 'enrollment_required', methods: ['totp'] });
    expect(isPrivileged([role])).toBe(true);
  });

  it('mfaRequired: aal 1 with a deadline inside the grace period, enrolment after it', () => {
    const since = NOW - 3 * DAY;
    const t = tenant({ mfaRequired: true, gracePeriodDays: 7, mfaRequiredSince: new Date(since) });
    const u = user({ createdAt: NOW - 30 * DAY });
    expect(decideAfterPassword(u, t, NOW)).toEqual({ state: 'authenticated', aal: 1, enrollmentDeadline: since + 7 * DAY });
    expect(decideAfterPassword(u, t, since + 7 * DAY - 1).state).toBe('authenticated');
    expect(decideAfterPassword(u, t, since + 7 * DAY)).toEqual({ state: 'enrollment_required', methods: ['totp', 'email_otp', 'sms_otp'] });
  });

  it('grace counts from the later of the policy change and the user creation; 0 days means none', () => {
    const t = tenant({ mfaRequired: true, gracePeriodDays: 7, mfaRequiredSince: new Date(NOW - 30 * DAY).toISOString() });
    expect(decideAfterPassword(user({ createdAt: NOW - DAY }), t, NOW)).toEqual({ state: 'authenticated', aal: 1, enrollmentDeadline: NOW + 6 * DAY });
    expect(decideAfterPassword(user(), t, NOW).state).toBe('enrollment_required');
    expect(decideAfterPassword(user({ createdAt: NOW - 1 }), tenant({ mfaRequired: true, gracePeriodDays: 0 }), NOW).state).toBe('enrollment_required');
  });

  it('enrollableMethods follows the policy and never lists backup codes', () => {
    expect(enrollableMethods({ ...DEFAULT_POLICY })).toEqual(['totp', 'email_otp', 'sms_otp']);
    expect(enrollableMethods({ ...DEFAULT_POLICY, allowedMethods: ['backup_code', 'sms_otp'] })).toEqual(['sms_otp']);
    expect(isPrivileged(['user'])).toBe(false);
  });
});

describe('checkPending', () => {
  const pending = pendingSession('mfa_required', user({ totp: true }), tenant(), ['totp'], 'p1', NOW, 300);

  it('holds what the next step needs and expires after the TTL', () => {
    expect(pending).toMatchObject({ state: 'mfa_required', authTime: NOW, pending: { id: 'p1', userId: 'u1', tenantId: 't1', tenant: 'acme', methods: ['totp'], expiresAt: NOW + 300_000 } });
    expect(pending.aal).toBeUndefined();
    expect(checkPending(pending, 'mfa_required', NOW + 299_999)).toEqual({ ok: true, pending: pending.pending });
    expect(checkPending(pending, 'mfa_required', NOW + 300_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses another state, no session, no pending, and an authenticated session', () => {
    expect(checkPending(pending, 'enrollment_required', NOW)).toEqual({ ok: false, reason: 'none' });
    expect(checkPending(undefined, 'mfa_required', NOW)).toEqual({ ok: false, reason: 'none' });
    expect(checkPending({ state: 'mfa_required' }, 'mfa_required', NOW)).toEqual({ ok: false, reason: 'none' });
    const full = authenticatedSession(2, NOW, DEFAULT_POLICY);
    expect(checkPending(full, 'mfa_required', NOW)).toEqual({ ok: false, reason: 'none' });
  });
});

describe('checkAuthenticated', () => {
  const t = { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43200 };
  const full = (o: Partial<MfaSession> = {}): MfaSession => ({ ...authenticatedSession(2, NOW, DEFAULT_POLICY), ...o });

  it('ok inside both timeouts', () => {
    expect(checkAuthenticated(full(), sessionUser, NOW + 1799_000, t)).toBe('ok');
  });

  it('idle after 1800 s without activity', () => {
    expect(checkAuthenticated(full(), sessionUser, NOW + 1800_000, t)).toBe('idle_expired');
  });

  it('absolute after 43200 s from authTime even with recent activity', () => {
    const s = full({ lastSeen: NOW + 43199_000 });
    expect(checkAuthenticated(s, sessionUser, NOW + 43199_999, t)).toBe('ok');
    expect(checkAuthenticated(s, sessionUser, NOW + 43200_000, t)).toBe('absolute_expired');
  });

  it('a missing authTime or lastSeen never passes; pending, no user or no session are "none"', () => {
    expect(checkAuthenticated(full({ authTime: undefined }), sessionUser, NOW, t)).toBe('absolute_expired');
    expect(checkAuthenticated(full({ lastSeen: undefined }), sessionUser, NOW, t)).toBe('idle_expired');
    expect(checkAuthenticated(pendingSession('mfa_required', user(), tenant(), ['totp'], 'p', NOW, 300), sessionUser, NOW, t)).toBe('none');
    expect(checkAuthenticated(full(), undefined, NOW, t)).toBe('none');
    expect(checkAuthenticated(undefined, sessionUser, NOW, t)).toBe('none');
  });

  it('authenticatedSession keeps authTime from the pending login and sets mfaVerifiedAt only at aal 2', () => {
    const prev = pendingSession('mfa_required', user(), tenant(), ['totp'], 'p', NOW - 60_000, 300);
    const s = authenticatedSession(2, NOW, { ...DEFAULT_POLICY, stepUpMaxAgeSeconds: 600 }, prev);
    expect(s).toMatchObject({ state: 'authenticated', aal: 2, authTime: NOW - 60_000, mfaVerifiedAt: NOW, lastSeen: NOW, stepUpMaxAgeSeconds: 600 });
    expect(s.pending).toBeUndefined();
    expect(authenticatedSession(1, NOW, DEFAULT_POLICY).mfaVerifiedAt).toBeUndefined();
  });
});

describe('isStepUpFresh', () => {
  it('true up to maxAge seconds after the last verification, false after or without one', () => {
    const s = authenticatedSession(2, NOW, DEFAULT_POLICY);
    expect(isStepUpFresh(s, NOW + 300_000, 300)).toBe(true);
    expect(isStepUpFresh(s, NOW + 300_001, 300)).toBe(false);
    expect(isStepUpFresh(authenticatedSession(1, NOW, DEFAULT_POLICY), NOW, 300)).toBe(false);
    expect(isStepUpFresh(undefined, NOW, 300)).toBe(false);
  });
});
