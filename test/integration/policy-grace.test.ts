import { internalContextOf } from '../../testing';
import request from 'supertest';
import type { TenantRecord } from '../../lib/types';
import { enrolledSession, type SessionAgent } from '../helpers/sessions';
import { agent, buildApp, codeFor, enrolTotp, expectError, seedTenant, seedUser, sidOf, TestClock, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';

type Agent = ReturnType<typeof agent> | SessionAgent;
const PW = 'correct horse battery staple';
const DAY = 86400;

/**
 * A clock ahead of the wall clock: the memory user store stamps `createdAt` with the real time, and
 * grace periods count from max(createdAt, mfaRequiredSince), so the test clock must not lag behind.
 */
function futureClock(): TestClock {
  const c = new TestClock();
  c.t = Math.ceil((Date.now() + DAY * 1000) / 30_000) * 30_000 + 1_000;
  return c;
}

const login = (a: Agent, email: string, tenant = 'acme') => a.post('/auth/login').send({ tenant, email, password: PW });

/** An admin with TOTP at aal 2 with a fresh proof, seeded (an admin's forced first enrolment is tested elsewhere). */
async function adminSession(t: TestApp, tenantId: string, email = 'admin@acme.test'): Promise<Agent> {
  const { user } = await seedUser(t, tenantId, email, PW, ['admin']);
  return enrolledSession(t, user);
}

describeWithRedis('tenant policy: grace period, enrollment_required, and policy changes', () => {
  let t: TestApp;
  let start: number;
  beforeEach(() => {
    t = buildApp({ redis: true, clock: futureClock() });
    start = t.clock.now();
  });
  afterEach(() => t.close());

  describe('grace period', () => {
    let acme: TenantRecord;
    beforeEach(async () => {
      acme = await seedTenant(t, 'acme', { mfaRequired: true, gracePeriodDays: 7 });
      await seedUser(t, acme.id, 'bob@acme.test', PW);
    });

    it('day 6 23:59: authenticated at aal 1 with the enrolment deadline; day 7: enrollment_required', async () => {
      const deadline = new Date(start + 7 * DAY * 1000).toISOString();
      expect(new Date(acme.policy.mfaRequiredSince!).getTime()).toBe(start);
      t.clock.advance(7 * DAY - 60);
      const a = agent(t);
      const res = await login(a, 'bob@acme.test').expect(200);
      expect(res.body).toMatchObject({ state: 'authenticated', aal: 1, enrollmentDeadline: deadline });
      const session = await a.get('/auth/session').expect(200);
      expect(session.body).toMatchObject({ state: 'authenticated', aal: 1, enrollmentDeadline: deadline });
      await a.get('/api/profile').expect(200);
      expectError(await a.get('/api/secure'), 'forbidden', 403);
      await a.post('/auth/logout').expect(204);

      t.clock.advance(60);
      const late = await login(agent(t), 'bob@acme.test').expect(200);
      expect(late.body).toMatchObject({ state: 'enrollment_required', methods: ['totp', 'email_otp', 'sms_otp'] /* no relying party here: no passkeys */ });
      expect(late.body.user).toBeUndefined();
    });

    it('counts from the moment MFA became required for users created before', async () => {
      await t.tenants.updatePolicy(acme.id, { ...acme.policy, mfaRequired: false, mfaRequiredSince: null });
      t.clock.advance(30 * DAY);
      const admin = await adminSession(t, acme.id);
      const flipped = await admin.patch('/admin/tenants/acme/policy').send({ mfaRequired: true, gracePeriodDays: 2 }).expect(200);
      const since = t.clock.now();
      expect(flipped.body.mfaRequiredSince).toBe(new Date(since).toISOString());

      const res = await login(agent(t), 'bob@acme.test').expect(200);
      expect(res.body).toMatchObject({ state: 'authenticated', aal: 1, enrollmentDeadline: new Date(since + 2 * DAY * 1000).toISOString() });
      t.clock.advance(2 * DAY);
      expect((await login(agent(t), 'bob@acme.test').expect(200)).body.state).toBe('enrollment_required');
    });

    it('gives no grace with gracePeriodDays 0, nor to admins under any policy', async () => {
      await t.tenants.updatePolicy(acme.id, { ...acme.policy, gracePeriodDays: 0 });
      expect((await login(agent(t), 'bob@acme.test').expect(200)).body.state).toBe('enrollment_required');
      const other = await seedTenant(t, 'relaxed', { mfaRequired: false });
      await seedUser(t, other.id, 'boss@relaxed.test', PW, ['admin']);
      await seedUser(t, other.id, 'carol@relaxed.test', PW);
      expect((await login(agent(t), 'boss@relaxed.test', 'relaxed').expect(200)).body.state).toBe('enrollment_required');
      expect((await login(agent(t), 'carol@relaxed.test', 'relaxed').expect(200)).body).toMatchObject({ state: 'authenticated', aal: 1 });
    });
  });

  describe('enrollment_required', () => {
    let a: Agent;
    let bobId: string;
    let loginCookie: string;
    beforeEach(async () => {
      const acme = await seedTenant(t, 'acme', { mfaRequired: true, gracePeriodDays: 0 });
      bobId = (await seedUser(t, acme.id, 'bob@acme.test', PW)).user.id;
      a = agent(t);
      const res = await login(a, 'bob@acme.test').expect(200);
      expect(res.body.state).toBe('enrollment_required');
      loginCookie = sidOf(res)!;
    });

    it('answers 401 on every route but enrolment, session and logout', async () => {
      const code = { method: 'totp', code: '123456' };
      const refused: Array<[string, () => Promise<{ status: number; body: { error?: string } }>]> = [
        ['GET /api/profile', () => a.get('/api/profile')],
        ['GET /api/secure', () => a.get('/api/secure')],
        ['POST /api/danger', () => a.post('/api/danger').send({})],
        ['GET /auth/mfa/status', () => a.get('/auth/mfa/status')],
        ['POST /auth/mfa/backup-codes/regenerate', () => a.post('/auth/mfa/backup-codes/regenerate').send({})],
        ['POST /auth/mfa/disable', () => a.post('/auth/mfa/disable').send({ method: 'totp' })],
        ['POST /auth/step-up', () => a.post('/auth/step-up').send(code)],
        ['POST /auth/logout-all', () => a.post('/auth/logout-all').send({})],
        ['POST /auth/password', () => a.post('/auth/password').send({ currentPassword: PW, newPassword: 'another long password' })],
        ['GET /admin/tenants', () => a.get('/admin/tenants')],
        ['POST /admin/tenants', () => a.post('/admin/tenants').send({ slug: 'x', name: 'x', admin: { email: 'x@x.test' } })],
        ['GET /admin/tenants/acme/users', () => a.get('/admin/tenants/acme/users')],
        ['POST /admin/tenants/acme/users', () => a.post('/admin/tenants/acme/users').send({ email: 'x@acme.test', role: 'user' })],
        ['POST reset', () => a.post(`/admin/tenants/acme/users/${bobId}/mfa/reset`).send({})],
        ['PATCH policy', () => a.patch('/admin/tenants/acme/policy').send({ mfaRequired: false })],
        ['GET audit', () => a.get('/admin/tenants/acme/audit')],
      ];
      for (const [name, call] of refused) {
        const res = await call();
        expect([name, res.status, res.body.error]).toEqual([name, 401, 'unauthenticated']);
      }
      // The code routes of an mfa_required login have no login to complete here (DESIGN §3: 409).
      for (const [name, call] of [
        ['POST /auth/mfa/challenge', () => a.post('/auth/mfa/challenge').send(code)],
        ['POST /auth/mfa/email/send', () => a.post('/auth/mfa/email/send').send({})],
        ['POST /auth/mfa/sms/send', () => a.post('/auth/mfa/sms/send').send({})],
      ] as const) {
        const res = await call();
        expect([name, res.status, res.body.error]).toEqual([name, 409, 'no_pending_login']);
      }
      const session = await a.get('/auth/session').expect(200);
      expect(session.body).toMatchObject({ state: 'enrollment_required', methods: ['totp', 'email_otp', 'sms_otp'] /* no relying party here: no passkeys */ });
      expect(session.body.user).toBeUndefined();
    });

    it('moves to authenticated aal 2 with a new session id once TOTP is enrolled', async () => {
      expect(loginCookie).toBeDefined();
      const enrol = await a.post('/auth/mfa/totp/enroll').send({}).expect(200);
      expect((await a.get('/auth/session').expect(200)).body.state).toBe('enrollment_required');
      const verify = await a.post('/auth/mfa/totp/verify').send({ code: codeFor(enrol.body.secret, t.clock.now()) }).expect(200);
      expect(verify.body.backupCodes).toHaveLength(10);
      const newCookie = sidOf(verify);
      expect(newCookie).toBeDefined();
      expect(newCookie!.split('.')[0]).not.toBe(loginCookie.split('.')[0]);
      // The pre-enrolment id is gone on the server, not just replaced in the browser.
      const replay = await request(t.app).get('/auth/session').set('Cookie', `sid=${encodeURIComponent(loginCookie)}`).expect(200);
      expect(replay.body.state).toBe('anonymous');
      const session = await a.get('/auth/session').expect(200);
      expect(session.body).toMatchObject({ state: 'authenticated', aal: 2, user: { email: 'bob@acme.test' } });
      await a.get('/api/secure').expect(200);
    });

    it('logs out, and lets the pending enrolment expire', async () => {
      await a.post('/auth/logout').expect(204);
      expect((await a.get('/auth/session').expect(200)).body.state).toBe('anonymous');
      expectError(await a.post('/auth/mfa/totp/enroll').send({}), 'unauthenticated', 401);

      const b = agent(t);
      await login(b, 'bob@acme.test').expect(200);
      t.clock.advance(internalContextOf(t.stepUp).opts.pendingTtlSeconds + 1);
      expectError(await b.post('/auth/mfa/totp/enroll').send({}), 'challenge_expired', 410);
    });
  });

  describe('policy changes', () => {
    let acme: TenantRecord;
    let admin: Agent;
    beforeEach(async () => {
      acme = await seedTenant(t, 'acme');
      admin = await adminSession(t, acme.id);
      await seedUser(t, acme.id, 'bob@acme.test', PW);
    });

    it('applies mfaRequired at the next login', async () => {
      const before = agent(t);
      expect((await login(before, 'bob@acme.test').expect(200)).body).toMatchObject({ state: 'authenticated', aal: 1 });
      await admin.patch('/admin/tenants/acme/policy').send({ mfaRequired: true, gracePeriodDays: 0 }).expect(200);
      expect((await login(agent(t), 'bob@acme.test').expect(200)).body.state).toBe('enrollment_required');
      await admin.patch('/admin/tenants/acme/policy').send({ mfaRequired: false }).expect(200);
      expect((await login(agent(t), 'bob@acme.test').expect(200)).body).toMatchObject({ state: 'authenticated', aal: 1 });
    });

    it('refuses to disable the last factor while MFA is required (403 policy_requires_mfa)', async () => {
      const bob = agent(t);
      await login(bob, 'bob@acme.test').expect(200);
      await enrolTotp(t, bob);
      await admin.patch('/admin/tenants/acme/policy').send({ mfaRequired: true }).expect(200);
      expectError(await bob.post('/auth/mfa/disable').send({ method: 'totp' }), 'policy_requires_mfa', 403);
      expect((await t.users.findByEmail(acme.id, 'bob@acme.test'))!.mfa.totp).toBeTruthy();
      await admin.patch('/admin/tenants/acme/policy').send({ mfaRequired: false }).expect(200);
      await bob.post('/auth/mfa/disable').send({ method: 'totp' }).expect(204);
    });

    it('refuses to enrol a method outside allowedMethods (403 method_not_allowed)', async () => {
      await admin.patch('/admin/tenants/acme/policy').send({ allowedMethods: ['email_otp', 'sms_otp'] }).expect(200);
      const bob = agent(t);
      await login(bob, 'bob@acme.test').expect(200);
      expectError(await bob.post('/auth/mfa/totp/enroll').send({}), 'method_not_allowed', 403);

      await admin.patch('/admin/tenants/acme/policy').send({ mfaRequired: true, gracePeriodDays: 0 }).expect(200);
      const pending = agent(t);
      expect((await login(pending, 'bob@acme.test').expect(200)).body).toMatchObject({ state: 'enrollment_required', methods: ['email_otp', 'sms_otp'] });
      expectError(await pending.post('/auth/mfa/totp/enroll').send({}), 'method_not_allowed', 403);
    });

    it('applies stepUpMaxAgeSeconds from the next login', async () => {
      const bob = agent(t);
      await login(bob, 'bob@acme.test').expect(200);
      const { secret } = await enrolTotp(t, bob);
      await admin.patch('/admin/tenants/acme/policy').send({ stepUpMaxAgeSeconds: 60 }).expect(200);
      t.clock.advance(120);
      await bob.post('/api/danger').send({}).expect(200); // this session keeps the 300 s it logged in with

      const fresh = agent(t);
      await login(fresh, 'bob@acme.test').expect(200);
      await fresh.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
      t.clock.advance(61);
      expectError(await fresh.post('/api/danger').send({}), 'step_up_required', 401);
    });
  });
});
