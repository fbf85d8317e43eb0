import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import { macCode, normaliseBackupCode } from '../crypto/codes';
import { decodeSecret, verifyTotp } from '../factors/totp';
import type { OobChannel, OobPurpose } from '../factors/oob';
import { commitAuthentication, type AuthenticationResponseJSON } from '../factors/webauthn';
import type { Method, RequestMeta, UserRecord } from '../types';

/** One attempt as a verifier sees it. `binding`: the pending-login id (login) or the session's binding id. */
export interface VerifierAttempt {
  user: UserRecord;
  code: string;
  /** `webauthn` only: the browser's assertion (unchecked JSON; the service checks it all). */
  response?: unknown;
  purpose: OobPurpose | 'passwordless';
  binding: string;
  meta: RequestMeta;
}

/** A verifier for one method: true when the code is right, false (or 'expired') otherwise; throws only for trouble. */
export type FactorVerifier = (ctx: StepUpContext, attempt: VerifierAttempt) => Promise<boolean | 'expired'>;

export function totpAad(user: { tenantId: string; id: string }): string {
  return `totp:${user.tenantId}:${user.id}`;
}

/** Opens a sealed TOTP secret; a wrong key or a forged blob fails closed with a 500, never an accept. */
export function openTotpSecret(ctx: StepUpContext, sealed: string, aad: string): Buffer {
  try {
    return decodeSecret(ctx.box.open(sealed, aad));
  } catch {
    ctx.logger.error('a sealed TOTP secret could not be opened (key ring or data problem)');
    throw new StepUpError('internal_error');
  }
}

const totp: FactorVerifier = async (ctx, { user, code, meta }) => {
  const t = user.mfa.totp;
  if (!t) return false;
  const step = verifyTotp(openTotpSecret(ctx, t.secret, totpAad(user)), code, ctx.now(), -1, ctx.totp);
  if (step === null) return false;
  // The compare-and-set is the replay guard: a step is accepted once, and only moving forward,
  // even when two processes race with the same code (ATK-06, ATK-07).
  if (step <= t.lastStep || !(await ctx.users.advanceTotpStep(user.tenantId, user.id, step, new Date(t.enrolledAt)))) {
    await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'totp_replay', details: { method: 'totp' } });
    ctx.notify(user, { event: 'totp_replay', method: 'totp' });
    return false;
  }
  return true;
};

const backupCode: FactorVerifier = async (ctx, { user, code, meta }) => {
  const normalised = normaliseBackupCode(code);
  const salt = user.mfa.backupCodeSalt;
  const keyId = user.mfa.backupCodeKeyId;
  if (!normalised || !salt || !keyId) return false;
  const hash = macCode(ctx.backupKey(keyId), salt, normalised);
  if (!(await ctx.users.consumeBackupCode(user.tenantId, user.id, hash, new Date(ctx.now())))) return false;
  const remaining = user.mfa.backupCodes.filter((c) => !c.usedAt).length - 1;
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'backup_code_used', details: { remaining } });
  ctx.notify(user, { event: 'backup_code_used', remaining });
  return true;
};

/** Email and SMS codes: the one out-of-band engine, bound to (user, purpose, channel, binding). */
const outOfBand =
  (channel: OobChannel): FactorVerifier =>
  async (ctx, { user, code, purpose, binding }) => {
    // An enrolment confirms a channel the user does not have yet; a login or step-up needs it enrolled.
    if (purpose === 'passwordless') return false;
    if (purpose !== 'enrol' && (channel === 'email' ? !user.mfa.email : !user.mfa.sms)) return false;
    const result = await ctx.oob.verify({ tenantId: user.tenantId, userId: user.id, purpose, channel, binding, code });
    return result === 'ok' ? true : result === 'expired' ? 'expired' : false;
  };

/**
 * A passkey assertion: the WebAuthn service takes the challenge bound to (tenant, purpose, binding,
 * user), checks origin, RP ID, flags and signature, then the counter is moved with the store's
 * compare-and-set. A counter that does not grow is refused and audited as a possible cloned
 * authenticator (WebAuthn L2 §6.1.1); the reason never reaches the client (one `invalid_code`).
 */
const webauthn: FactorVerifier = async (ctx, { user, response, purpose, binding, meta }) => {
  const service = ctx.webauthn;
  if (!service || purpose === 'enrol' || typeof response !== 'object' || response === null) return false;
  const credentials = user.mfa.webauthn ?? [];
  const result = await service.verifyAuthentication({
    user,
    credentials,
    binding,
    purpose,
    response: response as AuthenticationResponseJSON,
    // Passwordless: the passkey is both factors, so the authenticator must have verified the user.
    requireUserVerification: purpose === 'passwordless',
  });
  const outcome = result.ok ? await commitAuthentication(ctx.users, user, result, new Date(ctx.now())) : result;
  if (outcome.ok) return true;
  if (outcome.reason === 'counter_regression') {
    const claimed = (response as { id?: unknown }).id;
    const credentialId = result.ok ? result.credentialId : typeof claimed === 'string' ? claimed.slice(0, 256) : null;
    await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'webauthn_counter_regression', details: { method: 'webauthn', credentialId, purpose } });
  }
  return outcome.reason === 'challenge_expired' ? 'expired' : false;
};

/** Every code verifier, by method: built here, passed to the pipeline (no registration by side effect). */
export const VERIFIERS: Readonly<Partial<Record<Method, FactorVerifier>>> = {
  totp,
  backup_code: backupCode,
  email_otp: outOfBand('email'),
  sms_otp: outOfBand('sms'),
  webauthn,
};

