import { afterEnrolment, afterLoginFactor, afterStepUp, checkAuthenticated, checkPending, decideAfterPassword, isFresh, keptAfterCredentialChange, passwordSession, pendingSession as makePending, type LoginDecision, type MfaSession } from '../../lib/state/machine';
import { enrollableMethods, isPrivileged, proofMethods, requiredStrength, satisfiesStepUp, stepUpMethods } from '../../lib/state/policy';
import { stepUpError } from '../../lib/auth/step-up';
import { DEFAULT_POLICY, type Method, type Role, type StepUpUser, type TenantPolicy, type TenantRecord, type UserRecord } from '../../lib/types';

const NOW = Date.UTC(2030, 0, 10);
const DAY = 86400_000;

function tenant(policy: Partial<TenantPolicy> = {}): TenantRecord {
  return { id: 't1', slug: 'acme', name: 'ACME', policy: { ...DEFAULT_POLICY, ...policy }, createdAt: new Date(NOW - 100 * DAY) };
}

function user(o: { roles?: Role[]; totp?: boolean; email?: boolean; sms?: boolean; codes?: number; createdAt?: number } = {}): UserRecord {
  return {
    id: 'u1',
    tenantId: 't1',
    email: 'alice@example.com',
    roles: o.roles ?? ['user'],
    passwordHash: 'x',
    mfa: {
      totp: o.totp ? { secret: 'v1.k1.x.y.z', enrolledAt: new Date(NOW), lastStep: 0 } : null,
      email: o.email ? { enabledAt: new Date(NOW) } : null,
      sms: o.sms ? { phone: '+14155552671', enabledAt: new Date(NOW) } : null,
      backupCodes: Array.from({ length: o.codes ?? 0 }, () => ({ hash: 'h', usedAt: null })),
    },
    createdAt: new Date(o.createdAt ?? NOW - 30 * DAY),
  };
}

const sessionUser: StepUpUser = { id: 'u1', tenantId: 't1', tenant: 'acme', email: 'alice@example.com', roles: ['user'] };

/** The old test shape: a pending session in a state with methods. */
function pendingSession(state: 'mfa_required' | 'enrollment_required', u: UserRecord, t: TenantRecord, methods: Method[], id: string, now: number, ttl: number): MfaSession {
  const d = (state === 'mfa_required' ? { state, methods, next: 'authenticated' } : { state, methods }) as Exclude<LoginDecision, { state: 'authenticated' | 'verification_required' }>;
  return makePending(d, u, t, id, now, ttl);
}
const authenticatedSession = (aal: 1 | 2, now: number, policy = DEFAULT_POLICY): MfaSession =>
  aal === 1 ? passwordSession(sessionUser, now, policy) : afterLoginFactor(pendingSession('mfa_required', user(), tenant(), ['totp'], 'p', now, 300), 'totp', 2, policy, now, []);
const isStepUpFresh = isFresh;

describe('decideAfterPassword', () => {
  it('a user with a factor must present it; methods strongest first', () => {
    expect(decideAfterPassword(user({ totp: true, codes: 10, email: true }), tenant(), NOW)).toEqual({ state: 'mfa_required', methods: ['totp', 'backup_code', 'email_otp'], next: 'authenticated' });
  });

  it('methods outside the tenant policy are not offered; backup codes alone are not a factor', () => {
    expect(decideAfterPassword(user({ totp: true, email: true }), tenant({ allowedMethods: ['email_otp'] }), NOW)).toEqual({ state: 'mfa_required', methods: ['email_otp'], next: 'authenticated' });
    expect(decideAfterPassword(user({ codes: 10 }), tenant(), NOW)).toEqual({ state: 'authenticated', aal: 1 });
  });

  it('a factor this server cannot run (passkeys without a relying party) is not offered; backup codes then lead to enrolment', () => {
    const passkey = { id: 'cred', publicKey: 'pk', counter: 0, transports: [], backedUp: false, name: 'Key', createdAt: new Date(NOW), lastUsedAt: null };
    const withPasskey = (o: Parameters<typeof user>[0]) => {
      const u = user(o);
      u.mfa.webauthn = [passkey];
      return u;
    };
    const noRp = ['webauthn'] as const;
    expect(decideAfterPassword(withPasskey({ totp: true, codes: 10 }), tenant(), NOW, false, noRp)).toEqual({ state: 'mfa_required', methods: ['totp', 'backup_code'], next: 'authenticated' });
    expect(decideAfterPassword(withPasskey({ codes: 10 }), tenant(), NOW, false, noRp)).toEqual({ state: 'mfa_required', methods: ['backup_code'], next: 'enrollment_required' });
    // Nothing that runs here: the passkey stays listed (its routes answer 404) rather than an empty choice.
    expect(decideAfterPassword(withPasskey({}), tenant(), NOW, false, noRp)).toEqual({ state: 'mfa_required', methods: ['webauthn'], next: 'enrollment_required' });
    // With a relying party, nothing changes.
    expect(decideAfterPassword(withPasskey({ codes: 10 }), tenant(), NOW)).toEqual({ state: 'mfa_required', methods: ['webauthn', 'backup_code'], next: 'authenticated' });
  });

  it('no factor and no policy: aal 1', () => {
    expect(decideAfterPassword(user(), tenant(), NOW)).toEqual({ state: 'authenticated', aal: 1 });
  });

  it.each<Role>(['admin', 'superadmin'])('a %s without a factor must enrol, whatever the policy, with no grace', (role) => {
    const u = user({ roles: [role], createdAt: NOW - 1000 });
    // Admins are never offered email codes as their only factor (MFA-38).
    expect(decideAfterPassword(u, tenant({ gracePeriodDays: 30 }), NOW)).toEqual({ state: 'enrollment_required', methods: ['webauthn', 'totp', 'sms_otp'] });
    expect(decideAfterPassword(u, tenant({ mfaRequired: true, allowedMethods: ['totp', 'backup_code'] }), NOW)).toEqual({ state: 'enrollment_required', methods: ['totp'] });
    expect(isPrivileged([role])).toBe(true);
  });

  it('mfaRequired: aal 1 with a deadline inside the grace period, enrolment after it', () => {
    const since = NOW - 3 * DAY;
    const t = tenant({ mfaRequired: true, gracePeriodDays: 7, mfaRequiredSince: new Date(since) });
    const u = user({ createdAt: NOW - 30 * DAY });
    expect(decideAfterPassword(u, t, NOW)).toEqual({ state: 'authenticated', aal: 1, enrollmentDeadline: since + 7 * DAY });
    expect(decideAfterPassword(u, t, since + 7 * DAY - 1).state).toBe('authenticated');
    expect(decideAfterPassword(u, t, since + 7 * DAY)).toEqual({ state: 'enrollment_required', methods: ['webauthn', 'totp', 'email_otp', 'sms_otp'] });
  });

  it('grace counts from the later of the policy change and the user creation; 0 days means none', () => {
    const t = tenant({ mfaRequired: true, gracePeriodDays: 7, mfaRequiredSince: new Date(NOW - 30 * DAY).toISOString() });
    expect(decideAfterPassword(user({ createdAt: NOW - DAY }), t, NOW)).toEqual({ state: 'authenticated', aal: 1, enrollmentDeadline: NOW + 6 * DAY });
    expect(decideAfterPassword(user(), t, NOW).state).toBe('enrollment_required');
    expect(decideAfterPassword(user({ createdAt: NOW - 1 }), tenant({ mfaRequired: true, gracePeriodDays: 0 }), NOW).state).toBe('enrollment_required');
  });

  it('enrollableMethods follows the policy and never lists backup codes', () => {
    expect(enrollableMethods(null, { ...DEFAULT_POLICY })).toEqual(['webauthn', 'totp', 'email_otp', 'sms_otp']);
    // A method the server cannot run (passkeys without a relying party) is never offered.
    expect(enrollableMethods(null, { ...DEFAULT_POLICY }, false, ['webauthn'])).toEqual(['totp', 'email_otp', 'sms_otp']);
    expect(enrollableMethods(null, { ...DEFAULT_POLICY, allowedMethods: ['backup_code', 'sms_otp'] })).toEqual(['sms_otp']);
    // Email is never an administrator's only factor (MFA-38).
    expect(enrollableMethods(user({ roles: ['admin'] }), { ...DEFAULT_POLICY })).toEqual(['webauthn', 'totp', 'sms_otp']);
    expect(enrollableMethods(user({ roles: ['admin'] }), { ...DEFAULT_POLICY }, true)).toEqual(['webauthn', 'totp', 'email_otp', 'sms_otp']);
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

  it('afterLoginFactor keeps authTime from the pending login and records which factor proved the user', () => {
    const prev = pendingSession('mfa_required', user(), tenant(), ['totp'], 'p', NOW - 60_000, 300);
    const s = afterLoginFactor(prev, 'totp', 2, { ...DEFAULT_POLICY, stepUpMaxAgeSeconds: 600 }, NOW, []);
    expect(s).toMatchObject({ state: 'authenticated', aal: 2, authTime: NOW - 60_000, validFrom: NOW - 60_000, mfaVerifiedAt: NOW, proof: { at: NOW, method: 'totp' }, amr: ['totp'], lastSeen: NOW, stepUpMaxAgeSeconds: 600, uid: 't1:u1' });
    expect(s.pending).toBeUndefined();
    expect(authenticatedSession(1, NOW).mfaVerifiedAt).toBeUndefined();
    expect(authenticatedSession(1, NOW).proof).toBeUndefined();
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

describe('policy changes never let the password alone bind a factor (SR-3)', () => {
  it('a user whose only factors the policy dropped must still prove one, then goes on to enrol', () => {
    const u = user({ totp: true, codes: 10 });
    const t = tenant({ allowedMethods: ['sms_otp'] });
    expect(proofMethods(u, t.policy)).toEqual(['totp', 'backup_code']);
    const d = decideAfterPassword(u, t, NOW);
    expect(d).toEqual({ state: 'mfa_required', methods: ['totp', 'backup_code'], next: 'enrollment_required' });
    // With a grace period too: a TOTP user never drops to password only.
    expect(decideAfterPassword(u, tenant({ allowedMethods: ['sms_otp'], mfaRequired: true, gracePeriodDays: 30 }), NOW).state).toBe('mfa_required');
    const pending = makePending(d as Exclude<LoginDecision, { state: 'authenticated' | 'verification_required' }>, u, t, 'p', NOW, 300);
    const next = afterLoginFactor(pending, 'totp', 2, t.policy, NOW, ['sms_otp']);
    expect(next).toMatchObject({ state: 'enrollment_required', pending: { methods: ['sms_otp'], proven: 'totp' } });
    expect(next.aal).toBeUndefined();
    // Enrolling then completes the login.
    expect(afterEnrolment(next, 'sms_otp', 2, t.policy, NOW)).toMatchObject({ state: 'authenticated', aal: 2, proof: { method: 'sms_otp' } });
  });
});

describe('step-up strength (SR-2)', () => {
  const t = tenant();
  const proofBy = (method: 'totp' | 'email_otp' | 'sms_otp' | 'backup_code', at = NOW): MfaSession => afterStepUp(authenticatedSession(1, NOW - 1000), method, 2, t.policy, at);

  it('a TOTP user cannot be stepped up by email or SMS; backup codes count as recovery except for new backup codes', () => {
    const u = user({ totp: true, email: true, sms: true, codes: 10 });
    expect(requiredStrength(u)).toBe(3);
    expect(satisfiesStepUp('email_otp', u)).toBe(false);
    expect(satisfiesStepUp('sms_otp', u)).toBe(false);
    expect(satisfiesStepUp('totp', u)).toBe(true);
    expect(satisfiesStepUp('backup_code', u)).toBe(true);
    expect(satisfiesStepUp('backup_code', u, 'backup_codes')).toBe(false);
    expect(stepUpError(u, t, proofBy('email_otp'), NOW)?.code).toBe('step_up_required');
    expect(stepUpError(u, t, proofBy('totp'), NOW)).toBeNull();
    expect(stepUpError(u, t, proofBy('backup_code'), NOW)).toBeNull();
    expect(stepUpError(u, t, proofBy('backup_code'), NOW, { purpose: 'backup_codes' })?.body).toEqual({ methods: ['totp'] });
    expect(stepUpMethods(u, t.policy)).toEqual(['totp', 'backup_code']);
  });

  it('an email-only user is stepped up by email; a stale proof never counts', () => {
    const u = user({ email: true, codes: 10 });
    expect(stepUpError(u, t, proofBy('email_otp'), NOW)).toBeNull();
    expect(stepUpError(u, t, proofBy('email_otp', NOW - 301_000), NOW)?.code).toBe('step_up_required');
    // An email login (aal 1) is not a step-up for a TOTP user, whatever its time.
    expect(stepUpError(user({ totp: true, email: true }), t, proofBy('email_otp'), NOW)?.code).toBe('step_up_required');
  });

  it('a session kept after a credential change starts a new validity window', () => {
    const s = authenticatedSession(2, NOW - 5000);
    expect(keptAfterCredentialChange(s, NOW).validFrom).toBe(NOW);
    expect(keptAfterCredentialChange(s, NOW).authTime).toBe(s.authTime);
  });
});
