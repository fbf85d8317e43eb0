import type { Request } from 'express';
import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import { macCode, normaliseBackupCode } from '../crypto/codes';
import { decodeSecret, verifyTotp } from '../factors/totp';
import type { Method, TenantRecord, UserRecord } from '../types';

export type Purpose = 'login' | 'step_up';

export interface FactorAttempt {
  user: UserRecord;
  tenant: TenantRecord;
  method: Method;
  code: string;
  purpose: Purpose;
  /** The pending-login id (login) or the session's binding id (step-up): out-of-band codes are bound to it. */
  binding: string;
}

/** A verifier for one method: true when the code is right, false otherwise; throws only for trouble. */
export type FactorVerifier = (ctx: StepUpContext, attempt: FactorAttempt, req: Request) => Promise<boolean>;

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

const verifyTotpFactor: FactorVerifier = async (ctx, { user, code }, req) => {
  const totp = user.mfa.totp;
  if (!totp) return false;
  const key = openTotpSecret(ctx, totp.secret, totpAad(user));
  const step = verifyTotp(key, code, ctx.now(), -1, ctx.totp);
  if (step === null) return false;
  // The compare-and-set is the replay guard: a step is accepted once, and only moving forward,
  // even when two processes race with the same code (ATK-06, ATK-07).
  if (step <= totp.lastStep || !(await ctx.users.advanceTotpStep(user.tenantId, user.id, step))) {
    await ctx.record(req, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'totp_replay', details: { method: 'totp' } });
    ctx.notify(user, { event: 'totp_replay', method: 'totp' });
    return false;
  }
  return true;
};

const verifyBackupCode: FactorVerifier = async (ctx, { user, code }, req) => {
  const normalised = normaliseBackupCode(code);
  const salt = user.mfa.backupCodeSalt;
  const keyId = user.mfa.backupCodeKeyId;
  if (!normalised || !salt || !keyId) return false;
  const hash = macCode(ctx.backupKey(keyId), salt, normalised);
  if (!(await ctx.users.consumeBackupCode(user.tenantId, user.id, hash, new Date(ctx.now())))) return false;
  const remaining = user.mfa.backupCodes.filter((c) => !c.usedAt).length - 1;
  await ctx.record(req, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'backup_code_used', details: { remaining } });
  ctx.notify(user, { event: 'backup_code_used', remaining });
  return true;
};

/** Verifiers by method; the out-of-band module adds `email_otp` and `sms_otp`. */
export const factorVerifiers: Partial<Record<Method, FactorVerifier>> = {
  totp: verifyTotpFactor,
  backup_code: verifyBackupCode,
};

/**
 * Checks one second-factor attempt under the account's budget (shared by every method, every
 * session and every IP; reserved before verifying so parallel guesses cannot overrun it).
 */
export async function verifySecondFactor(ctx: StepUpContext, attempt: FactorAttempt, req: Request): Promise<boolean> {
  const verifier = factorVerifiers[attempt.method];
  if (!verifier) throw new StepUpError('method_not_allowed');
  const key = `${attempt.user.tenantId}:${attempt.user.id}`;
  const n = await ctx.limits.secondFactor.reserve(key);
  const ok = await verifier(ctx, attempt, req);
  if (ok) {
    await ctx.limits.secondFactor.succeeded(key);
    return true;
  }
  const { user } = attempt;
  await ctx.record(req, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'mfa_challenge_failed', details: { method: attempt.method, purpose: attempt.purpose } });
  if (await ctx.limits.secondFactor.failed(key, n)) {
    await ctx.record(req, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'account_locked', details: { lockSeconds: ctx.opts.lockout.lockSeconds } });
    ctx.notify(user, { event: 'account_locked' });
  }
  return false;
}
