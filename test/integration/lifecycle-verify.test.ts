/**
 * Email verification and the states a self-registered account goes through (issue 8): the link is single
 * use and expires after 24 h on the injected clock; an unverified account reaches `verification_required`
 * and nothing else; in an mfaRequired tenant the first login after verification is `enrollment_required`
 * with no grace period and no way around it (walking the app's whole route table, like
 * security-access.test.ts does for the other pending states).
 */
import request from 'supertest';
import { SmtpMailer } from '../../lib/delivery/smtp';
import type { TenantPolicy, TenantRecord } from '../../lib/types';
import { agent, buildApp, codeFor, expectError, seedTenant, seedUser, type TestApp, LINK_TOKEN as TOKEN } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';

type Agent = ReturnType<typeof agent>;
const PW = 'correct horse battery staple';
const NEW_PW = 'my own registration passphrase';
const HOUR = 3600;

/** Every route of the app, from its router stack (as in security-access.test.ts). */
function routesOf(app: unknown): Array<{ method: string; path: string }> {
  type L = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: unknown[] }; rawPath?: unknown; regexp?: RegExp };
  const out: Array<{ method: string; path: string }> = [];
  const mountOf = (l: L): string => {
    if (typeof l.rawPath === 'string') return l.rawPath === '/' ? '' : l.rawPath;
    const m = l.regexp?.source.match(/^\^\\\/(.*?)\\\/\?\(\?=\\\/\|\$\)/);
    return m ? `/${m[1]!.replace(/\\\//g, '/')}` : '';
  };
  const walk = (stack: unknown[], prefix: string) => {
    for (const layer of stack as L[]) {
      if (layer.route) {
        for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push({ method: m.toUpperCase(), path: prefix + layer.route.path });
      } else if (layer.handle?.stack) walk(layer.handle.stack, prefix + mountOf(layer));
    }
  };
  const a = app as { router?: { stack: unknown[] }; _router?: { stack: unknown[] } };
  walk((a._router ?? a.router)!.stack, '');
  return out;
}

// Bodies that pass each route's schema, so the answer shows the guard, not the validator.
const BODIES: Record<string, object> = {
  '/auth/mfa/totp/verify': { code: '123456' },
  '/auth/mfa/email/verify': { code: '123456' },
  '/auth/mfa/sms/verify': { code: '123456' },
  '/auth/mfa/sms/enroll': { phone: '+12015550123' },
  '/auth/mfa/disable': { method: 'totp' },
  '/auth/mfa/challenge': { method: 'totp', code: '123456' },
  '/auth/step-up': { method: 'totp', code: '123456' },
  '/auth/mfa/webauthn/register/verify': { response: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'AA', attestationObject: 'AA' } } },
  '/auth/password': { currentPassword: NEW_PW, newPassword: 'another long password 123' },
  '/admin/tenants/:slug/policy': { mfaRequired: false },
  '/admin/tenants/:slug/users': { email: 'x@example.com' },
};
// Open to anyone (they answer the same for every account and log nobody in), and the session's own exits.
const PUBLIC = new Set(['POST /auth/login', 'POST /auth/register', 'POST /auth/verify-email', 'POST /auth/password/forgot', 'POST /auth/password/reset', 'GET /auth/session', 'POST /auth/logout', 'POST /auth/passkey/options', 'POST /auth/passkey/login']);

describeWithRedis('email verification and the states of a self-registered account', () => {
  let sink: SmtpSink;
  let t: TestApp;
  let tenant: TenantRecord;

  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(() => sink.close());
  afterEach(async () => {
    await t.stepUp.lifecycle.idle();
    await t.close();
  });

  async function setup(policy: Partial<TenantPolicy> = {}) {
    sink.messages.length = 0;
    t = buildApp({ redis: true, overrides: { mailer: new SmtpMailer({ url: sink.url, from: 'no-reply@example.test' }), lifecycle: { cooldownSeconds: 0 } } });
    tenant = await seedTenant(t, 'acme', { selfRegistration: true, ...policy });
  }

  const login = (a: Agent, email: string, password = NEW_PW) => a.post('/auth/login').send({ tenant: 'acme', email, password });
  /** Registers `email` and returns the token of the newest verification mail to it. */
  async function registerAndToken(email: string): Promise<string> {
    await request(t.app).post('/auth/register').send({ tenant: 'acme', email, password: NEW_PW }).expect(202);
    return latestToken(email);
  }
  async function latestToken(email: string): Promise<string> {
    await t.stepUp.lifecycle.idle();
    const mail = sink.messages.filter((m) => m.to.includes(email) && /Confirm your email/.test(m.subject)).at(-1);
    return TOKEN.exec(mail!.text)![1]!;
  }
  const verify = (token: string) => request(t.app).post('/auth/verify-email').send({ token });
  const userOf = async (email: string) => (await t.users.findByEmail(tenant.id, email))!;

  it('the link verifies once; the account then signs in (aal 1 in a tenant without mandatory MFA)', async () => {
    await setup();
    const token = await registerAndToken('nina@example.com');
    // Without a configured page the mail shows the token to paste (no link is ever built from a request header).
    expect(sink.messages[0]!.text).not.toContain('http');
    const ok = await verify(token).expect(200);
    expect(ok.body).toEqual({ verified: true });
    expect(ok.headers['set-cookie']).toBeUndefined();
    expect((await userOf('nina@example.com')).emailVerifiedAt?.getTime()).toBe(t.clock.now());
    const again = await verify(token);
    expectError(again, 'invalid_code', 401);
    const a = agent(t);
    expect((await login(a, 'nina@example.com').expect(200)).body).toMatchObject({ state: 'authenticated', aal: 1 });
    await a.get('/api/profile').expect(200);
    const types = (await t.audit.list(tenant.id, { limit: 50 })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['user_registered', 'email_verification_sent', 'email_verified', 'login_succeeded']));
  });

  it('expires 24 h after it was sent, on the injected clock (Redis still holds the record)', async () => {
    await setup();
    const early = await registerAndToken('early@example.com');
    const late = await registerAndToken('late@example.com');
    t.clock.advance(24 * HOUR - 1);
    await verify(early).expect(200);
    t.clock.advance(1);
    expectError(await verify(late), 'invalid_code', 401);
    expect((await userOf('late@example.com')).emailVerifiedAt).toBeNull();
  });

  it('refuses malformed (400) and unknown, used, expired or superseded tokens the same way (401)', async () => {
    await setup();
    const first = await registerAndToken('nina@example.com');
    for (const token of ['', 'short', 'x'.repeat(44), `${first.slice(0, 42)}!`, { $ne: null }]) expectError(await verify(token as string), 'invalid_request', 400);
    const a = agent(t);
    await login(a, 'nina@example.com').expect(200);
    await a.post('/auth/verify-email/resend').send({}).expect(202);
    const second = await latestToken('nina@example.com');
    expect(second).not.toBe(first);
    const flipped = `${second.slice(0, 30)}${second[30] === 'A' ? 'B' : 'A'}${second.slice(31)}`;
    const answers = [await verify(first), await verify('A'.repeat(43)), await verify(flipped), await verify(second)];
    for (const r of answers.slice(0, 3)) expect({ status: r.status, body: r.body }).toEqual({ status: 401, body: { error: 'invalid_code', message: 'The link is not valid or has expired.' } });
    // The flipped token named the current record, so it burned it: the real one is gone too.
    expectError(answers[3]!, 'invalid_code', 401);
  });

  it('an unverified account signs in only to verification_required; every other route refuses it', async () => {
    await setup();
    await registerAndToken('nina@example.com');
    const a = agent(t);
    // A wrong password is the usual 401: the state shows only to whoever knows the password.
    expectError(await login(a, 'nina@example.com', 'wrong password'), 'invalid_credentials', 401);
    const res = await login(a, 'nina@example.com').expect(200);
    expect(res.body).toEqual({ state: 'verification_required', expiresAt: new Date(t.clock.now() + 300_000).toISOString() });
    expect((await a.get('/auth/session').expect(200)).body).toEqual({ state: 'verification_required', expiresAt: res.body.expiresAt });

    const nina = await userOf('nina@example.com');
    const seen: string[] = [];
    for (const { method, path } of routesOf(t.app)) {
      const key = `${method} ${path}`;
      if (PUBLIC.has(key) || key === 'POST /auth/verify-email/resend') continue;
      const url = path.replace(/:slug/g, 'acme').replace(/:id|:userId/g, nina.id);
      const r = method === 'GET' ? await a.get(url) : await a[method.toLowerCase() as 'post'](url).send(BODIES[path] ?? {});
      seen.push(key);
      expect({ key, ok: [401, 403, 409].includes(r.status) || `${r.status} ${r.body?.error}` }).toEqual({ key, ok: true });
      expect(r.text).not.toContain('nina@example.com');
    }
    expect(seen).toEqual(expect.arrayContaining(['GET /api/profile', 'POST /auth/mfa/totp/enroll', 'POST /auth/mfa/email/enroll', 'POST /auth/mfa/challenge', 'POST /auth/logout-all', 'POST /admin/tenants/:slug/users/:id/disable']));
    expect(seen.length).toBeGreaterThan(20);
    expect((await userOf('nina@example.com')).mfa).toEqual({ backupCodes: [] });

    // What the session is for: a new link, to the account's own address, masked in the answer.
    const sent = await a.post('/auth/verify-email/resend').send({}).expect(202);
    expect(sent.body).toEqual({ sentTo: 'n***@e***.com', expiresIn: 86400 });
    await verify(await latestToken('nina@example.com')).expect(200);
    // Verified: this pending session is still not a login; signing in again is.
    await a.get('/api/profile').expect(401);
    expectError(await a.post('/auth/verify-email/resend').send({}), 'conflict', 409);
    // The sweep above spent this cookie's shield budget (10 guesses, 6 a minute): let it refill.
    t.clock.advance(120);
    expect((await login(a, 'nina@example.com').expect(200)).body.state).toBe('authenticated');
  });

  it('resend needs a verification_required session and is capped (429 with Retry-After)', async () => {
    await setup();
    expectError(await agent(t).post('/auth/verify-email/resend').send({}), 'no_pending_login', 409);
    await registerAndToken('nina@example.com'); // mail 1 of 3 this hour
    const a = agent(t);
    await login(a, 'nina@example.com').expect(200);
    expectError(await a.post('/auth/verify-email/resend').send({ email: 'attacker@evil.test' }), 'invalid_request', 400);
    await a.post('/auth/verify-email/resend').send({}).expect(202);
    await a.post('/auth/verify-email/resend').send({}).expect(202);
    const capped = await a.post('/auth/verify-email/resend').send({});
    expectError(capped, 'rate_limited', 429);
    expect(Number(capped.headers['retry-after'])).toBeGreaterThan(0);
    await t.stepUp.lifecycle.idle();
    expect(sink.messages.every((m) => m.to.every((to) => to === 'nina@example.com'))).toBe(true);
    t.clock.advance(301);
    expectError(await a.post('/auth/verify-email/resend').send({}), 'challenge_expired', 410);
  });

  it('a disabled account cannot verify', async () => {
    await setup();
    const token = await registerAndToken('nina@example.com');
    const nina = await userOf('nina@example.com');
    await t.users.update(tenant.id, nina.id, { disabledAt: new Date(t.clock.now()) });
    expectError(await verify(token), 'invalid_code', 401);
    expect((await userOf('nina@example.com')).emailVerifiedAt).toBeNull();
  });

  describe('in a tenant where MFA is mandatory', () => {
    it('the first login after verification is enrollment_required with no grace; only enrolment, session and logout answer', async () => {
      await setup({ mfaRequired: true, gracePeriodDays: 30 });
      // An account an admin made gets the grace period; a self-registered one must enrol at once.
      await seedUser(t, tenant.id, 'bob@example.com', PW);
      expect((await login(agent(t), 'bob@example.com', PW).expect(200)).body).toMatchObject({ state: 'authenticated', aal: 1, enrollmentDeadline: expect.any(String) });

      await verify(await registerAndToken('nina@example.com')).expect(200);
      const a = agent(t);
      const res = await login(a, 'nina@example.com').expect(200);
      // No passkeys: this app has no WebAuthn relying party (test/integration/passkeys-availability.test.ts).
      expect(res.body).toEqual({ state: 'enrollment_required', methods: ['totp', 'email_otp', 'sms_otp'], expiresAt: expect.any(String) });

      const nina = await userOf('nina@example.com');
      const ENROL = /^POST \/auth\/mfa\/((totp|email|sms)\/(enroll|verify)|webauthn\/register\/(options|verify))$/;
      for (const { method, path } of routesOf(t.app)) {
        const key = `${method} ${path}`;
        if (ENROL.test(key) || PUBLIC.has(key)) continue;
        const url = path.replace(/:slug/g, 'acme').replace(/:id|:userId/g, nina.id);
        const r = method === 'GET' ? await a.get(url) : await a[method.toLowerCase() as 'post'](url).send(BODIES[path] ?? {});
        expect({ key, ok: [401, 403, 409].includes(r.status) || `${r.status} ${r.body?.error}` }).toEqual({ key, ok: true });
        expect(r.text).not.toContain('nina@example.com');
      }
      // Logging in again does not skip it, nor does waiting for the grace period an admin-made account would get.
      t.clock.advance(60);
      expect((await login(agent(t), 'nina@example.com').expect(200)).body.state).toBe('enrollment_required');

      const enrol = await a.post('/auth/mfa/totp/enroll').send({}).expect(200);
      const done = await a.post('/auth/mfa/totp/verify').send({ code: codeFor(enrol.body.secret, t.clock.now()) }).expect(200);
      expect(done.body.backupCodes).toHaveLength(10);
      expect((await a.get('/auth/session').expect(200)).body).toMatchObject({ state: 'authenticated', aal: 2 });
      await a.get('/api/secure').expect(200);
    });
  });
});
