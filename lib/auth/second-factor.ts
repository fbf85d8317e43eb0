import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import type { OobChannel } from '../factors/oob';
import type { PendingLogin } from '../state/machine';
import { aalOf, enrolledFactors, proofMethods, satisfiesStepUp } from '../state/policy';
import type { Method, RequestMeta, TenantRecord, UserRecord } from '../types';
import { VERIFIERS, type FactorVerifier } from './verifiers';
import { peekAssertion } from '../factors/webauthn';

/**
 * Who a second factor is for, as the HTTP session knows it (never anything from the body: MFA-07).
 * - `login`: the pending user of an `mfa_required` session;
 * - `step_up`: the authenticated user (codes bound to the session's binding id);
 * - `enrol`: confirming a new email/SMS channel (the code was sent to the new destination);
 * - `passwordless`: a discoverable passkey names its user (its user handle); the challenge is bound to
 *   the anonymous session that asked for the options, the user is only a claim until verified.
 */
export type FactorTarget =
  | { purpose: 'login'; pending: PendingLogin; validFrom: number }
  | { purpose: 'step_up'; tenantId: string; userId: string; binding: string; validFrom: number }
  | { purpose: 'enrol'; tenantId: string; userId: string; binding: string; validFrom: number; channel: OobChannel }
  | { purpose: 'passwordless'; tenantId: string; userId: string; binding: string; validFrom: number };

export interface FactorAttempt {
  target: FactorTarget;
  method: Method;
  code: string;
  /** A passkey's answer (`navigator.credentials.get()` as JSON) for `webauthn`; codes leave it out. */
  response?: unknown;
  meta: RequestMeta;
}

/** What a verified factor proves. The user and tenant are loaded once, here, and handed on. */
export interface FactorResult {
  user: UserRecord;
  tenant: TenantRecord;
  method: Method;
  aal: 1 | 2;
}

const DAY_MS = 86_400_000;
/** A hard lock lasts until an administrator or a backup code opens it (docs/SECURITY.md SR-5). */
const HARD_LOCK_MS = 10 * 365 * DAY_MS;

const idsOf = (t: FactorTarget) => (t.purpose === 'login' ? { tenantId: t.pending.tenantId, userId: t.pending.userId } : { tenantId: t.tenantId, userId: t.userId });
const bindingOf = (t: FactorTarget) => (t.purpose === 'login' ? t.pending.id : t.binding);

/**
 * THE second-factor pipeline (login challenge, step-up, email/SMS enrolment confirmation):
 * 1. load the user and the tenant once; a gone, disabled or revoked account is `unauthenticated`;
 * 2. the method must be one this target may use (a step-up must be strong enough: SR-2);
 * 3. the account's durable lock (SR-5, survives a Redis restart);
 * 4. the per-login budget (login) and the account budget, reserved BEFORE verifying (ATK-04, ATK-26);
 * 5. the verifier for the method (an explicit map, lib/auth/verifiers.ts);
 * 6. audit, lock escalation on failure; `lastVerifiedAt` on success.
 */
export async function verifySecondFactor(ctx: StepUpContext, attempt: FactorAttempt, verifiers: Readonly<Partial<Record<Method, FactorVerifier>>> = VERIFIERS): Promise<FactorResult> {
  const { target, method, meta } = attempt;
  const { tenantId, userId } = idsOf(target);
  const [user, tenant] = await Promise.all([ctx.users.findById(tenantId, userId), ctx.tenants.findById(tenantId)]);
  if (!user || !tenant || user.disabledAt) throw new StepUpError('unauthenticated');
  // The durable revocation mark (written with every credential change): a session older than it is dead.
  if (user.sessionsValidAfter && target.validFrom < new Date(user.sessionsValidAfter).getTime()) throw new StepUpError('unauthenticated');

  if (target.purpose === 'login') {
    if (!target.pending.methods.includes(method)) throw new StepUpError('method_not_allowed');
  } else if (target.purpose === 'passwordless') {
    // The passkey stands for both factors: only a passkey, only where the tenant turned it on, never
    // for an address not verified yet (that login goes through the password step).
    if (method !== 'webauthn' || !tenant.policy.passwordlessPasskeys || !tenant.policy.allowedMethods.includes('webauthn')) throw new StepUpError('method_not_allowed');
    if (user.emailVerifiedAt === null) throw new StepUpError('invalid_code');
    // Only an assertion from one of the user's own passkeys is an attempt on the account: a user id
    // alone (the user handle is not a secret) must not be enough to spend the account's budget and
    // lock it. Credential ids are never shown to anyone who has not passed the password step.
    const claimed = peekAssertion(attempt.response)?.credentialId;
    if (!claimed || !(user.mfa.webauthn ?? []).some((c) => c.id === claimed)) {
      await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: null, type: 'login_failed', details: { step: 'passkey', reason: 'unknown_credential' } });
      throw new StepUpError('invalid_code');
    }
  } else if (target.purpose === 'step_up') {
    if (!proofMethods(user, tenant.policy).includes(method)) throw new StepUpError('method_not_allowed');
    // A weak factor cannot stand in for a strong one the user has (ATK-17, SR-2).
    if (!satisfiesStepUp(method, user)) throw new StepUpError('method_not_allowed', 'Confirm with a stronger factor.');
  }

  const now = ctx.now();
  const lockedUntil = user.lockedUntil ? new Date(user.lockedUntil).getTime() : 0;
  const hardLocked = lockedUntil - now > 30 * DAY_MS;
  // While hard-locked only a backup code (80 bits: not guessable) opens the account; ordinary locks refuse everything.
  if (lockedUntil > now && !(hardLocked && method === 'backup_code')) {
    throw new StepUpError('account_locked', hardLocked ? 'Too many failed attempts: use a backup code or ask an administrator.' : undefined, {
      retryAfterSeconds: hardLocked ? undefined : Math.max(1, Math.ceil((lockedUntil - now) / 1000)),
    });
  }

  let tries = 0;
  let n: number;
  const budgetKey = `${user.tenantId}:${user.id}`;
  // One Redis round trip for the budgets on a single Redis (lib/limits/attempts.ts reserveAlong).
  if (target.purpose === 'login') {
    // Per-login budget, counted outside the session (ATK-26), then the account's.
    const r = await ctx.limits.secondFactor.reserveAlong(budgetKey, { key: `challenge:${target.pending.id}`, ttlMs: ctx.opts.pendingTtlSeconds * 1000, max: ctx.opts.challengeMaxFailures });
    tries = r.tries;
    if (r.n === null) throw new StepUpError('challenge_expired', 'Too many wrong codes; start again with your password.');
    n = r.n;
  } else {
    n = await ctx.limits.secondFactor.reserve(budgetKey);
  }

  const verify = verifiers[method];
  if (!verify) throw new StepUpError('method_not_allowed');
  const purpose = target.purpose === 'step_up' ? 'step_up' : target.purpose;
  const ok = await verify(ctx, { user, code: attempt.code, response: attempt.response, purpose, binding: bindingOf(target), meta });

  if (ok !== true) {
    await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'mfa_challenge_failed', details: { method, purpose } });
    if (await ctx.limits.secondFactor.failed(budgetKey, n)) await lockAccount(ctx, user, meta);
    // An expired enrolment code asks for a new one (410); at login or step-up it is simply a wrong code.
    if (ok === 'expired' && target.purpose === 'enrol') throw new StepUpError('challenge_expired', 'The code expired; ask for a new one.');
    if (target.purpose === 'login' && tries >= ctx.opts.challengeMaxFailures) {
      throw new StepUpError('challenge_expired', 'Too many wrong codes; start again with your password.');
    }
    throw new StepUpError('invalid_code');
  }

  await ctx.limits.secondFactor.succeeded(budgetKey);
  const at = new Date(now);
  const unlock = user.lockCount || user.lockedUntil ? { lockCount: 0, lockedUntil: null } : {};
  if (target.purpose !== 'enrol') await ctx.users.update(user.tenantId, user.id, { ...unlock, mfa: { lastVerifiedAt: at } });
  return { user, tenant, method, aal: aalOf(method, ctx.opts.emailOtpCountsAsSecondFactor) };
}

/**
 * The account's budget ran out: a lock in the user record (durable: a Redis restart does not lift it,
 * SR-5), each further lock within a day four times longer, and past `maxLocksPerDay` a hard lock that
 * only a backup code or an administrator lifts. The password step stays usable (recovery).
 */
async function lockAccount(ctx: StepUpContext, user: UserRecord, meta: RequestMeta): Promise<void> {
  const now = ctx.now();
  const { lockSeconds, maxLocksPerDay } = ctx.opts.lockout;
  const last = user.lockedUntil ? new Date(user.lockedUntil).getTime() : 0;
  // A lock that ended more than a day ago starts the escalation again.
  const count = last > now - DAY_MS ? (user.lockCount ?? 0) + 1 : 1;
  const hard = count >= maxLocksPerDay;
  const ms = hard ? HARD_LOCK_MS : lockSeconds * 1000 * 4 ** (count - 1);
  await ctx.users.update(user.tenantId, user.id, { lockCount: count, lockedUntil: new Date(now + ms) });
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'account_locked', details: { lockSeconds: hard ? null : ms / 1000, lockCount: count, hard } });
  ctx.notify(user, { event: 'account_locked' });
}

/** Whether the user still has a factor other than the ones being removed (used by the removal rules). */
export function remainingFactors(user: UserRecord, removing: Method): Method[] {
  return enrolledFactors(user).filter((m) => m !== removing);
}
