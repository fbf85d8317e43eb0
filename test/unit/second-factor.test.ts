/**
 * The second-factor pipeline (lib/auth/second-factor.ts) as the core runs it: no Express, no Passport,
 * no Redis. The context is built by `createContext` on memory stores and the injected clock; TOTP codes
 * are RFC 6238's published test values (SHA-1, T = 59 s), not computed by the code under test.
 */
import { verifySecondFactor, type FactorAttempt, type FactorTarget } from '../../lib/auth/second-factor';
import { decideAfterPassword, pendingSession, type PendingLogin } from '../../lib/state/machine';
import type { Method } from '../../lib/types';
import type { StepUpContext } from '../../lib/context';
import { CODE_AT_59S, META, RFC_SECRET, coreWorld as world, refusal, type CoreWorld as World } from '../helpers/core';

/** The pending login the password step would open for the user now. */
async function pendingFor(w: World, id = `login-${Math.random()}`): Promise<PendingLogin> {
  const user = (await w.ctx.users.findById(w.tenant.id, w.user.id))!;
  const decision = decideAfterPassword(user, w.tenant, w.clock.t);
  if (decision.state === 'authenticated') throw new Error('expected a pending login');
  return pendingSession(decision, user, w.tenant, id, w.clock.t, w.ctx.opts.pendingTtlSeconds).pending!;
}

const loginTarget = (pending: PendingLogin, validFrom = pending.createdAt): FactorTarget => ({ purpose: 'login', pending, validFrom });

const attempt = (target: FactorTarget, method: Method, code: string): FactorAttempt => ({ target, method, code, meta: META });

const auditTypes = (w: World) => w.auditTypes();

describe('verifySecondFactor: the one pipeline, on memory stores and the injected clock', () => {
  it('a TOTP code for the pending login proves the user (aal 2), loaded once with the tenant; the same code again is refused', async () => {
    const w = await world();
    const pending = await pendingFor(w);
    expect(pending.methods).toEqual(expect.arrayContaining(['totp', 'backup_code']));

    const result = await verifySecondFactor(w.ctx, attempt(loginTarget(pending), 'totp', CODE_AT_59S));
    expect({ user: result.user.id, tenant: result.tenant.slug, method: result.method, aal: result.aal }).toEqual({ user: w.user.id, tenant: 'acme', method: 'totp', aal: 2 });
    expect((await w.ctx.users.findById(w.tenant.id, w.user.id))!.mfa.lastVerifiedAt?.getTime()).toBe(59_000);

    // A replay in a new login (same step) fails: the step was claimed.
    expect(await refusal(verifySecondFactor(w.ctx, attempt(loginTarget(await pendingFor(w)), 'totp', CODE_AT_59S)))).toMatchObject({ code: 'invalid_code' });
    expect(await auditTypes(w)).toContain('mfa_challenge_failed');
  });

  it('a method the pending login does not offer is refused before any budget is spent or failure recorded', async () => {
    const w = await world();
    const pending = await pendingFor(w);
    expect(pending.methods).not.toContain('sms_otp');
    expect(await refusal(verifySecondFactor(w.ctx, attempt(loginTarget(pending), 'sms_otp', '123456')))).toMatchObject({ code: 'method_not_allowed' });
    expect(await auditTypes(w)).not.toContain('mfa_challenge_failed');
    // The full per-login budget is still there: the right code passes.
    expect((await verifySecondFactor(w.ctx, attempt(loginTarget(pending), 'totp', CODE_AT_59S))).aal).toBe(2);
  });

  it("wrong codes: the login's own budget ends it at the 5th, the account's budget locks the user record, and the lock holds for the right code", async () => {
    const w = await world();
    const first = loginTarget(await pendingFor(w));
    for (let i = 1; i <= 4; i++) expect(await refusal(verifySecondFactor(w.ctx, attempt(first, 'totp', '000000')))).toMatchObject({ code: 'invalid_code' });
    expect(await refusal(verifySecondFactor(w.ctx, attempt(first, 'totp', '000000')))).toMatchObject({ code: 'challenge_expired' });
    // The same pending login stays dead, even with the right code.
    expect(await refusal(verifySecondFactor(w.ctx, attempt(first, 'totp', CODE_AT_59S)))).toMatchObject({ code: 'challenge_expired' });

    // A second login spends the rest of the account's 10: the 10th failure locks the account durably.
    const second = loginTarget(await pendingFor(w));
    for (let i = 1; i <= 5; i++) await refusal(verifySecondFactor(w.ctx, attempt(second, 'totp', '111111')));
    const locked = (await w.ctx.users.findById(w.tenant.id, w.user.id))!;
    expect([locked.lockCount, locked.lockedUntil?.getTime()]).toEqual([1, 59_000 + 900_000]);
    expect(await auditTypes(w)).toContain('account_locked');

    const third = loginTarget(await pendingFor(w));
    expect(await refusal(verifySecondFactor(w.ctx, attempt(third, 'totp', CODE_AT_59S)))).toEqual({ code: 'account_locked', retryAfterSeconds: 900, message: expect.any(String) });
    // After the lock, a right code (next step) works and clears the lock.
    w.clock.t += 900_000 + 30_000;
    const fourth = loginTarget(await pendingFor(w));
    const { hotp, decodeSecret, stepAt } = await import('../../lib/factors/totp');
    expect((await verifySecondFactor(w.ctx, attempt(fourth, 'totp', hotp(decodeSecret(RFC_SECRET), stepAt(w.clock.t))))).aal).toBe(2);
    const after = (await w.ctx.users.findById(w.tenant.id, w.user.id))!;
    expect([after.lockCount, after.lockedUntil]).toEqual([0, null]);
  });

  it('a hard lock refuses TOTP and opens only for a backup code', async () => {
    const w = await world();
    await w.ctx.users.update(w.tenant.id, w.user.id, { lockCount: 3, lockedUntil: new Date(w.clock.t + 365 * 86_400_000) });
    const pending = await pendingFor(w);
    const r = await refusal(verifySecondFactor(w.ctx, attempt(loginTarget(pending), 'totp', CODE_AT_59S)));
    expect(r).toMatchObject({ code: 'account_locked', retryAfterSeconds: undefined });
    const ok = await verifySecondFactor(w.ctx, attempt(loginTarget(pending), 'backup_code', w.backupCodes[0]!));
    expect([ok.method, ok.aal]).toEqual(['backup_code', 2]);
    expect((await w.ctx.users.findById(w.tenant.id, w.user.id))!.lockedUntil).toBeNull();
  });

  it('a session older than the revocation mark, and a disabled user, are unauthenticated (SR-1)', async () => {
    const w = await world();
    const pending = await pendingFor(w);
    await w.ctx.users.update(w.tenant.id, w.user.id, { sessionsValidAfter: new Date(w.clock.t) });
    expect(await refusal(verifySecondFactor(w.ctx, attempt(loginTarget(pending, w.clock.t - 1), 'totp', CODE_AT_59S)))).toMatchObject({ code: 'unauthenticated' });

    await w.ctx.users.update(w.tenant.id, w.user.id, { disabledAt: new Date(w.clock.t) });
    expect(await refusal(verifySecondFactor(w.ctx, attempt(loginTarget(pending), 'totp', CODE_AT_59S)))).toMatchObject({ code: 'unauthenticated' });
    expect(await auditTypes(w)).not.toContain('mfa_challenge_failed');
  });

  it('a step-up needs a factor as strong as the strongest the user has (SR-2): email cannot stand in for TOTP', async () => {
    const w = await world();
    await w.ctx.users.update(w.tenant.id, w.user.id, { mfa: { email: { enabledAt: new Date(w.clock.t) } } });
    const stepUp: FactorTarget = { purpose: 'step_up', tenantId: w.tenant.id, userId: w.user.id, binding: 'session-binding', validFrom: w.clock.t };
    const r = await refusal(verifySecondFactor(w.ctx, attempt(stepUp, 'email_otp', '123456')));
    expect(r).toMatchObject({ code: 'method_not_allowed', message: 'Confirm with a stronger factor.' });
    expect((await verifySecondFactor(w.ctx, attempt(stepUp, 'totp', CODE_AT_59S))).method).toBe('totp');
  });

  it('the verifiers are an explicit map: the pipeline runs the one given and refuses a method without one', async () => {
    const w = await world();
    const seen: string[] = [];
    const only = { totp: async (_ctx: StepUpContext, a: { code: string; purpose: string; binding: string }) => (seen.push(`${a.purpose}:${a.binding}:${a.code}`), true) };
    const pending = await pendingFor(w, 'login-42');
    const result = await verifySecondFactor(w.ctx, attempt(loginTarget(pending), 'totp', 'anything'), only);
    expect([result.method, seen]).toEqual(['totp', ['login:login-42:anything']]);
    expect(await refusal(verifySecondFactor(w.ctx, attempt(loginTarget(await pendingFor(w)), 'backup_code', w.backupCodes[0]!), only))).toMatchObject({ code: 'method_not_allowed' });
  });
});
