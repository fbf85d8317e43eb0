import type { Method, StepUpUser, TenantPolicy, TenantRecord, UserRecord } from '../types';
import { userMethods } from '../types';

/**
 * The step-up state machine, as pure functions over `req.session.mfa`.
 *
 *   (none) --password ok, factor enrolled--------------> mfa_required --factor ok--> authenticated (aal 2)
 *   (none) --password ok, MFA mandatory, no grace------> enrollment_required --enrolled--> authenticated (aal 2)
 *   (none) --password ok, no factor needed-------------> authenticated (aal 1)
 *   (none) --password ok, email not verified yet-------> verification_required (resend the link, logout)
 *   any    --logout / pending expired / too many fails-> (none)
 *
 * The pending user lives here, never in `session.passport`, so a half-logged-in session is never
 * `req.isAuthenticated()`.
 */
export type MfaState = 'verification_required' | 'mfa_required' | 'enrollment_required' | 'authenticated';

/** The states that hold a pending (not yet authenticated) login. */
export type PendingState = Exclude<MfaState, 'authenticated'>;

export interface PendingLogin {
  /** Random id binding codes and failure counters to this one login attempt. */
  id: string;
  userId: string;
  tenantId: string;
  tenant: string;
  methods: Method[];
  createdAt: number;
  expiresAt: number;
}

export interface MfaSession {
  state: MfaState;
  pending?: PendingLogin;
  aal?: 1 | 2;
  /** When the password was verified for this session (absolute timeout counts from here). */
  authTime?: number;
  /** Last second-factor verification (step-up freshness counts from here). */
  mfaVerifiedAt?: number;
  /** Last request seen (idle timeout); written at most once a minute. */
  lastSeen?: number;
  /** Copied from the tenant policy at login and step-up: a policy change applies from the next one. */
  stepUpMaxAgeSeconds?: number;
  /** Aal-1 users inside a grace period must enrol before this time. */
  enrollmentDeadline?: number;
  /** A TOTP secret being enrolled: sealed, bound to this session, inactive until confirmed. */
  totpEnrolment?: { sealed: string; startedAt: number };
  /** Out-of-band enrolment in progress (channel and destination, not a code). */
  oobEnrolment?: { channel: 'email' | 'sms'; destination: string; bindingId: string; startedAt: number };
}

export type LoginDecision =
  | { state: 'verification_required' }
  | { state: 'authenticated'; aal: 1; enrollmentDeadline?: number }
  | { state: 'mfa_required'; methods: Method[] }
  | { state: 'enrollment_required'; methods: Method[] };

const ENROLLABLE: Method[] = ['totp', 'email_otp', 'sms_otp'];

export function isPrivileged(roles: readonly string[]): boolean {
  return roles.includes('admin') || roles.includes('superadmin');
}

/** Methods a user may enrol under a policy (backup codes come with the first factor). */
export function enrollableMethods(policy: TenantPolicy): Method[] {
  return ENROLLABLE.filter((m) => policy.allowedMethods.includes(m));
}

/**
 * What a correct password leads to, given the user's factors and the tenant policy. An address not
 * verified yet (`emailVerifiedAt: null`, self-registration) comes first: such an account may only
 * ask for a new verification link. Self-registered accounts get no grace period ("non-dismissible
 * setup"): under a mandatory policy their first login after verification must enrol.
 */
export function decideAfterPassword(user: UserRecord, tenant: TenantRecord, now: number): LoginDecision {
  if (user.emailVerifiedAt === null) return { state: 'verification_required' };
  const policy = tenant.policy;
  const methods = userMethods(user, policy.allowedMethods);
  if (methods.length > 0) return { state: 'mfa_required', methods };
  const mandatory = policy.mfaRequired || isPrivileged(user.roles);
  if (!mandatory) return { state: 'authenticated', aal: 1 };
  if (isPrivileged(user.roles) || user.selfRegistered) return { state: 'enrollment_required', methods: enrollableMethods(policy) };
  const since = Math.max(user.createdAt.getTime(), policy.mfaRequiredSince ? new Date(policy.mfaRequiredSince).getTime() : 0);
  const deadline = since + policy.gracePeriodDays * 86400_000;
  if (now < deadline) return { state: 'authenticated', aal: 1, enrollmentDeadline: deadline };
  return { state: 'enrollment_required', methods: enrollableMethods(policy) };
}

export function pendingSession(
  state: PendingState,
  user: UserRecord,
  tenant: TenantRecord,
  methods: Method[],
  id: string,
  now: number,
  ttlSeconds: number,
): MfaSession {
  return {
    state,
    authTime: now,
    pending: { id, userId: user.id, tenantId: tenant.id, tenant: tenant.slug, methods, createdAt: now, expiresAt: now + ttlSeconds * 1000 },
  };
}

export function authenticatedSession(aal: 1 | 2, now: number, policy: TenantPolicy, prev?: MfaSession, enrollmentDeadline?: number): MfaSession {
  return {
    state: 'authenticated',
    aal,
    authTime: prev?.authTime ?? now,
    mfaVerifiedAt: aal === 2 ? now : undefined,
    lastSeen: now,
    stepUpMaxAgeSeconds: policy.stepUpMaxAgeSeconds,
    enrollmentDeadline,
  };
}

export type PendingCheck = { ok: true; pending: PendingLogin } | { ok: false; reason: 'none' | 'expired' };

/** The pending login of a session in a given state, if still valid. */
export function checkPending(mfa: MfaSession | undefined, state: PendingState, now: number): PendingCheck {
  if (!mfa || mfa.state !== state || !mfa.pending) return { ok: false, reason: 'none' };
  if (now >= mfa.pending.expiresAt) return { ok: false, reason: 'expired' };
  return { ok: true, pending: mfa.pending };
}

export interface Timeouts {
  idleTimeoutSeconds: number;
  absoluteTimeoutSeconds: number;
}

export type AuthCheck = 'ok' | 'none' | 'idle_expired' | 'absolute_expired';

/** Whether an authenticated session is still alive on the server's clock (cookie expiry is not trusted). */
export function checkAuthenticated(mfa: MfaSession | undefined, user: StepUpUser | undefined, now: number, t: Timeouts): AuthCheck {
  if (!mfa || mfa.state !== 'authenticated' || !user) return 'none';
  if (mfa.authTime === undefined || now - mfa.authTime >= t.absoluteTimeoutSeconds * 1000) return 'absolute_expired';
  if (mfa.lastSeen === undefined || now - mfa.lastSeen >= t.idleTimeoutSeconds * 1000) return 'idle_expired';
  return 'ok';
}

/** True when the last factor verification is recent enough. */
export function isStepUpFresh(mfa: MfaSession | undefined, now: number, maxAgeSeconds: number): boolean {
  return Boolean(mfa?.mfaVerifiedAt !== undefined && now - mfa.mfaVerifiedAt <= maxAgeSeconds * 1000);
}
