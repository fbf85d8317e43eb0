import { METHODS, type Method, type TenantPolicy, type UserRecord } from '../types';

// The rules about factors, in one place: which a user has, which a policy lets them use or enrol,
// which aal each gives, and which is strong enough for a step-up (docs/SECURITY.md SR-2, SR-3).

/** Factors that stand on their own (backup codes only come with one of them). */
export const PRIMARY_METHODS: readonly Method[] = ['webauthn', 'totp', 'email_otp', 'sms_otp'];

/**
 * Strength for step-up (docs/SECURITY.md SR-2): a passkey and an authenticator app are equally
 * strong for a step-up (a passkey is also phishing resistant: see `requireStepUp({ phishingResistant })`),
 * SMS is weaker (restricted by NIST), email weakest. Backup codes are recovery: see `satisfiesStepUp`.
 */
const STRENGTH: Record<Exclude<Method, 'backup_code'>, number> = { webauthn: 3, totp: 3, sms_otp: 2, email_otp: 1 };

export function isPrivileged(roles: readonly string[]): boolean {
  return roles.includes('admin') || roles.includes('superadmin');
}

/** Whether the user must keep a factor: tenant policy, or an admin role (always). */
export function mfaMandatory(user: UserRecord, policy: TenantPolicy): boolean {
  return policy.mfaRequired || isPrivileged(user.roles);
}

/** The primary factors a user has enrolled, whatever the policy says, strongest first. */
export function enrolledFactors(user: UserRecord): Method[] {
  const m: Method[] = [];
  if (user.mfa.webauthn?.length) m.push('webauthn');
  if (user.mfa.totp) m.push('totp');
  if (user.mfa.email) m.push('email_otp');
  if (user.mfa.sms) m.push('sms_otp');
  return m;
}

export function hasFactor(user: UserRecord): boolean {
  return enrolledFactors(user).length > 0;
}

/** Every method the user could verify with, whatever the policy (backup codes while a factor remains). */
export function enrolledMethods(user: UserRecord): Method[] {
  const factors = enrolledFactors(user);
  const m = [...factors];
  if (factors.length && user.mfa.backupCodes.some((c) => !c.usedAt)) m.push('backup_code');
  return METHODS.filter((x) => m.includes(x));
}

/** The methods a user may use under a policy, strongest first. */
export function userMethods(user: UserRecord, allowed: readonly Method[] = METHODS): Method[] {
  return enrolledMethods(user).filter((x) => allowed.includes(x));
}

/** The aal a verified method gives: email codes are a weak factor unless the options count them. */
export function aalOf(method: Method, emailCountsAsAal2: boolean): 1 | 2 {
  return method === 'email_otp' && !emailCountsAsAal2 ? 1 : 2;
}

export function strengthOf(method: Method): number {
  return method === 'backup_code' ? 0 : STRENGTH[method];
}

/** The strength a step-up needs: that of the strongest factor the user has enrolled. */
export function requiredStrength(user: UserRecord): number {
  return Math.max(0, ...enrolledFactors(user).map(strengthOf));
}

/**
 * What a step-up proves. `backup_codes`: regenerating backup codes needs a real factor (a backup code
 * cannot vouch for its own replacement); any other action accepts a backup code as recovery.
 */
export type StepUpPurpose = 'action' | 'backup_codes';

export function satisfiesStepUp(method: Method, user: UserRecord, purpose: StepUpPurpose = 'action'): boolean {
  if (method === 'backup_code') return purpose !== 'backup_codes' && enrolledMethods(user).includes('backup_code');
  return strengthOf(method) >= requiredStrength(user);
}

/** Methods that can answer a step-up for this user under the policy (what a 401 lists). */
export function stepUpMethods(user: UserRecord, policy: TenantPolicy, purpose: StepUpPurpose = 'action'): Method[] {
  const usable = proofMethods(user, policy);
  return usable.filter((m) => satisfiesStepUp(m, user, purpose));
}

/**
 * Methods that can prove the user's identity: those the policy allows, or, when the policy allows none
 * of the user's factors any more, the factors they still have (a disallowed factor keeps counting as
 * proof until it is replaced: docs/SECURITY.md SR-3).
 */
export function proofMethods(user: UserRecord, policy: TenantPolicy): Method[] {
  const allowed = userMethods(user, policy.allowedMethods);
  return allowed.some((m) => m !== 'backup_code') ? allowed : enrolledMethods(user);
}

/**
 * Methods a user may enrol under a policy. Email is never an administrator's only factor (MFA-38)
 * unless the options count email codes as aal 2.
 */
export function enrollableMethods(user: UserRecord | null, policy: TenantPolicy, emailCountsAsAal2 = false, unavailable: readonly Method[] = []): Method[] {
  // `unavailable`: methods this server cannot run whatever the policy allows (passkeys without a relying party).
  const m = PRIMARY_METHODS.filter((x) => policy.allowedMethods.includes(x) && !unavailable.includes(x));
  if (!user || emailCountsAsAal2 || !isPrivileged(user.roles)) return m;
  const strong = enrolledFactors(user).some((f) => f !== 'email_otp');
  return strong ? m : m.filter((x) => x !== 'email_otp');
}
