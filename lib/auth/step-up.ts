import { StepUpError } from '../errors';
import { isFresh, isPhishingResistant, type MfaSession } from '../state/machine';
import { hasFactor, satisfiesStepUp, stepUpMethods, type StepUpPurpose } from '../state/policy';
import type { TenantRecord, UserRecord } from '../types';

export interface StepUpRequirement {
  /** How recent the last proof must be. Default: the session's copy of the policy's `stepUpMaxAgeSeconds`. */
  maxAgeSeconds?: number;
  /** `backup_codes`: a backup code does not count (it cannot vouch for its own replacement). */
  purpose?: StepUpPurpose;
  /** Only a passkey counts (phishing resistant). */
  phishingResistant?: boolean;
  /** A user without any factor passes (nothing to prove); default true. */
  passWithoutFactor?: boolean;
}

/**
 * THE step-up rule (guards, enrolment, password change: docs/SECURITY.md SR-2): the session's last
 * factor proof must be fresh AND strong enough for the strongest factor the user has enrolled.
 * Returns null when it holds, else the `step_up_required` error listing the methods that would do.
 */
export function stepUpError(user: UserRecord, tenant: TenantRecord, mfa: MfaSession | undefined, now: number, req: StepUpRequirement = {}): StepUpError | null {
  if ((req.passWithoutFactor ?? true) && !hasFactor(user) && !req.phishingResistant) return null;
  const maxAge = req.maxAgeSeconds ?? mfa?.stepUpMaxAgeSeconds ?? tenant.policy.stepUpMaxAgeSeconds;
  const proof = mfa?.proof?.method;
  const ok =
    isFresh(mfa, now, maxAge) &&
    proof !== undefined &&
    satisfiesStepUp(proof, user, req.purpose) &&
    (!req.phishingResistant || isPhishingResistant(mfa));
  if (ok) return null;
  const methods = req.phishingResistant ? ['webauthn'] : stepUpMethods(user, tenant.policy, req.purpose);
  return new StepUpError('step_up_required', undefined, { body: { methods } });
}
