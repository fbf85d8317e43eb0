/**
 * POST /auth/register (issue 8; MFA-19, MFA-20, ATK-13): self-registration per tenant policy, the same
 * answer whether or not the address has an account (only the mail sink tells the owner), send caps.
 */
import { internalContextOf } from '../../testing';
import request from 'supertest';
import { SmtpMailer } from '../../lib/delivery/smtp';
import type { LifecycleOptions } from '../../lib/account/index';
import type { TenantRecord } from '../../lib/types';
import { agent, buildApp, codeFor, enrolTotp, expectError, seedTenant, seedUser, type TestApp, LINK_TOKEN as TOKEN, responseShape as shape } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { startSmtpSink, type SinkMessage, type SmtpSink } from '../helpers/smtp-sink';

const PW = 'correct horse battery staple';
const NEW_PW = 'a brand new registration passphrase';

describeWithRedis('POST /auth/register', () => {
  let sink: SmtpSink;
  let t: TestApp;
  let acme: TenantRecord;
  const logs: string[] = [];
  const log = (m: string, f?: Record<string, unknown>) => void logs.push(`${m} ${JSON.stringify(f ?? {})}`);

  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(() => sink.close());

  async function setup(lifecycle: LifecycleOptions = {}) {
    sink.messages.length = 0;
    logs.length = 0;
    t = buildApp({
      redis: true,
      overrides: {
        mailer: new SmtpMailer({ url: sink.url, from: 'stepup <no-reply@example.test>' }),
        logger: { info: log, warn: log, error: log },
        allowedOrigins: ['https://app.example.test'],
        lifecycle,
      },
    });
    acme = await seedTenant(t, 'acme', { selfRegistration: true });
    await seedUser(t, acme.id, 'alice@example.com', PW);
  }
  afterEach(async () => {
    await t.stepUp.lifecycle.idle();
    await t.close();
  });

  const register = (body: object) => request(t.app).post('/auth/register').send(body);
  /** Waits for the work done after the 202s, then the mail that went to `to` (none: []). */
  const mailsTo = async (to: string): Promise<SinkMessage[]> => {
    await t.stepUp.lifecycle.idle();
    return sink.messages.filter((m) => m.to.includes(to));
  };

  describe('with selfRegistration on', () => {
    beforeEach(() => setup());

    it('answers a new and a known address identically; the new one gets an unverified account and a link, the known one a note', async () => {
      const fresh = await register({ tenant: 'acme', email: 'New@Example.com', password: NEW_PW, name: 'Nina' });
      const known = await register({ tenant: 'acme', email: 'alice@example.com', password: NEW_PW, name: 'Nina' });
      expect(shape(fresh)).toEqual({ status: 202, body: { status: 'pending_verification' }, cookie: null, headers: expect.any(Array) });
      expect(shape(known)).toEqual(shape(fresh));
      expect(fresh.headers['cache-control']).toBe('no-store');

      const [link] = await mailsTo('new@example.com');
      expect(link!.subject).toBe('ExampleCo: Confirm your email address');
      expect(link!.text).toMatch(/https:\/\/app\.example\.test\/verify-email#token=[A-Za-z0-9_-]{43}\s/);
      expect(link!.subject).not.toMatch(TOKEN);
      const [note] = await mailsTo('alice@example.com');
      expect(note!.subject).toBe('ExampleCo: You already have an account');
      expect(note!.text).toContain('https://app.example.test/forgot-password');
      expect(note!.text).not.toMatch(TOKEN);
      expect(sink.messages).toHaveLength(2);

      const user = (await t.users.findByEmail(acme.id, 'new@example.com'))!;
      expect(user).toMatchObject({ roles: ['user'], emailVerifiedAt: null, selfRegistered: true, name: 'Nina', disabledAt: null });
      expect(user.passwordHash).toMatch(/^\$argon2id\$/);
      expect(user.createdAt.getTime()).toBe(t.clock.now());
      // The known account is untouched: its password still works, the submitted one does not.
      await agent(t).post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password: PW }).expect(200);
      expectError(await agent(t).post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password: NEW_PW }), 'invalid_credentials', 401);

      const audit = await t.audit.list(acme.id, { limit: 50 });
      expect(audit.map((e) => e.type)).toEqual(expect.arrayContaining(['user_registered', 'email_verification_sent', 'registration_duplicate']));
      const text = JSON.stringify(audit) + logs.join('\n') + JSON.stringify(fresh.body);
      expect(text).not.toContain(NEW_PW);
      expect(text).not.toContain(TOKEN.exec(link!.text)![1]);
    });

    it('hashes the submitted password once for every input (known, new, unknown tenant, registration off: MFA-20)', async () => {
      await seedTenant(t, 'closed');
      const hash = jest.spyOn(internalContextOf(t.stepUp).hasher, 'hash');
      for (const [tenant, email] of [['acme', 'alice@example.com'], ['acme', 'bob@example.com'], ['nosuch', 'bob@example.com'], ['closed', 'bob@example.com']]) {
        hash.mockClear();
        await register({ tenant, email, password: NEW_PW }).expect(202);
        expect([tenant, email, hash.mock.calls]).toEqual([tenant, email, [[NEW_PW]]]);
      }
    });

    it('answers before the tenant or the address is looked up: a stalled store neither delays nor changes the 202', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const real = t.tenants.findBySlug.bind(t.tenants);
      const lookup = jest.spyOn(t.tenants, 'findBySlug').mockImplementation(async (slug) => {
        await gate;
        return real(slug);
      });
      const res = await register({ tenant: 'acme', email: 'new@example.com', password: NEW_PW }).timeout(3000);
      expect(shape(res)).toMatchObject({ status: 202, body: { status: 'pending_verification' } });
      expect(await t.users.findByEmail(acme.id, 'new@example.com')).toBeNull();
      release();
      expect(await mailsTo('new@example.com')).toHaveLength(1);
      expect(lookup).toHaveBeenCalledWith('acme');
    });

    it('a concurrent double registration of one address makes one account; the loser is a duplicate', async () => {
      await t.close();
      t = buildApp({ redis: true, overrides: { mailer: new SmtpMailer({ url: sink.url, from: 'no-reply@example.test' }), lifecycle: { cooldownSeconds: 0 } } });
      acme = await seedTenant(t, 'acme', { selfRegistration: true });
      sink.messages.length = 0;
      const answers = await Promise.all([0, 1, 2].map(() => register({ tenant: 'acme', email: 'twin@example.com', password: NEW_PW })));
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
      const mails = await mailsTo('twin@example.com');
      expect((await t.users.list(acme.id, { limit: 10 })).filter((u) => u.email === 'twin@example.com')).toHaveLength(1);
      expect(mails.filter((m) => /Confirm your email/.test(m.subject))).toHaveLength(1);
      expect(mails.filter((m) => /already have an account/.test(m.subject))).toHaveLength(2);
    });

    it('validates the body strictly, the same for every address, before anything else', async () => {
      const ok = { tenant: 'acme', email: 'new@example.com', password: NEW_PW };
      const bad: object[] = [
        { ...ok, password: 'seven77' },
        { ...ok, password: 'x'.repeat(257) },
        { ...ok, email: 'alice@example.com', password: 'short' },
        { ...ok, email: { $ne: null } },
        { ...ok, tenant: 'ACME' },
        { ...ok, role: 'admin' },
        { ...ok, roles: ['admin'] },
        { ...ok, emailVerifiedAt: '2026-01-01T00:00:00Z' },
        { ...ok, name: '' },
        { tenant: 'acme', email: 'new@example.com' },
      ];
      for (const b of bad) expectError(await register(b), 'invalid_request', 400);
      expect(shape(await register({ ...ok, email: 'alice@example.com', password: 'short' }))).toEqual(shape(await register({ ...ok, password: 'short' })));
      // 256 characters (code points) is the documented maximum.
      await register({ ...ok, password: '\u{1F600}'.repeat(256) }).expect(202);
      expect(await mailsTo('new@example.com')).toHaveLength(1);
      expect(await t.users.list(acme.id, { limit: 10 })).toHaveLength(2);
    });
  });

  describe('with selfRegistration off (the default) or an unknown tenant', () => {
    beforeEach(() => setup());

    it('answers exactly like an open tenant, creates nothing and sends nothing; the closed tenant audits the refusal', async () => {
      const closed = await seedTenant(t, 'closed');
      expect(closed.policy.selfRegistration).toBeUndefined();
      const open = shape(await register({ tenant: 'acme', email: 'new@example.com', password: NEW_PW }));
      const answers = [
        await register({ tenant: 'closed', email: 'new@example.com', password: NEW_PW }),
        await register({ tenant: 'nosuch', email: 'new@example.com', password: NEW_PW }),
        await register({ tenant: 'closed', email: 'alice@example.com', password: NEW_PW }),
      ];
      for (const a of answers) expect(shape(a)).toEqual(open);
      await t.stepUp.lifecycle.idle();
      expect(await t.users.list(closed.id, { limit: 10 })).toEqual([]);
      expect(sink.messages.map((m) => m.to)).toEqual([['new@example.com']]); // the open tenant's link only
      const audit = await t.audit.list(closed.id, { limit: 10 });
      expect(audit.map((e) => [e.type, e.details])).toEqual([
        ['registration_refused', { reason: 'self_registration_off' }],
        ['registration_refused', { reason: 'self_registration_off' }],
      ]);
    });
  });

  describe('send caps', () => {
    it('per IP: 429 with Retry-After for any address once the hour is spent, whoever the addresses are; the clock frees it', async () => {
      await setup({ perIpPerHour: 3 });
      for (const email of ['a1@example.com', 'alice@example.com', 'a3@example.com']) await register({ tenant: 'acme', email, password: NEW_PW }).expect(202);
      const known = await register({ tenant: 'acme', email: 'alice@example.com', password: NEW_PW });
      const unknown = await register({ tenant: 'nosuch', email: 'zz@example.com', password: NEW_PW });
      expectError(known, 'rate_limited', 429);
      expect(Number(known.headers['retry-after'])).toBeGreaterThan(3500);
      expect(shape(unknown)).toEqual(shape(known));
      expect(known.headers['retry-after']).toBe(unknown.headers['retry-after']);
      t.clock.advance(3601);
      await register({ tenant: 'acme', email: 'a4@example.com', password: NEW_PW }).expect(202);
    });

    it('per address: at most one mail a minute and three an hour reach an inbox; the answers never change', async () => {
      await setup();
      const answers: request.Response[] = [];
      for (let i = 0; i < 6; i++) {
        answers.push(await register({ tenant: 'acme', email: 'alice@example.com', password: NEW_PW }));
        t.clock.advance(i === 0 ? 10 : 61); // the second comes within the cooldown
      }
      for (const a of answers) expect(shape(a)).toEqual(shape(answers[0]!));
      expect(await mailsTo('alice@example.com')).toHaveLength(3);
      const suppressed = (await t.audit.list(acme.id, { limit: 50 })).filter((e) => e.type === 'lifecycle_mail_suppressed');
      expect(suppressed).toHaveLength(3);
    });
  });

  it('an admin turns selfRegistration on with PATCH /admin/tenants/:slug/policy (step-up, audited); the view shows it', async () => {
    await setup();
    const closed = await seedTenant(t, 'closed');
    await seedUser(t, closed.id, 'admin@closed.test', PW, ['admin']);
    const a = agent(t);
    await a.post('/auth/login').send({ tenant: 'closed', email: 'admin@closed.test', password: PW }).expect(200);
    const { secret } = await enrolTotp(t, a);
    expectError(await a.patch('/admin/tenants/closed/policy').send({ selfRegistration: 'yes' }), 'invalid_request', 400);
    t.clock.advance(301);
    expectError(await a.patch('/admin/tenants/closed/policy').send({ selfRegistration: true }), 'step_up_required', 401);
    await a.post('/auth/step-up').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
    const on = await a.patch('/admin/tenants/closed/policy').send({ selfRegistration: true }).expect(200);
    expect(on.body).toMatchObject({ mfaRequired: false, selfRegistration: true });
    expect((await t.tenants.findById(closed.id))!.policy.selfRegistration).toBe(true);
    const audit = (await t.audit.list(closed.id, { limit: 20 })).find((e) => e.type === 'policy_updated');
    expect(audit?.details).toMatchObject({ changes: { selfRegistration: true } });
    await register({ tenant: 'closed', email: 'new@closed.test', password: NEW_PW }).expect(202);
    expect(await mailsTo('new@closed.test')).toHaveLength(1);
    expect(await t.users.findByEmail(closed.id, 'new@closed.test')).toMatchObject({ roles: ['user'], emailVerifiedAt: null });
  });

  it('without a mailer the routes are 404 for every input (nothing could be sent)', async () => {
    t = buildApp({ redis: true });
    await seedTenant(t, 'acme', { selfRegistration: true });
    const a = await register({ tenant: 'acme', email: 'new@example.com', password: NEW_PW });
    const b = await register({ tenant: 'nosuch', email: 'new@example.com', password: NEW_PW });
    expectError(a, 'not_found', 404);
    expect(shape(b)).toEqual(shape(a));
  });
});
