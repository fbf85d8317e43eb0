/**
 * Remembered browsers (issue 16): tenant policy `rememberDeviceDays` (0 = off). A browser remembered at
 * a login's second factor skips the second factor at later logins of THAT user and tenant until it
 * expires; the token is single use (rotated at each use), stored only as an HMAC, never skips a step-up,
 * enrolment or an admin's factor, and is forgotten by a password change, an MFA reset, a disable and
 * "sign out everywhere". Real Redis, injected clock.
 */
import request from 'supertest';
import type { TenantRecord, UserRecord } from '../../lib/types';
import { agent, buildApp, codeFor, enrolTotp, expectError, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { enrolledSession } from '../helpers/sessions';

type Agent = ReturnType<typeof agent>;
const PW = 'correct horse battery staple';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const DAY = 86400;

function deviceCookie(res: { headers: Record<string, unknown> }): string | undefined {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? (raw as string[]) : raw ? [String(raw)] : [];
  return list.find((c) => c.startsWith('stepup_device='));
}
const valueOf = (setCookie: string) => decodeURIComponent(setCookie.slice('stepup_device='.length, setCookie.indexOf(';')));

describeWithRedis('remembered devices', () => {
  let t: TestApp;
  let acme: TenantRecord;
  let alice: UserRecord;
  let secret: string;

  beforeEach(async () => {
    t = buildApp({ redis: true });
    acme = await seedTenant(t, 'acme', { rememberDeviceDays: 30 });
    alice = (await seedUser(t, acme.id, 'alice@acme.test', PW)).user;
    // Alice's TOTP as enrolment leaves it, seeded (her sign-ins below are what these tests are about).
    secret = (await enrolledSession(t, alice)).secret;
  });
  afterEach(() => t.close());

  const login = (a: Agent | request.SuperTest<request.Test>, email = 'alice@acme.test', password = PW) => a.post('/auth/login').set('User-Agent', UA).send({ tenant: 'acme', email, password });
  function challenge(a: Agent, remember?: boolean) {
    t.clock.advance(30); // a fresh TOTP step
    return a.post('/auth/mfa/challenge').set('User-Agent', UA).send({ method: 'totp', code: codeFor(secret, t.clock.now()), ...(remember === undefined ? {} : { remember }) });
  }
  /** Password + TOTP with "remember this browser": the agent keeps the device cookie. */
  async function remembered(a: Agent = agent(t)): Promise<{ a: Agent; cookie: string }> {
    const first = await login(a).expect(200);
    expect(first.body).toMatchObject({ state: 'mfa_required', rememberDeviceDays: 30 });
    const res = await challenge(a, true).expect(200);
    const cookie = deviceCookie(res)!;
    expect(cookie).toBeDefined();
    return { a, cookie };
  }
  const withCookie = (cookie: string) => request(t.app).post('/auth/login').set('User-Agent', UA).set('Cookie', cookie.split(';')[0]!).send({ tenant: 'acme', email: 'alice@acme.test', password: PW });

  it('skips the second factor for that user until expiry; the token rotates at each use and is stored only as an HMAC', async () => {
    const a = agent(t);
    const pending = await login(a).expect(200);
    expect(pending.body.rememberDeviceDays).toBe(30);
    expect((await a.get('/auth/session').expect(200)).body).toMatchObject({ state: 'mfa_required', rememberDeviceDays: 30 });
    const res = await challenge(a, true).expect(200);
    expect(res.body).toMatchObject({ state: 'authenticated', aal: 2, rememberedDevice: { id: expect.any(String), expiresAt: new Date(t.clock.now() + 30 * DAY * 1000).toISOString() } });
    const cookie = deviceCookie(res)!;
    expect(cookie).toMatch(/^stepup_device=[^;]+; Max-Age=2592000; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);

    // Only an HMAC is stored: neither the cookie value nor its secret part is in the user record.
    const stored = (await t.users.findById(acme.id, alice.id))!;
    expect(stored.rememberedDevices).toEqual([
      { id: res.body.rememberedDevice.id, hash: expect.stringMatching(/^[0-9a-f]{64}$/), label: 'Chrome on Linux', createdAt: expect.anything(), expiresAt: expect.anything(), lastUsedAt: null },
    ]);
    const token = valueOf(cookie);
    const record = JSON.stringify(stored);
    expect(record).not.toContain(token);
    expect(record).not.toContain(token.split('.').pop()!);

    // Next login in this browser: the password alone, aal 2, but no factor proof (step-ups still ask).
    await a.post('/auth/logout').expect(204);
    t.clock.advance(10 * DAY);
    const skip = await login(a).expect(200);
    expect(skip.body).toMatchObject({ state: 'authenticated', aal: 2, amr: ['remembered_device'], rememberedDevice: true });
    const rotated = deviceCookie(skip)!;
    expect(valueOf(rotated)).not.toBe(token);
    expect(rotated).toMatch(/Max-Age=1728000;/); // the same expiry: 20 days left
    expect((await a.get('/auth/session').expect(200)).body).toMatchObject({ state: 'authenticated', aal: 2, mfaVerifiedAt: null, amr: ['remembered_device'] });
    await a.get('/api/secure').expect(200);
    expectError(await a.post('/api/danger').send({}), 'step_up_required', 401);
    t.clock.advance(30);
    await a.post('/auth/step-up').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
    await a.post('/api/danger').send({}).expect(200);

    // The old token was single use.
    expect((await withCookie(cookie).expect(200)).body.state).toBe('mfa_required');
    // The rotated one works once more, then expires with the device (day 30).
    t.clock.advance(19 * DAY);
    const again = await withCookie(rotated).expect(200);
    expect(again.body.state).toBe('authenticated');
    t.clock.advance(DAY + 1);
    expect((await withCookie(deviceCookie(again)!).expect(200)).body.state).toBe('mfa_required');

    const types = (await t.audit.list(acme.id, { limit: 100 })).map((e) => e.type);
    expect(types.filter((x) => x.startsWith('remembered_device_'))).toEqual(['remembered_device_refused', 'remembered_device_used', 'remembered_device_refused', 'remembered_device_used', 'remembered_device_added']);
  });

  it("is bound to the user and the tenant: another account's login in the same browser still asks for its factor", async () => {
    const { cookie } = await remembered();
    const bob = (await seedUser(t, acme.id, 'bob@acme.test', PW)).user;
    const b = agent(t);
    await login(b, 'bob@acme.test').expect(200);
    t.clock.advance(30);
    // bob enrols TOTP so he would need a factor
    await b.post('/auth/mfa/totp/enroll').send({}).expect(200).then(async (r) => b.post('/auth/mfa/totp/verify').send({ code: codeFor(r.body.secret, t.clock.now()) }).expect(200));
    const res = await request(t.app).post('/auth/login').set('Cookie', cookie.split(';')[0]!).send({ tenant: 'acme', email: 'bob@acme.test', password: PW }).expect(200);
    expect(res.body.state).toBe('mfa_required');
    expect(bob.id).not.toBe(alice.id);
    // The same user in another tenant is another account.
    const globex = await seedTenant(t, 'globex', { rememberDeviceDays: 30 });
    await seedUser(t, globex.id, 'alice@acme.test', PW);
    const other = await request(t.app).post('/auth/login').set('Cookie', cookie.split(';')[0]!).send({ tenant: 'globex', email: 'alice@acme.test', password: PW }).expect(200);
    // (that account has no factor: aal 1 from its password, nothing from alice's device)
    expect(other.body).toMatchObject({ state: 'authenticated', aal: 1 });
    expect(other.body.rememberedDevice).toBeUndefined();
    expect(deviceCookie(other)).toBeUndefined();
    // A wrong password never reaches the device check.
    expectError(await request(t.app).post('/auth/login').set('Cookie', cookie.split(';')[0]!).send({ tenant: 'acme', email: 'alice@acme.test', password: 'wrong' }), 'invalid_credentials', 401);
  });

  it('does not lift a second-factor lock', async () => {
    const { cookie } = await remembered();
    await t.users.update(acme.id, alice.id, { lockedUntil: new Date(t.clock.now() + 600_000), lockCount: 1 });
    expect((await withCookie(cookie).expect(200)).body.state).toBe('mfa_required');
    t.clock.advance(601);
    expect((await withCookie(cookie).expect(200)).body.state).toBe('authenticated');
  });

  it('two logins racing with one token: exactly one skips the factor', async () => {
    const { cookie } = await remembered();
    const states = (await Promise.all([withCookie(cookie), withCookie(cookie), withCookie(cookie)])).map((r) => r.body.state).sort();
    expect(states).toEqual(['authenticated', 'mfa_required', 'mfa_required']);
  });

  it('is off when the policy says 0: no offer, no cookie, and a device remembered before stops working', async () => {
    const { cookie } = await remembered();
    await t.tenants.updatePolicy(acme.id, { ...acme.policy, rememberDeviceDays: 0 });
    expect((await withCookie(cookie).expect(200)).body.state).toBe('mfa_required');
    const a = agent(t);
    const first = await login(a).expect(200);
    expect(first.body.rememberDeviceDays).toBeUndefined();
    expect((await a.get('/auth/session')).body.rememberDeviceDays).toBeUndefined();
    const res = await challenge(a, true).expect(200);
    expect(deviceCookie(res)).toBeUndefined();
    expect(res.body.rememberedDevice).toBeUndefined();
  });

  it('never skips enrolment: a login that must go on to enrol an allowed factor still asks for the factor', async () => {
    const { cookie } = await remembered();
    // TOTP is no longer allowed: the login proves TOTP, then must enrol an allowed factor.
    await t.tenants.updatePolicy(acme.id, { ...acme.policy, mfaRequired: true, allowedMethods: ['email_otp', 'sms_otp'] });
    expect((await withCookie(cookie).expect(200)).body).toMatchObject({ state: 'mfa_required', methods: ['totp', 'backup_code'] });
  });

  it('never remembers an admin', async () => {
    await seedUser(t, acme.id, 'admin@acme.test', PW, ['admin']);
    const a = agent(t);
    expect((await login(a, 'admin@acme.test').expect(200)).body.state).toBe('enrollment_required');
    const enrol = await a.post('/auth/mfa/totp/enroll').send({}).expect(200);
    await a.post('/auth/mfa/totp/verify').send({ code: codeFor(enrol.body.secret, t.clock.now()) }).expect(200);
    await a.post('/auth/logout').expect(204);
    const pending = await login(a, 'admin@acme.test').expect(200);
    expect(pending.body).toMatchObject({ state: 'mfa_required' });
    expect(pending.body.rememberDeviceDays).toBeUndefined();
    t.clock.advance(30);
    const res = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(enrol.body.secret, t.clock.now()), remember: true }).expect(200);
    expect(deviceCookie(res)).toBeUndefined();
  });

  it('lists and forgets remembered devices; `current` marks this browser', async () => {
    const one = await remembered();
    const two = await remembered();
    const list = await two.a.get('/auth/devices').expect(200);
    expect(list.headers['cache-control']).toBe('no-store');
    expect(list.body.rememberDeviceDays).toBe(30);
    expect(list.body.devices).toHaveLength(2);
    expect(list.body.devices.map((d: { current: boolean }) => d.current)).toEqual([true, false]);
    expect(list.body.devices[0]).toEqual({ id: expect.any(String), label: 'Chrome on Linux', createdAt: expect.any(String), lastUsedAt: null, expiresAt: expect.any(String), current: true });

    const otherId = list.body.devices[1].id as string;
    await two.a.delete(`/auth/devices/${otherId}`).expect(204);
    expect((await withCookie(one.cookie).expect(200)).body.state).toBe('mfa_required');
    expectError(await two.a.delete(`/auth/devices/${otherId}`), 'not_found', 404);
    expectError(await two.a.delete('/auth/devices/nope'), 'not_found', 404);
    const gone = await two.a.delete(`/auth/devices/${list.body.devices[0].id}`).expect(204);
    expect(String(gone.headers['set-cookie'])).toMatch(/^stepup_device=;/);
    expect((await two.a.get('/auth/devices').expect(200)).body.devices).toEqual([]);
    expect((await t.audit.list(acme.id, { limit: 100 })).filter((e) => e.type === 'remembered_device_forgotten')).toHaveLength(2);
    expectError(await request(t.app).get('/auth/devices'), 'unauthenticated', 401);
  });

  describe('forgotten by', () => {
    async function expectForgotten(cookie: string) {
      expect((await t.users.findById(acme.id, alice.id))!.rememberedDevices ?? []).toEqual([]);
      expect((await withCookie(cookie).expect(200)).body.state).toBe('mfa_required');
    }

    it('a password change', async () => {
      const { a, cookie } = await remembered();
      await a.post('/auth/password').send({ currentPassword: PW, newPassword: 'another long passphrase 42' }).expect(204);
      expect((await t.users.findById(acme.id, alice.id))!.rememberedDevices).toEqual([]);
      const res = await request(t.app).post('/auth/login').set('Cookie', cookie.split(';')[0]!).send({ tenant: 'acme', email: 'alice@acme.test', password: 'another long passphrase 42' }).expect(200);
      expect(res.body.state).toBe('mfa_required');
    });

    it('sign out everywhere', async () => {
      const { a, cookie } = await remembered();
      await a.post('/auth/logout-all').expect(204);
      await expectForgotten(cookie);
    });

    it('an admin MFA reset and a disable', async () => {
      const adminUser = (await seedUser(t, acme.id, 'admin@acme.test', PW, ['admin'])).user;
      const admin = agent(t);
      await login(admin, 'admin@acme.test').expect(200);
      await enrolTotp(t, admin);
      const first = await remembered();
      await admin.post(`/admin/tenants/acme/users/${alice.id}/disable`).send({}).expect(200);
      expect((await t.users.findById(acme.id, alice.id))!.rememberedDevices).toEqual([]);
      await admin.post(`/admin/tenants/acme/users/${alice.id}/enable`).send({}).expect(200);
      expect((await withCookie(first.cookie).expect(200)).body.state).toBe('mfa_required');

      const second = await remembered();
      await admin.post(`/admin/tenants/acme/users/${alice.id}/mfa/reset`).send({}).expect(204);
      expect((await t.users.findById(acme.id, alice.id))!.rememberedDevices).toEqual([]);
      // No factor left: the login goes to aal 1 (not mandatory here), never through the device.
      const after = await withCookie(second.cookie).expect(200);
      expect(after.body).toMatchObject({ state: 'authenticated', aal: 1 });
      expect(adminUser.id).toBeTruthy();
    });

    it('a device written back by a login racing with the revocation does not work (sessionsValidAfter)', async () => {
      const { cookie } = await remembered();
      const before = (await t.users.findById(acme.id, alice.id))!.rememberedDevices!;
      t.clock.advance(1);
      await t.stepUp.endUserSessions(acme.id, alice.id, 'logout_all');
      // A racing writer puts the old list back after the revocation.
      await t.users.update(acme.id, alice.id, { rememberedDevices: before });
      expect((await withCookie(cookie).expect(200)).body.state).toBe('mfa_required');
    });
  });
});
