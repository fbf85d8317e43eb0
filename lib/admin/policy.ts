import { z } from 'zod';
import { METHODS, type TenantPolicy } from '../types';
import { PRIMARY_METHODS } from '../state/policy';

/** Ranges of a tenant policy (DESIGN §3). */
export const POLICY_LIMITS = {
  gracePeriodDays: { min: 0, max: 365 },
  stepUpMaxAgeSeconds: { min: 1, max: 86400 },
} as const;


const allowedMethods = z
  .array(z.enum(METHODS))
  .min(1)
  .max(METHODS.length)
  .refine((a) => new Set(a).size === a.length, 'duplicate method')
  // Backup codes alone would leave nothing to enrol: a mandatory policy would lock every user out.
  .refine((a) => a.some((m) => PRIMARY_METHODS.includes(m)), `at least one of ${PRIMARY_METHODS.join(', ')}`);

/**
 * What an admin may set: a strict, partial object (unknown fields are 400). `mfaRequiredSince` is
 * never taken from a client; it follows `mfaRequired` on the server clock.
 */
export const policyPatchSchema = z.strictObject({
  mfaRequired: z.boolean().optional(),
  allowedMethods: allowedMethods.optional(),
  gracePeriodDays: z.number().int().min(POLICY_LIMITS.gracePeriodDays.min).max(POLICY_LIMITS.gracePeriodDays.max).optional(),
  stepUpMaxAgeSeconds: z.number().int().min(POLICY_LIMITS.stepUpMaxAgeSeconds.min).max(POLICY_LIMITS.stepUpMaxAgeSeconds.max).optional(),
  /** `POST /auth/register` creates accounts in this tenant (default false). */
  selfRegistration: z.boolean().optional(),
  /** Sign-in with a discoverable passkey alone (default false). */
  passwordlessPasskeys: z.boolean().optional(),
  /** Days a browser may skip the second factor at login (0 = off, the default). */
  rememberDeviceDays: z.number().int().min(0).max(90).optional(),
});

export type PolicyPatch = z.infer<typeof policyPatchSchema>;

/**
 * The policy after a patch. Turning `mfaRequired` on starts the grace period now (users created
 * earlier get `gracePeriodDays` from this moment); turning it off clears the start, so a later
 * switch-on starts a new grace period.
 */
export function applyPolicyPatch(current: TenantPolicy, patch: PolicyPatch, now: number): TenantPolicy {
  const next: TenantPolicy = { ...current, allowedMethods: [...current.allowedMethods] };
  if (patch.allowedMethods) next.allowedMethods = METHODS.filter((m) => patch.allowedMethods!.includes(m));
  if (patch.gracePeriodDays !== undefined) next.gracePeriodDays = patch.gracePeriodDays;
  if (patch.stepUpMaxAgeSeconds !== undefined) next.stepUpMaxAgeSeconds = patch.stepUpMaxAgeSeconds;
  if (patch.selfRegistration !== undefined) next.selfRegistration = patch.selfRegistration;
  if (patch.passwordlessPasskeys !== undefined) next.passwordlessPasskeys = patch.passwordlessPasskeys;
  if (patch.rememberDeviceDays !== undefined) next.rememberDeviceDays = patch.rememberDeviceDays;
  if (patch.mfaRequired !== undefined) {
    if (patch.mfaRequired && !current.mfaRequired) next.mfaRequiredSince = new Date(now);
    if (!patch.mfaRequired) next.mfaRequiredSince = null;
    next.mfaRequired = patch.mfaRequired;
  }
  return next;
}

/** The policy as the API shows it. */
export function policyView(p: TenantPolicy) {
  return {
    mfaRequired: p.mfaRequired,
    allowedMethods: [...p.allowedMethods],
    gracePeriodDays: p.gracePeriodDays,
    stepUpMaxAgeSeconds: p.stepUpMaxAgeSeconds,
    mfaRequiredSince: p.mfaRequiredSince ? new Date(p.mfaRequiredSince).toISOString() : null,
    selfRegistration: p.selfRegistration === true,
    passwordlessPasskeys: p.passwordlessPasskeys === true,
    rememberDeviceDays: p.rememberDeviceDays ?? 0,
  };
}
