import { applyPolicyPatch, policyPatchSchema, policyView } from '../../lib/admin/policy';
import { decideAfterPassword } from '../../lib/state/machine';
import { DEFAULT_POLICY, type Role, type TenantPolicy, type TenantRecord, type UserRecord } from '../../lib/types';

const DAY = 86400_000;
const T = Date.parse('2026-06-01T00:00:00Z');

const user = (createdAt: number, roles: Role[] = ['user'], mfa: Partial<UserRecord['mfa']> = {}): UserRecord => ({
  id: 'u',
  tenantId: 't',
  email: 'u@x.test',
  roles,
  passwordHash: 'h',
  mfa: { backupCodes: [], ...mfa },
  createdAt: new Date(createdAt),
});
const tenant = (policy: TenantPolicy): TenantRecord => ({ id: 't', slug: 'acme', name: 'Acme', policy, createdAt: new Date(0) });

describe('policyPatchSchema', () => {
  const ok = (v: unknown) => policyPatchSchema.safeParse(v).success;

  it('takes the DESIGN ranges', () => {
    for (const v of [{}, { stepUpMaxAgeSeconds: 1 }, { stepUpMaxAgeSeconds: 86400 }, { gracePeriodDays: 0 }, { gracePeriodDays: 365 }, { mfaRequired: true }, { allowedMethods: ['totp'] }, { allowedMethods: ['sms_otp', 'backup_code', 'email_otp', 'totp'] }]) {
      expect([v, ok(v)]).toEqual([v, true]);
    }
  });

  it('refuses out-of-range, mistyped, unknown and server-owned fields', () => {
    for (const v of [
      { stepUpMaxAgeSeconds: 0 },
      { stepUpMaxAgeSeconds: 86401 },
      { stepUpMaxAgeSeconds: 30.5 },
      { stepUpMaxAgeSeconds: '300' },
      { gracePeriodDays: -1 },
      { gracePeriodDays: 366 },
      { gracePeriodDays: null },
      { mfaRequired: 1 },
      { allowedMethods: [] },
      { allowedMethods: ['totp', 'totp'] },
      { allowedMethods: ['password'] },
      { allowedMethods: ['backup_code'] },
      { allowedMethods: { $ne: [] } },
      { mfaRequiredSince: '2026-01-01T00:00:00Z' },
      { selfRegistration: 'yes' },
      { __proto__: { mfaRequired: false }, extra: 1 },
    ]) {
      expect([v, ok(v)]).toEqual([v, false]);
    }
  });
});

describe('applyPolicyPatch', () => {
  it('starts the grace period when MFA becomes required, keeps it while it stays, clears it when off', () => {
    const on = applyPolicyPatch(DEFAULT_POLICY, { mfaRequired: true }, T);
    expect(on).toMatchObject({ mfaRequired: true, mfaRequiredSince: new Date(T) });
    const still = applyPolicyPatch(on, { mfaRequired: true, gracePeriodDays: 3 }, T + DAY);
    expect(still.mfaRequiredSince).toEqual(new Date(T));
    expect(still.gracePeriodDays).toBe(3);
    const unrelated = applyPolicyPatch(on, { stepUpMaxAgeSeconds: 60 }, T + DAY);
    expect(unrelated.mfaRequiredSince).toEqual(new Date(T));
    const off = applyPolicyPatch(still, { mfaRequired: false }, T + 2 * DAY);
    expect(off).toMatchObject({ mfaRequired: false, mfaRequiredSince: null });
    expect(applyPolicyPatch(off, { mfaRequired: true }, T + 3 * DAY).mfaRequiredSince).toEqual(new Date(T + 3 * DAY));
  });

  it('orders allowedMethods canonically and never mutates its input', () => {
    const before = structuredClone(DEFAULT_POLICY);
    const next = applyPolicyPatch(DEFAULT_POLICY, { allowedMethods: ['sms_otp', 'totp'] }, T);
    expect(next.allowedMethods).toEqual(['totp', 'sms_otp']);
    expect(DEFAULT_POLICY).toEqual(before);
  });

  it('shows the policy with an ISO mfaRequiredSince', () => {
    expect(policyView(applyPolicyPatch(DEFAULT_POLICY, { mfaRequired: true }, T))).toEqual({
      mfaRequired: true,
      allowedMethods: ['webauthn', 'totp', 'backup_code', 'email_otp', 'sms_otp'],
      gracePeriodDays: 7,
      stepUpMaxAgeSeconds: 300,
      mfaRequiredSince: new Date(T).toISOString(),
      selfRegistration: false,
      passwordlessPasskeys: false,
      rememberDeviceDays: 0,
    });
  });
});

describe('grace period boundaries (decideAfterPassword under a patched policy)', () => {
  const required = applyPolicyPatch(DEFAULT_POLICY, { mfaRequired: true, gracePeriodDays: 7 }, T);

  it('is aal 1 with a deadline until the last millisecond, then enrollment_required', () => {
    const u = user(T - 30 * DAY);
    expect(decideAfterPassword(u, tenant(required), T + 7 * DAY - 1)).toEqual({ state: 'authenticated', aal: 1, enrollmentDeadline: T + 7 * DAY });
    expect(decideAfterPassword(u, tenant(required), T + 6 * DAY + 23 * 3600_000 + 59 * 60_000).state).toBe('authenticated');
    expect(decideAfterPassword(u, tenant(required), T + 7 * DAY)).toEqual({ state: 'enrollment_required', methods: ['webauthn', 'totp', 'email_otp', 'sms_otp'] });
  });

  it('counts from the user\'s creation when it is later than the switch-on', () => {
    const u = user(T + 2 * DAY);
    expect(decideAfterPassword(u, tenant(required), T + 8 * DAY)).toMatchObject({ state: 'authenticated', enrollmentDeadline: T + 9 * DAY });
    expect(decideAfterPassword(u, tenant(required), T + 9 * DAY).state).toBe('enrollment_required');
  });

  it('gives admins and superadmins no grace, and offers only allowed methods', () => {
    const narrow = applyPolicyPatch(DEFAULT_POLICY, { allowedMethods: ['totp', 'backup_code'] }, T);
    for (const role of ['admin', 'superadmin'] as const) {
      expect(decideAfterPassword(user(T, [role]), tenant(narrow), T)).toEqual({ state: 'enrollment_required', methods: ['totp'] });
    }
    expect(decideAfterPassword(user(T), tenant(narrow), T)).toEqual({ state: 'authenticated', aal: 1 });
  });

  it('asks for a factor the user has; a dropped one still proves the user before enrolment', () => {
    const withSms = user(T, ['user'], { sms: { phone: '+12025550123', enabledAt: new Date(T) } });
    expect(decideAfterPassword(withSms, tenant(required), T)).toEqual({ state: 'mfa_required', methods: ['sms_otp'], next: 'authenticated' });
    const noSms = applyPolicyPatch(required, { allowedMethods: ['totp', 'backup_code', 'email_otp'] }, T);
    // SR-3: a factor the policy dropped still has to be proved before another one is enrolled.
    expect(decideAfterPassword(withSms, tenant(noSms), T + 8 * DAY)).toEqual({ state: 'mfa_required', methods: ['sms_otp'], next: 'enrollment_required' });
  });
});
