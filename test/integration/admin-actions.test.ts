import { internalContextOf } from '../../testing';
import { bootstrapSuperadmin } from '../../lib/admin/actions';
import type { SessionsEndedEvent } from '../../lib/events';
import type { TenantRecord, UserRecord } from '../../lib/types';
import { agent, buildApp, codeFor, enrolTotp, expectError, seedTenant, seedUser, TestClock, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { enrolledSession } from '../helpers/sessions';

type Agent = ReturnType<typeof agent>;
const PW = 'correct horse battery staple';

/**
 * A clock ahead of the wall clock: the memory user store stamps `createdAt` with the real time, and
 * grace periods count from max(createdAt, mfaRequiredSince), so the test clock must not lag behind.
 */
function futureClock(): TestClock {
  const c = new TestClock();
  c.t = Math.ceil((Date.now() + 86400_000) / 30_000) * 30_000 + 1_000;
  return c;
}

async function fullSession(t: TestApp, tenant: string, email: string, password = PW): Promise<{ a: Agent; secret: string; backupCodes: string[] }> {
  const a = agent(t);
  await a.post('/auth/login').send({ tenant, email, password }).expect(200);
  return { a, ...(await enrolTotp(t, a)) };
}

/** A fresh step-up with the next TOTP step (a step is accepted once: move the clock first). */
async function stepUp(t: TestApp, a: Agent, secret: string): Promise<void> {
  t.clock.advance(30);
  await a.post('/auth/step-up').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
}

describeWithRedis('admin API: provisioning, listing, MFA reset, policy and audit', () => {
  let t: TestApp;
  let acme: TenantRecord;
  let root: { a: Agent; secret: string };
  let admin: { a: Agent; secret: string; user: UserRecord };
  let notices: jest.Mock;
  let ended: SessionsEndedEvent[];

  beforeEach(async () => {
    t = buildApp({ redis: true, clock: futureClock() });
    notices = jest.fn(async () => undefined);
    internalContextOf(t.stepUp).noticeSender = notices;
    ended = [];
    t.stepUp.events.on('sessions_ended', (e: SessionsEndedEvent) => ended.push(e));
    await bootstrapSuperadmin(internalContextOf(t.stepUp), { email: 'root@platform.test', password: PW });
    acme = await seedTenant(t, 'acme');
    const { user } = await seedUser(t, acme.id, 'admin@acme.test', PW, ['admin']);
    // Signed in with TOTP, seeded (test/helpers/sessions.ts): the login and enrolment flows have their own suites.
    const platform = (await t.tenants.findBySlug('platform'))!;
    const rootSession = await enrolledSession(t, (await t.users.findByEmail(platform.id, 'root@platform.test'))!);
    root = { a: rootSession, secret: rootSession.secret };
    const adminSession = await enrolledSession(t, user);
    admin = { a: adminSession, secret: adminSession.secret, user };
  });
  afterEach(() => t.close());

  describe('POST /admin/tenants', () => {
    it('creates a tenant and its first admin, whose password is shown once and stored hashed', async () => {
      const res = await root.a.post('/admin/tenants').send({ slug: 'initech', name: 'Initech', policy: { mfaRequired: true, gracePeriodDays: 3 }, admin: { email: 'Boss@Initech.test', name: 'Bill' } }).expect(201);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({
        tenant: {
          id: expect.any(String),
          slug: 'initech',
          name: 'Initech',
          policy: { mfaRequired: true, allowedMethods: ['webauthn', 'totp', 'backup_code', 'email_otp', 'sms_otp'], gracePeriodDays: 3, stepUpMaxAgeSeconds: 300, mfaRequiredSince: new Date(t.clock.now()).toISOString(), selfRegistration: false, passwordlessPasskeys: false, rememberDeviceDays: 0 },
          createdAt: expect.any(String),
        },
        admin: { id: expect.any(String), email: 'boss@initech.test' },
        initialPassword: expect.stringMatching(/^[A-Za-z0-9]{20}$/),
      });
      const stored = (await t.users.findById(res.body.tenant.id, res.body.admin.id))!;
      expect(stored.roles).toEqual(['admin']);
      expect(stored.passwordHash).toMatch(/^\$argon2id\$/);
      expect(JSON.stringify(stored)).not.toContain(res.body.initialPassword);

      const audit = await t.audit.list(res.body.tenant.id, { limit: 10 });
      const rootUser = (await t.users.findByEmail((await t.tenants.findBySlug('platform'))!.id, 'root@platform.test'))!;
      expect(audit.map((e) => [e.type, e.actorId])).toEqual(expect.arrayContaining([['tenant_created', rootUser.id], ['user_provisioned', rootUser.id]]));

      // The first admin must enrol a factor at once: no grace for admins.
      const login = await agent(t).post('/auth/login').send({ tenant: 'initech', email: 'boss@initech.test', password: res.body.initialPassword }).expect(200);
      expect(login.body.state).toBe('enrollment_required');
    });

    it('validates the body strictly and refuses a taken slug with 409', async () => {
      const ok = { slug: 'initech', name: 'Initech', admin: { email: 'boss@initech.test' } };
      const bad: unknown[] = [
        { ...ok, slug: 'Initech' },
        { ...ok, slug: 'ini tech' },
        { ...ok, slug: { $ne: null } },
        { ...ok, name: '' },
        { ...ok, extra: 1 },
        { ...ok, admin: { email: 'boss@initech.test', role: 'superadmin' } },
        { ...ok, admin: { email: 'not-an-email' } },
        { slug: 'initech', name: 'Initech' },
        { ...ok, policy: { stepUpMaxAgeSeconds: 0 } },
        { ...ok, policy: { stepUpMaxAgeSeconds: 86401 } },
        { ...ok, policy: { gracePeriodDays: 366 } },
        { ...ok, policy: { allowedMethods: [] } },
        { ...ok, policy: { mfaRequiredSince: '2020-01-01T00:00:00Z' } },
      ];
      for (const b of bad) expectError(await root.a.post('/admin/tenants').send(b as object), 'invalid_request', 400);
      expect(await t.tenants.findBySlug('initech')).toBeNull();
      await root.a.post('/admin/tenants').send(ok).expect(201);
      expectError(await root.a.post('/admin/tenants').send({ ...ok, admin: { email: 'other@initech.test' } }), 'conflict', 409);
      expectError(await root.a.post('/admin/tenants').send({ ...ok, slug: 'platform' }), 'conflict', 409);
    });
  });

  describe('users', () => {
    it('provisions a user (201, password once) and answers 409 for the same email in the tenant', async () => {
      const res = await admin.a.post('/admin/tenants/acme/users').send({ email: 'Carol@Acme.test', name: 'Carol', role: 'user' }).expect(201);
      expect(res.body.user).toMatchObject({ email: 'carol@acme.test', name: 'Carol', roles: ['user'], mfa: { enabled: false, backupCodesRemaining: 0 } });
      expect(res.body.initialPassword).toMatch(/^[A-Za-z0-9]{20}$/);
      expect(JSON.stringify(res.body)).not.toMatch(/passwordHash|argon2/);
      expectError(await admin.a.post('/admin/tenants/acme/users').send({ email: 'carol@acme.test', role: 'admin' }), 'conflict', 409);
      expectError(await admin.a.post('/admin/tenants/acme/users').send({ email: ' CAROL@acme.test', role: 'user' }), 'invalid_request', 400);
      const events = await t.audit.list(acme.id, { limit: 50 });
      expect(events.filter((e) => e.type === 'user_provisioned' && e.userId === res.body.user.id && e.actorId === admin.user.id)).toHaveLength(1);
      const login = await agent(t).post('/auth/login').send({ tenant: 'acme', email: 'carol@acme.test', password: res.body.initialPassword }).expect(200);
      expect(login.body).toMatchObject({ state: 'authenticated', aal: 1 });
    });

    it('lists users page by page with their MFA status and never a secret', async () => {
      const bob = await seedUser(t, acme.id, 'bob@acme.test', PW);
      for (let i = 0; i < 3; i++) await seedUser(t, acme.id, `u${i}@acme.test`, PW);
      const bobSession = await fullSession(t, 'acme', 'bob@acme.test');
      const stored = (await t.users.findById(acme.id, bob.user.id))!;

      const seen: Array<{ id: string; email: string; mfa: { enabled: boolean; backupCodesRemaining: number } }> = [];
      let after: string | null = null;
      for (let page = 0; page < 10; page++) {
        const res: { body: { users: typeof seen; next: string | null } } = await admin.a.get(`/admin/tenants/acme/users?limit=2${after ? `&after=${after}` : ''}`).expect(200);
        expect(res.body.users.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.users);
        const raw = JSON.stringify(res.body);
        for (const secret of [bobSession.secret, stored.mfa.totp!.secret, stored.passwordHash, stored.mfa.backupCodeSalt!, ...stored.mfa.backupCodes.map((c) => c.hash)]) {
          expect(raw).not.toContain(secret);
        }
        expect(raw).not.toMatch(/passwordHash|"secret"|"hash"|backupCodeSalt|backupCodeKeyId|lastStep/);
        after = res.body.next;
        if (!after) break;
      }
      expect(seen.map((u) => u.email).sort()).toEqual(['admin@acme.test', 'bob@acme.test', 'u0@acme.test', 'u1@acme.test', 'u2@acme.test']);
      expect(new Set(seen.map((u) => u.id)).size).toBe(5);
      expect(seen.find((u) => u.email === 'bob@acme.test')!.mfa).toMatchObject({ enabled: true, backupCodesRemaining: 10, methods: { totp: { enabled: true } } });
      for (const q of ['limit=0', 'limit=101', 'limit=abc', 'limit=1&limit=2', 'after=' + 'x'.repeat(200)]) {
        expectError(await admin.a.get(`/admin/tenants/acme/users?${q}`), 'invalid_request', 400);
      }
      // An operator object is never a cursor: refused (extended query parser) or an ignored key (simple parser).
      const op = await admin.a.get('/admin/tenants/acme/users?limit=100&after[$gt]=');
      if (op.status !== 400) expect(op.body.users).toHaveLength(5);
    });
  });

  describe('POST /admin/tenants/:slug/users/:id/mfa/reset', () => {
    it('removes every factor, ends all live sessions, audits, notifies, and forces re-enrolment', async () => {
      await t.tenants.updatePolicy(acme.id, { ...acme.policy, mfaRequired: true, gracePeriodDays: 0, mfaRequiredSince: new Date(t.clock.now()) });
      const bob = (await seedUser(t, acme.id, 'bob@acme.test', PW)).user;
      const first = agent(t);
      const login = await first.post('/auth/login').send({ tenant: 'acme', email: 'bob@acme.test', password: PW }).expect(200);
      expect(login.body.state).toBe('enrollment_required');
      const { secret } = await enrolTotp(t, first);
      t.clock.advance(30);
      const second = agent(t);
      await second.post('/auth/login').send({ tenant: 'acme', email: 'bob@acme.test', password: PW }).expect(200);
      await second.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
      const pending = agent(t); // a half-logged-in session waiting for its code ends too
      await pending.post('/auth/login').send({ tenant: 'acme', email: 'bob@acme.test', password: PW }).expect(200);
      await first.get('/api/profile').expect(200);
      await second.get('/api/profile').expect(200);

      t.clock.advance(1); // the audit trail is ordered by time: give the reset its own millisecond
      const res = await admin.a.post(`/admin/tenants/acme/users/${bob.id}/mfa/reset`).send({}).expect(204);
      expect(res.text).toBe('');

      await first.get('/api/profile').expect(401);
      await second.get('/api/profile').expect(401);
      t.clock.advance(30);
      expectError(await pending.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }), 'no_pending_login', 409);
      const after = (await t.users.findById(acme.id, bob.id))!;
      expect(after.mfa.totp ?? null).toBeNull();
      expect(after.mfa.email ?? null).toBeNull();
      expect(after.mfa.sms ?? null).toBeNull();
      expect(after.mfa.backupCodes).toEqual([]);
      expect(ended).toContainEqual(expect.objectContaining({ tenantId: acme.id, userId: bob.id, reason: 'mfa_reset', sessionIds: expect.arrayContaining([expect.any(String)]) }));
      expect(ended.find((e) => e.reason === 'mfa_reset')!.sessionIds).toHaveLength(3);
      expect(notices).toHaveBeenCalledWith(expect.objectContaining({ id: bob.id }), { event: 'admin_mfa_reset' });

      const audit = await admin.a.get('/admin/tenants/acme/audit?limit=5').expect(200);
      expect(audit.body.events[0]).toMatchObject({ type: 'admin_mfa_reset', userId: bob.id, actorId: admin.user.id, details: { factors: ['totp'], backupCodes: 10, sessionsEnded: 3 } });
      expect(JSON.stringify(audit.body)).not.toContain(secret);

      // The old code no longer opens anything; the next login must enrol again.
      const again = await agent(t).post('/auth/login').send({ tenant: 'acme', email: 'bob@acme.test', password: PW }).expect(200);
      expect(again.body.state).toBe('enrollment_required');
    });

    it('needs a fresh step-up (401 step_up_required), then works', async () => {
      const bob = (await seedUser(t, acme.id, 'bob@acme.test', PW)).user;
      t.clock.advance(acme.policy.stepUpMaxAgeSeconds + 1);
      const stale = await admin.a.post(`/admin/tenants/acme/users/${bob.id}/mfa/reset`).send({});
      expectError(stale, 'step_up_required', 401);
      expect(stale.body.methods).toEqual(['totp', 'backup_code']);
      expect((await t.audit.list(acme.id, { limit: 100 })).some((e) => e.type === 'admin_mfa_reset')).toBe(false);
      await stepUp(t, admin.a, admin.secret);
      await admin.a.post(`/admin/tenants/acme/users/${bob.id}/mfa/reset`).send({}).expect(204);
    });

    it('refuses an admin resetting its own factors (403) and unknown ids (404)', async () => {
      expectError(await admin.a.post(`/admin/tenants/acme/users/${admin.user.id}/mfa/reset`).send({}), 'forbidden', 403);
      expect((await t.users.findById(acme.id, admin.user.id))!.mfa.totp).toBeTruthy();
      expectError(await admin.a.post('/admin/tenants/acme/users/nobody/mfa/reset').send({}), 'not_found', 404);
    });
  });

  describe('PATCH /admin/tenants/:slug/policy', () => {
    it('validates ranges strictly', async () => {
      const bad: unknown[] = [
        {},
        { stepUpMaxAgeSeconds: 0 },
        { stepUpMaxAgeSeconds: 86401 },
        { stepUpMaxAgeSeconds: 1.5 },
        { stepUpMaxAgeSeconds: '300' },
        { gracePeriodDays: -1 },
        { gracePeriodDays: 366 },
        { mfaRequired: 'true' },
        { allowedMethods: [] },
        { allowedMethods: ['totp', 'totp'] },
        { allowedMethods: ['backup_code'] },
        { allowedMethods: 'totp' },
        { mfaRequiredSince: null },
        { selfRegistration: 'true' },
        { tenantId: acme.id },
      ];
      for (const b of bad) expectError(await admin.a.patch('/admin/tenants/acme/policy').send(b as object), 'invalid_request', 400);
      expect((await t.tenants.findById(acme.id))!.policy).toEqual(acme.policy);
      for (const ok of [{ stepUpMaxAgeSeconds: 1 }, { stepUpMaxAgeSeconds: 86400 }, { gracePeriodDays: 0 }, { gracePeriodDays: 365 }, { allowedMethods: ['webauthn'] }, { allowedMethods: ['sms_otp', 'totp'] }]) {
        await admin.a.patch('/admin/tenants/acme/policy').send(ok).expect(200);
      }
      expect((await t.tenants.findById(acme.id))!.policy).toMatchObject({ stepUpMaxAgeSeconds: 86400, gracePeriodDays: 365, allowedMethods: ['totp', 'sms_otp'] });
    });

    it('returns the policy, stamps mfaRequiredSince when MFA becomes required, and audits', async () => {
      const on = await admin.a.patch('/admin/tenants/acme/policy').send({ mfaRequired: true, gracePeriodDays: 2 }).expect(200);
      expect(on.body).toEqual({ mfaRequired: true, allowedMethods: ['webauthn', 'totp', 'backup_code', 'email_otp', 'sms_otp'], gracePeriodDays: 2, stepUpMaxAgeSeconds: 300, mfaRequiredSince: new Date(t.clock.now()).toISOString(), selfRegistration: false, passwordlessPasskeys: false, rememberDeviceDays: 0 });
      const since = on.body.mfaRequiredSince;
      t.clock.advance(60);
      const again = await admin.a.patch('/admin/tenants/acme/policy').send({ mfaRequired: true }).expect(200);
      expect(again.body.mfaRequiredSince).toBe(since); // already required: the grace period does not restart
      const off = await admin.a.patch('/admin/tenants/acme/policy').send({ mfaRequired: false }).expect(200);
      expect(off.body).toMatchObject({ mfaRequired: false, mfaRequiredSince: null });
      const events = (await t.audit.list(acme.id, { limit: 50 })).filter((e) => e.type === 'policy_updated');
      expect(events).toHaveLength(3);
      expect(events.every((e) => e.actorId === admin.user.id)).toBe(true);
    });

    it('needs a fresh step-up', async () => {
      t.clock.advance(301);
      expectError(await admin.a.patch('/admin/tenants/acme/policy').send({ mfaRequired: true }), 'step_up_required', 401);
      expect((await t.tenants.findById(acme.id))!.policy.mfaRequired).toBe(false);
      await stepUp(t, admin.a, admin.secret);
      await admin.a.patch('/admin/tenants/acme/policy').send({ mfaRequired: true }).expect(200);
    });
  });

  describe('GET /admin/tenants/:slug/audit', () => {
    it('pages newest first with ?limit&before, and only shows the tenant\'s own events', async () => {
      const other = await seedTenant(t, 'globex');
      for (let i = 0; i < 5; i++) {
        t.clock.advance(1);
        await internalContextOf(t.stepUp).record(null, { tenantId: acme.id, type: 'probe', details: { i } });
        await internalContextOf(t.stepUp).record(null, { tenantId: other.id, type: 'foreign', details: { i } });
      }
      const first = await admin.a.get('/admin/tenants/acme/audit?limit=3').expect(200);
      expect(first.body.events.map((e: { details: { i: number } }) => e.details.i)).toEqual([4, 3, 2]);
      const times = first.body.events.map((e: { at: string }) => Date.parse(e.at));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
      const second = await admin.a.get(`/admin/tenants/acme/audit?limit=3&before=${encodeURIComponent(first.body.next)}`).expect(200);
      expect(second.body.events.slice(0, 2).map((e: { details: { i: number } }) => e.details.i)).toEqual([1, 0]);
      const all = await admin.a.get('/admin/tenants/acme/audit?limit=200').expect(200);
      expect(all.body.events.some((e: { type: string }) => e.type === 'foreign')).toBe(false);
      for (const q of ['limit=0', 'limit=201', 'before=yesterday', 'before=1&before=2']) expectError(await admin.a.get(`/admin/tenants/acme/audit?${q}`), 'invalid_request', 400);
    });
  });
});
