/**
 * lib/auth/enrolment.ts as the core runs it (memory stores, injected clock, no HTTP): who may bind a
 * factor (docs/SECURITY.md SR-2, SR-3), TOTP confirmation with RFC 6238's published code, and which
 * factor may go.
 */
import { assertMayEnrol, confirmTotpEnrolment, disableMethod, regenerateBackupCodes, startTotpEnrolment } from '../../lib/auth/enrolment';
import { verifySecondFactor } from '../../lib/auth/second-factor';
import { totpAad } from '../../lib/auth/verifiers';
import type { Subject } from '../../lib/auth/subject';
import type { MfaSession } from '../../lib/state/machine';
import type { Method } from '../../lib/types';
import { CODE_AT_59S, META, RFC_SECRET, coreWorld, refusal, type CoreWorld } from '../helpers/core';

/** An authenticated session whose last proof was `method`, `ageSeconds` ago (none: password only). */
function authenticated(w: CoreWorld, proof?: { method: Method; ageSeconds: number }): MfaSession {
  const at = w.clock.t - (proof?.ageSeconds ?? 0) * 1000;
  return {
    state: 'authenticated',
    aal: proof ? 2 : 1,
    authTime: w.clock.t,
    validFrom: w.clock.t,
    ...(proof ? { proof: { method: proof.method, at }, mfaVerifiedAt: at } : {}),
  };
}

const subject = async (w: CoreWorld, mfa: MfaSession, kind: Subject['kind'] = 'authenticated'): Promise<Subject> => ({
  tenantId: w.tenant.id,
  userId: w.user.id,
  kind,
  mfa,
  binding: 'binding-1',
  user: await w.reload(),
  tenant: w.tenant,
});

describe('enrolment in the core', () => {
  it('the password alone never binds a factor next to an existing one; a fresh, strong enough step-up does (SR-3)', async () => {
    const w = await coreWorld();
    const may = async (mfa: MfaSession, kind: Subject['kind'] = 'authenticated') => {
      try {
        assertMayEnrol(w.ctx, await subject(w, mfa, kind), 'sms_otp');
        return 'ok';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(await may(authenticated(w))).toBe('step_up_required');
    // A stale proof (older than the policy's 300 s) is not enough, nor an email code next to TOTP.
    expect(await may(authenticated(w, { method: 'totp', ageSeconds: 301 }))).toBe('step_up_required');
    expect(await may(authenticated(w, { method: 'email_otp', ageSeconds: 1 }))).toBe('step_up_required');
    expect(await may(authenticated(w, { method: 'totp', ageSeconds: 1 }))).toBe('ok');
    // An enrolling session (a factor the policy dropped) must have proved one at login.
    expect(await may({ state: 'enrollment_required', validFrom: w.clock.t }, 'enrolling')).toBe('step_up_required');
  });

  it('email codes are never an administrator’s first factor, and a method the policy leaves out is refused', async () => {
    const admin = await coreWorld({ roles: ['admin'], totp: false });
    const s = await subject(admin, authenticated(admin));
    expect(await refusal(Promise.resolve().then(() => assertMayEnrol(admin.ctx, s, 'email_otp')))).toMatchObject({ code: 'method_not_allowed', message: expect.stringContaining('Administrators') });
    expect(() => assertMayEnrol(admin.ctx, s, 'totp')).not.toThrow();

    const narrow = await coreWorld({ policy: { allowedMethods: ['totp'] }, totp: false });
    expect(await refusal(Promise.resolve().then(async () => assertMayEnrol(narrow.ctx, await subject(narrow, authenticated(narrow)), 'sms_otp')))).toMatchObject({ code: 'method_not_allowed' });
  });

  it('TOTP: the confirming code activates the factor, issues backup codes, and cannot sign in again', async () => {
    const w = await coreWorld({ totp: false });
    const s = await subject(w, authenticated(w));
    const started = await startTotpEnrolment(w.ctx, s);
    expect(started.otpauthUrl).toMatch(/^otpauth:\/\/totp\/Unit:alice%40example\.com\?secret=[A-Z2-7]+&issuer=Unit/);
    expect(started.qrCode).toMatch(/^data:image\/png;base64,/);
    // The sealed secret opens only for this user; here the RFC secret is sealed the same way to use its published code.
    const sealed = w.ctx.box.seal(RFC_SECRET, totpAad(w.user));
    expect(await refusal(confirmTotpEnrolment(w.ctx, META, s, sealed, '000000'))).toMatchObject({ code: 'invalid_code' });
    const codes = await confirmTotpEnrolment(w.ctx, META, s, sealed, CODE_AT_59S);
    expect(codes).toHaveLength(10);
    const user = await w.reload();
    expect([user.mfa.totp?.lastStep, user.mfa.backupCodes.length]).toEqual([1, 10]);
    expect(await w.auditTypes()).toContain('mfa_enrolled');
    // The step that confirmed enrolment is used: the same code does not sign in.
    const target = { purpose: 'step_up' as const, tenantId: w.tenant.id, userId: w.user.id, binding: 'b', validFrom: w.clock.t };
    expect(await refusal(verifySecondFactor(w.ctx, { target, method: 'totp', code: CODE_AT_59S, meta: META }))).toMatchObject({ code: 'invalid_code' });
    expect(await refusal(startTotpEnrolment(w.ctx, await subject(w, authenticated(w))))).toMatchObject({ code: 'already_enrolled' });
  });

  it('which factor may go: not the last under a mandatory policy, not down to email alone for an admin; backup codes go with the last', async () => {
    const mandatory = await coreWorld({ policy: { mfaRequired: true } });
    expect(await refusal(disableMethod(mandatory.ctx, META, mandatory.user, mandatory.tenant, 'totp'))).toMatchObject({ code: 'policy_requires_mfa' });

    const admin = await coreWorld({ roles: ['admin'] });
    await admin.ctx.users.update(admin.tenant.id, admin.user.id, { mfa: { email: { enabledAt: new Date(admin.clock.t) } } });
    expect(await refusal(disableMethod(admin.ctx, META, await admin.reload(), admin.tenant, 'totp'))).toMatchObject({ code: 'policy_requires_mfa', message: expect.stringContaining('email') });

    const free = await coreWorld();
    await disableMethod(free.ctx, META, free.user, free.tenant, 'totp');
    const after = await free.reload();
    expect([after.mfa.totp ?? null, after.mfa.backupCodes]).toEqual([null, []]);
    expect(await refusal(regenerateBackupCodes(free.ctx, META, after))).toMatchObject({ code: 'forbidden' });
  });
});
