import type { Method, StepUpUser, TenantPolicy, TenantRecord, UserRecord } from '../types';
import { enrollableMethods, enrolledFactors, isPrivileged, proofMethods, strengthOf, userMethods } from './policy';

/**
 * The step-up state machine, as pure functions over the session's `mfa` value. Every transition
 * returns the next value; routes/http-session.ts is the only module that writes it into a session.
 *
 *   (none) --password ok, factor enrolled--------------> mfa_required --factor ok--> authenticated (aal 1|2)
 *   (none) --password ok, only disallowed factors------> mfa_required --factor ok--> enrollment_required (proven)
 *   (none) --password ok, MFA mandatory, no grace------> enrollment_required --enrolled--> authenticated
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
  /** `mfa_required` only: where a verified factor leads (`enrollment_required` while phasing out a disallowed factor). */
  next?: 'authenticated' | 'enrollment_required';
  /** `enrollment_required` only: the factor this login proved (a user with a factor must prove one before adding another). */
  proven?: Method;
}

/** The last second-factor proof of a session: step-up freshness counts from `at`, strength from `method`. */
export interface FactorProof {
  at: number;
  method: Method;
}

export interface MfaSession {
  state: MfaState;
  /** `tenantId:userId` of the owner (pending or authenticated): the session store checks the user's revocation mark with it. */
  uid?: string;
  pending?: PendingLogin;
  aal?: 1 | 2;
  /** When the password was verified for this session (absolute timeout counts from here). */
  authTime?: number;
  /** Sessions whose `validFrom` is before the user's revocation mark are dead (docs/SECURITY.md SR-1). */
  validFrom?: number;
  /** Last second-factor verification (kept for the API: equals `proof.at`). */
  mfaVerifiedAt?: number;
  /** Which factor was verified last, and when: a step-up needs one strong enough (SR-2). */
  proof?: FactorProof;
  /** Methods verified in this session, in order (`amr`). */
  amr?: Method[];
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
  | { state: 'mfa_required'; methods: Method[]; next: 'authenticated' | 'enrollment_required' }
  | { state: 'enrollment_required'; methods: Method[] };

/** The session's user key (`mfa.uid`): the Redis store's revocation check and the session id's tag are made from it. */
export const uidOf = (tenantId: string, userId: string): string => `${tenantId}:${userId}`;

/**
 * What a correct password leads to, given the user's factors and the tenant policy. An address not
 * verified yet comes first. A user who has ANY factor must prove one (SR-3): when the policy allows none
 * of them any more, the disallowed ones still prove the user, and the login then goes on to enrol an
 * allowed factor. Self-registered accounts and admins get no grace period.
 */
export function decideAfterPassword(user: UserRecord, tenant: TenantRecord, now: number, emailCountsAsAal2 = false, unavailable: readonly Method[] = []): LoginDecision {
  if (user.emailVerifiedAt === null) return { state: 'verification_required' };
  const policy = tenant.policy;
  // A factor this server cannot run (passkeys without a relying party) is not offered: a user left with
  // backup codes proves with one and goes on to enrol a factor that runs here. Nothing runnable at all:
  // the list stays as it was (the passkey routes then answer 404, and an administrator must step in).
  const runnable = (ms: Method[]): Method[] => {
    const r = ms.filter((m) => !unavailable.includes(m));
    return r.length ? r : ms;
  };
  const allowed = runnable(userMethods(user, policy.allowedMethods));
  if (allowed.some((m) => m !== 'backup_code' && !unavailable.includes(m))) return { state: 'mfa_required', methods: allowed, next: 'authenticated' };
  if (enrolledFactors(user).length > 0) return { state: 'mfa_required', methods: runnable(proofMethods(user, policy)), next: 'enrollment_required' };
  const enrollable = enrollableMethods(user, policy, emailCountsAsAal2, unavailable);
  const mandatory = policy.mfaRequired || isPrivileged(user.roles);
  if (!mandatory) return { state: 'authenticated', aal: 1 };
  if (isPrivileged(user.roles) || user.selfRegistered) return { state: 'enrollment_required', methods: enrollable };
  const since = Math.max(user.createdAt.getTime(), policy.mfaRequiredSince ? new Date(policy.mfaRequiredSince).getTime() : 0);
  const deadline = since + policy.gracePeriodDays * 86400_000;
  if (now < deadline) return { state: 'authenticated', aal: 1, enrollmentDeadline: deadline };
  return { state: 'enrollment_required', methods: enrollable };
}

export function pendingSession(
  decision: Exclude<LoginDecision, { state: 'authenticated' }>,
  user: UserRecord,
  tenant: TenantRecord,
  id: string,
  now: number,
  ttlSeconds: number,
): MfaSession {
  const methods = decision.state === 'verification_required' ? [] : decision.methods;
  return {
    state: decision.state,
    uid: uidOf(tenant.id, user.id),
    authTime: now,
    validFrom: now,
    pending: {
      id,
      userId: user.id,
      tenantId: tenant.id,
      tenant: tenant.slug,
      methods,
      createdAt: now,
      expiresAt: now + ttlSeconds * 1000,
      ...(decision.state === 'mfa_required' ? { next: decision.next } : {}),
    },
  };
}

/** Password only (aal 1): no factor needed, or inside a grace period. */
export function passwordSession(user: StepUpUser, now: number, policy: TenantPolicy, enrollmentDeadline?: number): MfaSession {
  return {
    state: 'authenticated',
    uid: uidOf(user.tenantId, user.id),
    aal: 1,
    authTime: now,
    validFrom: now,
    lastSeen: now,
    amr: [],
    stepUpMaxAgeSeconds: policy.stepUpMaxAgeSeconds,
    ...(enrollmentDeadline ? { enrollmentDeadline } : {}),
  };
}

/** A verified factor of a pending login: authenticated, or on to enrolment when the factor is being phased out. */
export function afterLoginFactor(prev: MfaSession, method: Method, aal: 1 | 2, policy: TenantPolicy, now: number, enrollable: Method[]): MfaSession {
  const pending = prev.pending!;
  if (pending.next === 'enrollment_required') {
    return {
      state: 'enrollment_required',
      uid: prev.uid,
      authTime: prev.authTime ?? now,
      validFrom: prev.validFrom ?? now,
      pending: { ...pending, methods: enrollable, next: undefined, proven: method },
    };
  }
  return {
    state: 'authenticated',
    uid: prev.uid ?? uidOf(pending.tenantId, pending.userId),
    aal,
    authTime: prev.authTime ?? now,
    validFrom: prev.validFrom ?? now,
    lastSeen: now,
    mfaVerifiedAt: now,
    proof: { at: now, method },
    amr: [method],
    stepUpMaxAgeSeconds: policy.stepUpMaxAgeSeconds,
  };
}

/** A verified step-up (or a factor confirmed while authenticated): fresh proof, aal never goes down. */
export function afterStepUp(prev: MfaSession, method: Method, aal: 1 | 2, policy: TenantPolicy, now: number): MfaSession {
  const { totpEnrolment: _t, oobEnrolment: _o, ...rest } = prev;
  return {
    ...rest,
    aal: Math.max(prev.aal ?? 1, aal) as 1 | 2,
    lastSeen: now,
    mfaVerifiedAt: now,
    proof: { at: now, method },
    amr: [...(prev.amr ?? []), method],
    stepUpMaxAgeSeconds: policy.stepUpMaxAgeSeconds,
  };
}

/** A factor enrolled: an `enrollment_required` login completes; an authenticated session counts it as a fresh proof. */
export function afterEnrolment(prev: MfaSession, method: Method, aal: 1 | 2, policy: TenantPolicy, now: number): MfaSession {
  if (prev.state === 'authenticated') return afterStepUp(prev, method, aal, policy, now);
  const pending = prev.pending!;
  return afterLoginFactor({ ...prev, pending: { ...pending, next: 'authenticated' } }, method, aal, policy, now, []);
}

/** A TOTP secret waiting for its confirming code (only the latest can be confirmed: ATK-18). */
export function withTotpEnrolment(prev: MfaSession, sealed: string, now: number): MfaSession {
  return { ...prev, totpEnrolment: { sealed, startedAt: now } };
}

/** An email/SMS channel waiting for its confirming code. */
export function withOobEnrolment(prev: MfaSession, e: { channel: 'email' | 'sms'; destination: string; bindingId: string }, now: number): MfaSession {
  return { ...prev, oobEnrolment: { ...e, startedAt: now } };
}

/** This session survives a credential change it made itself (the other sessions end with the mark). */
export function keptAfterCredentialChange(prev: MfaSession, now: number): MfaSession {
  return { ...prev, validFrom: now };
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

/**
 * THE rule for "is this session authenticated" (guards, realtime, enrolment, password change): the
 * state, a user, and the idle and absolute timeouts on the server's clock (cookie expiry is not trusted).
 */
export function checkAuthenticated(mfa: MfaSession | undefined, user: StepUpUser | undefined, now: number, t: Timeouts): AuthCheck {
  if (!mfa || mfa.state !== 'authenticated' || !user) return 'none';
  if (mfa.authTime === undefined || now - mfa.authTime >= t.absoluteTimeoutSeconds * 1000) return 'absolute_expired';
  if (mfa.lastSeen === undefined || now - mfa.lastSeen >= t.idleTimeoutSeconds * 1000) return 'idle_expired';
  return 'ok';
}

/**
 * THE rule for step-up freshness: the last factor proof is recent enough. Whether it was strong
 * enough for the user is `satisfiesStepUp` (lib/state/policy.ts); the guard checks both.
 */
export function isFresh(mfa: MfaSession | undefined, now: number, maxAgeSeconds: number): boolean {
  const at = mfa?.proof?.at ?? mfa?.mfaVerifiedAt;
  return at !== undefined && now - at <= maxAgeSeconds * 1000;
}

/** The method of the last proof (older sessions without `proof` count as unknown: not fresh for strength checks). */
export function proofMethod(mfa: MfaSession | undefined): Method | undefined {
  return mfa?.proof?.method;
}

/** True when the session's last factor was a passkey (phishing resistant). */
export function isPhishingResistant(mfa: MfaSession | undefined): boolean {
  return mfa?.proof?.method === 'webauthn';
}

export { strengthOf };
