/**
 * Issue 12 items 2, 3, 5, 6, 10 (docs/SECURITY.md SR-2, SR-3, SR-5, SR-6, SR-10): a weak factor never
 * unlocks strong actions; a policy change never lets the password alone bind a factor; lockouts
 * escalate to a hard cap; an account lock survives a Redis restart; a user sees an admin by role only.
 */
import { DevOutbox } from '../../lib/delivery/outbox';
import { internalContextOf } from '../../testing';
import type { TenantRecord, UserRecord } from '../../lib/types';
import { agent, buildApp, codeFor, enrolTotp, expectError, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { seedTotpAndCodes } from '../helpers/sessions';
import { login, wrongCode, type Agent } from '../helpers/security';

const PHONE = '+14155552671';

describeWithRedis('weak factors, policy changes, lockout escalation (SR-2, SR-3, SR-5, SR-6, SR-10)', () => {
  let t: TestApp;
  let outbox: DevOutbox;
  let acme: TenantRecord;
  let alice: UserRecord;

  const lastCode = (to: string) => /\b(\d{6})\b/.exec(outbox.list({ to })[0]!.text)![1]!;

  beforeEach(async () => {
    outbox = new DevOutbox();
    t = buildApp({ redis: true, overrides: { mailer: outbox, sms: outbox, oob: { cooldownSeconds: 0 }, lockout: { maxFailures: 3, lockSeconds: 60, maxLocksPerDay: 3 } } });
    acme = await seedTenant(t, 'acme');
    alice = (await seedUser(t, acme.id)).user;
  });
  afterEach(() => t.close());

  /** alice with TOTP (+ backup codes) and email codes, seeded; returns the TOTP secret and the backup codes. */
  async function totpAndEmail() {
    const enrolled = await seedTotpAndCodes(t, alice);
    await t.users.update(acme.id, alice.id, { mfa: { email: { enabledAt: new Date(t.clock.now()) } } });
    t.clock.advance(30);
    return enrolled;
  }

  describe('a weak factor never unlocks strong actions (SR-2)', () => {
    it('an email-code login cannot regenerate backup codes, remove TOTP, add an authenticator or step up by email', async () => {
      const { secret } = await totpAndEmail();
      const a = agent(t);
      expect((await login(a).expect(200)).body.methods).toEqual(['totp', 'backup_code', 'email_otp']);
      await a.post('/auth/mfa/email/send').send({}).expect(202);
      const done = await a.post('/auth/mfa/challenge').send({ method: 'email_otp', code: lastCode(alice.email) }).expect(200);
      expect(done.body).toMatchObject({ state: 'authenticated', aal: 1 });

      const regen = await a.post('/auth/mfa/backup-codes/regenerate').send({});
      expectError(regen, 'step_up_required', 401);
      expect(regen.body.methods).toEqual(['totp']);
      expectError(await a.post('/auth/mfa/disable').send({ method: 'totp' }), 'step_up_required', 401);
      expectError(await a.post('/auth/mfa/sms/enroll').send({ phone: PHONE }), 'step_up_required', 401);
      await a.post('/auth/mfa/email/send').send({}).expect(202);
      expectError(await a.post('/auth/step-up').send({ method: 'email_otp', code: lastCode(alice.email) }), 'method_not_allowed', 403);
      // The factors are untouched; a TOTP step-up then unlocks the action.
      expect((await t.users.findById(acme.id, alice.id))!.mfa.totp).toBeTruthy();
      await a.post('/auth/step-up').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
      await a.post('/auth/mfa/backup-codes/regenerate').send({}).expect(200);
    });

    it('a backup-code step-up does not vouch for new backup codes', async () => {
      const { backupCodes } = await totpAndEmail();
      const a = agent(t);
      await login(a).expect(200);
      await a.post('/auth/mfa/challenge').send({ method: 'backup_code', code: backupCodes[0] }).expect(200);
      expectError(await a.post('/auth/mfa/backup-codes/regenerate').send({}), 'step_up_required', 401);
    });

    it('an administrator can never be left with email codes as the only factor, removing TOTP included', async () => {
      const admin = (await seedUser(t, acme.id, 'root@acme.test', 'correct horse battery staple', ['admin'])).user;
      const a = agent(t);
      const first = await login(a, 'root@acme.test').expect(200);
      expect(first.body.state).toBe('enrollment_required');
      expect(first.body.methods).toEqual(expect.arrayContaining(['totp', 'sms_otp']));
      expect(first.body.methods).not.toContain('email_otp');
      expectError(await a.post('/auth/mfa/email/enroll').send({}), 'method_not_allowed', 403);
      const { secret } = await enrolTotp(t, a);
      await a.post('/auth/mfa/email/enroll').send({}).expect(202);
      await a.post('/auth/mfa/email/verify').send({ code: lastCode(admin.email) }).expect(200);
      t.clock.advance(30);
      await a.post('/auth/step-up').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
      expectError(await a.post('/auth/mfa/disable').send({ method: 'totp' }), 'policy_requires_mfa', 403);
      expect((await t.users.findById(acme.id, admin.id))!.mfa.totp).toBeTruthy();
    });
  });

  describe('a policy change never lets the password alone bind a factor (SR-3)', () => {
    it('a TOTP user whose method the policy dropped proves TOTP before enrolling a phone; with a grace period too', async () => {
      const { secret } = await totpAndEmail();
      await t.tenants.updatePolicy(acme.id, { ...acme.policy, allowedMethods: ['sms_otp', 'backup_code'], mfaRequired: true, gracePeriodDays: 30, mfaRequiredSince: new Date(t.clock.now()) });
      const a = agent(t);
      const res = await login(a).expect(200);
      expect(res.body).toMatchObject({ state: 'mfa_required', methods: ['totp', 'backup_code', 'email_otp'] });
      // The password alone binds nothing.
      expectError(await a.post('/auth/mfa/sms/enroll').send({ phone: PHONE }), 'unauthenticated', 401);
      const proved = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
      expect(proved.body).toMatchObject({ state: 'enrollment_required', methods: ['sms_otp'] });
      await a.post('/auth/mfa/sms/enroll').send({ phone: PHONE }).expect(202);
      const done = await a.post('/auth/mfa/sms/verify').send({ code: lastCode(PHONE) }).expect(200);
      expect(done.body.enabled).toBe(true);
      expect((await a.get('/auth/session').expect(200)).body).toMatchObject({ state: 'authenticated', aal: 2 });
    });

    it('a phone is never replaced without proof of an existing factor', async () => {
      const a = agent(t);
      await login(a).expect(200);
      await a.post('/auth/mfa/sms/enroll').send({ phone: PHONE }).expect(202);
      await a.post('/auth/mfa/sms/verify').send({ code: lastCode(PHONE) }).expect(200);
      t.clock.advance(301); // the enrolment's proof is stale now
      expectError(await a.post('/auth/mfa/sms/enroll').send({ phone: '+14155550000' }), 'step_up_required', 401);
      expect((await t.users.findById(acme.id, alice.id))!.mfa.sms!.phone).toBe(PHONE);
    });
  });

  describe('lockout escalates to a hard cap, and lives in the user record (SR-5, SR-10)', () => {
    async function threeWrong(secret: string): Promise<Agent> {
      const a = agent(t);
      expect((await login(a).expect(200)).body.state).toBe('mfa_required');
      for (let i = 0; i < 3; i++) await a.post('/auth/mfa/challenge').send({ method: 'totp', code: wrongCode(secret, t.clock.now()) }).expect(401);
      return a;
    }

    it('each lock within a day lasts longer; the third needs a backup code or an admin; the password step stays usable', async () => {
      const { secret, backupCodes } = await totpAndEmail();
      let a = await threeWrong(secret);
      const first = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) });
      expectError(first, 'account_locked', 423);
      expect(Number(first.headers['retry-after'])).toBeLessThanOrEqual(60);

      t.clock.advance(61);
      a = await threeWrong(secret);
      t.clock.advance(61); // the first lock's length has passed; the second one's has not
      a = agent(t);
      await login(a).expect(200);
      const second = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) });
      expectError(second, 'account_locked', 423);
      expect(Number(second.headers['retry-after'])).toBeGreaterThan(120);
      expect(Number(second.headers['retry-after'])).toBeLessThanOrEqual(240);

      t.clock.advance(240);
      a = await threeWrong(secret);
      t.clock.advance(2 * 86400);
      a = agent(t);
      await login(a).expect(200); // the password step still works
      const hard = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) });
      expectError(hard, 'account_locked', 423);
      expect(hard.headers['retry-after']).toBeUndefined();
      // A backup code (80 bits: not guessable) opens it, and the escalation starts again.
      await a.post('/auth/mfa/challenge').send({ method: 'backup_code', code: backupCodes[0] }).expect(200);
      expect((await t.users.findById(acme.id, alice.id))!).toMatchObject({ lockCount: 0, lockedUntil: null });
    });

    it('an admin MFA reset lifts a hard lock', async () => {
      const { secret } = await totpAndEmail();
      for (let i = 0; i < 3; i++) {
        await threeWrong(secret);
        t.clock.advance(61 * 4 ** i);
      }
      expect((await t.users.findById(acme.id, alice.id))!.lockCount).toBe(3);
      const root = (await seedUser(t, acme.id, 'root@acme.test', 'correct horse battery staple', ['admin'])).user;
      const ra = agent(t);
      await login(ra, 'root@acme.test').expect(200);
      await enrolTotp(t, ra);
      await ra.post(`/admin/tenants/acme/users/${alice.id}/mfa/reset`).send({}).expect(204);
      expect((await t.users.findById(acme.id, alice.id))!).toMatchObject({ lockCount: 0, lockedUntil: null });
      expect(root.id).toBeTruthy();
    });

    it('a lock survives Redis losing every key (no persistence): the right code is still refused', async () => {
      const { secret } = await totpAndEmail();
      await threeWrong(secret);
      const prefix = internalContextOf(t.stepUp).opts.redisPrefix;
      const keys = await t.redis!.keys(`${prefix}*`);
      if (keys.length) await t.redis!.del(...keys);
      const a = agent(t);
      await login(a).expect(200);
      expectError(await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }), 'account_locked', 423);
    });
  });

  it("a user's own security events show an administrator by role only (SR-6)", async () => {
    await totpAndEmail();
    const ra = agent(t);
    await seedUser(t, acme.id, 'root@acme.test', 'correct horse battery staple', ['admin']);
    await login(ra, 'root@acme.test').set('User-Agent', 'AdminBrowser/1.0').expect(200);
    await enrolTotp(t, ra);
    await ra.post(`/admin/tenants/acme/users/${alice.id}/mfa/reset`).set('User-Agent', 'AdminBrowser/1.0').send({}).expect(204);
    const a = agent(t);
    await login(a).set('User-Agent', 'AliceBrowser/2.0').expect(200);
    const { events } = (await a.get('/auth/security-events').expect(200)).body as { events: Array<Record<string, unknown>> };
    const reset = events.find((e) => e.type === 'admin_mfa_reset')!;
    expect(reset).toMatchObject({ actor: 'admin', ip: null, userAgent: null });
    expect(JSON.stringify(reset)).not.toMatch(/AdminBrowser|actorTenantId|actorId/);
    expect(events.find((e) => e.type === 'login_succeeded')).toMatchObject({ actor: 'you', userAgent: 'AliceBrowser/2.0' });
  });
});
