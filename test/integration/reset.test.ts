/**
 * Password reset (issue 8; MFA-49, MFA-50, ATK-13, ATK-24, MFA-58): forgot answers the same for every
 * input; the link is single use, expires at 30 minutes on the injected clock, and a new request makes the
 * previous link stop working; a reset ends every session and logs nobody in, so the next login still asks
 * for the second factor.
 */
import { internalContextOf } from '../../testing';
import request from 'supertest';
import { SmtpMailer } from '../../lib/delivery/smtp';
import type { SessionsEndedEvent } from '../../lib/events';
import type { StepUpOptions } from '../../index';
import type { LifecycleOptions } from '../../lib/account/index';
import type { TenantRecord, UserRecord } from '../../lib/types';
import { agent, buildApp, codeFor, enrolTotp, expectError, seedTenant, seedUser, sidOf, type TestApp, LINK_TOKEN as TOKEN, responseShape as shape } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { recordingLogger } from '../helpers/security';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';

type Agent = ReturnType<typeof agent>;
const PW = 'correct horse battery staple';
const NEW_PW = 'a fresh and long replacement passphrase';
const MIN = 60;

describeWithRedis('password reset: POST /auth/password/forgot and /auth/password/reset', () => {
  let sink: SmtpSink;
  let t: TestApp;
  let acme: TenantRecord;
  let alice: UserRecord;
  let bob: UserRecord;
  let ended: SessionsEndedEvent[];
  let rec: ReturnType<typeof recordingLogger>;

  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(() => sink.close());
  afterEach(async () => {
    await t.stepUp.lifecycle.idle();
    await t.close();
  });

  async function setup(lifecycle: LifecycleOptions = {}, extra: Partial<StepUpOptions> = {}) {
    sink.messages.length = 0;
    rec = recordingLogger();
    t = buildApp({
      redis: true,
      overrides: {
        mailer: new SmtpMailer({ url: sink.url, from: 'no-reply@example.test' }),
        logger: rec.logger,
        allowedOrigins: ['https://app.example.test'],
        lifecycle,
        ...extra,
      },
    });
    ended = [];
    t.stepUp.events.on('sessions_ended', (e: SessionsEndedEvent) => ended.push(e));
    acme = await seedTenant(t, 'acme');
    alice = (await seedUser(t, acme.id, 'alice@example.com', PW)).user;
    bob = (await seedUser(t, acme.id, 'bob@example.com', PW)).user;
  }

  const forgot = (email: string, tenant = 'acme') => request(t.app).post('/auth/password/forgot').send({ tenant, email });
  const reset = (token: string, newPassword = NEW_PW, a?: Agent) => (a ?? request(t.app)).post('/auth/password/reset').send({ token, newPassword });
  const login = (a: Agent, email = 'alice@example.com', password = PW) => a.post('/auth/login').send({ tenant: 'acme', email, password });
  /** The token of the newest reset mail to `email`. */
  async function resetToken(email = 'alice@example.com'): Promise<string> {
    await t.stepUp.lifecycle.idle();
    const mail = sink.messages.filter((m) => m.to.includes(email) && /Reset your password/.test(m.subject)).at(-1);
    if (!mail) throw new Error(`no reset mail to ${email}`);
    return TOKEN.exec(mail.text)![1]!;
  }

  it('forgot answers the same 202 for a real account, an unknown address or tenant and a disabled account; only the owner gets a link', async () => {
    await setup();
    await t.users.update(acme.id, bob.id, { disabledAt: new Date(t.clock.now()) });
    const answers = [await forgot('alice@example.com'), await forgot('nobody@example.com'), await forgot('alice@example.com', 'nosuch'), await forgot('bob@example.com')];
    expect(shape(answers[0]!)).toEqual({ status: 202, body: { status: 'reset_requested' }, cookie: null, headers: expect.any(Array) });
    for (const a of answers.slice(1)) expect(shape(a)).toEqual(shape(answers[0]!));
    await t.stepUp.lifecycle.idle();
    const resets = sink.messages.filter((m) => /Reset your password/.test(m.subject));
    expect(resets.map((m) => m.to)).toEqual([['alice@example.com']]);
    const mail = resets[0]!;
    expect(mail.subject).toBe('ExampleCo: Reset your password');
    expect(mail.text).toMatch(/https:\/\/app\.example\.test\/reset-password#token=[A-Za-z0-9_-]{43}\s/);
    expect(mail.text).toMatch(/does not turn off two-step verification/);
    expect(mail.html).toContain('href="https://app.example.test/reset-password#token=');
    const audit = await t.audit.list(acme.id, { limit: 20 });
    expect(audit.map((e) => [e.type, e.userId])).toEqual([['password_reset_requested', alice.id]]);
  });

  it('the link works once: the password changes, every session ends, the user is told, nobody is logged in, and the second factor is still asked (MFA-50)', async () => {
    await setup();
    const notices = jest.fn(async () => undefined);
    internalContextOf(t.stepUp).noticeSender = notices;
    const a = agent(t);
    await login(a).expect(200);
    const { secret } = await enrolTotp(t, a); // alice now has TOTP; `a` is a full aal-2 session
    t.clock.advance(30);
    const b = agent(t);
    await login(b).expect(200);
    await b.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
    const pending = agent(t);
    expect((await login(pending).expect(200)).body.state).toBe('mfa_required');
    await a.get('/api/secure').expect(200);
    await b.get('/api/secure').expect(200);

    await forgot('alice@example.com').expect(202);
    const token = await resetToken();
    const res = await reset(token).expect(200);
    expect(res.body).toEqual({ reset: true });
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');

    // Every live session is gone: the next request of each is a 401 (or no pending login).
    expectError(await a.get('/api/secure'), 'unauthenticated', 401);
    expectError(await b.get('/api/profile'), 'unauthenticated', 401);
    expectError(await pending.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }), 'no_pending_login', 409);
    expect(ended).toEqual([expect.objectContaining({ tenantId: acme.id, userId: alice.id, reason: 'password_changed', sessionIds: expect.any(Array) })]);
    expect(ended[0]!.sessionIds).toHaveLength(3);
    expect(notices).toHaveBeenCalledWith(expect.objectContaining({ id: alice.id }), { event: 'password_changed' });
    await t.stepUp.lifecycle.idle();
    await sink.waitFor((m) => m.to.includes('alice@example.com') && /password was changed/.test(m.subject));

    // Single use; the old password is gone; the new one still needs the second factor.
    expectError(await reset(token, 'yet another long passphrase'), 'invalid_code', 401);
    expectError(await login(agent(t)), 'invalid_credentials', 401);
    const c = agent(t);
    const next = await login(c, 'alice@example.com', NEW_PW).expect(200);
    expect(next.body).toMatchObject({ state: 'mfa_required', methods: ['totp', 'backup_code'] });
    expectError(await c.get('/api/profile'), 'unauthenticated', 401);
    t.clock.advance(30);
    await c.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
    await c.get('/api/secure').expect(200);

    const audit = (await t.audit.list(acme.id, { limit: 100 })).filter((e) => e.type === 'password_reset');
    expect(audit).toEqual([expect.objectContaining({ userId: alice.id, actorId: alice.id, details: { sessionsEnded: 3 } })]);
    const stored = (await t.users.findById(acme.id, alice.id))!;
    expect(stored.mfa.totp).toBeTruthy();
    expect(stored.mfa.backupCodes).toHaveLength(10);
  });

  it("a reset from the user's own browser session ends that session too, with the cookie cleared", async () => {
    await setup();
    const a = agent(t);
    await login(a).expect(200);
    await a.get('/api/profile').expect(200);
    await forgot('alice@example.com').expect(202);
    const res = await reset(await resetToken(), NEW_PW, a).expect(200);
    expect(String(res.headers['set-cookie'] ?? '')).toMatch(/^sid=;/);
    expectError(await a.get('/api/profile'), 'unauthenticated', 401);
    expect((await a.get('/auth/session')).body).toEqual({ state: 'anonymous' });
  });

  it('expires at 30 minutes on the injected clock: 29:59 works, 30:01 does not', async () => {
    await setup();
    await forgot('alice@example.com').expect(202);
    await forgot('bob@example.com').expect(202);
    const [forAlice, forBob] = [await resetToken('alice@example.com'), await resetToken('bob@example.com')];
    t.clock.advance(30 * MIN - 1);
    await reset(forAlice).expect(200);
    t.clock.advance(2);
    expectError(await reset(forBob), 'invalid_code', 401);
    await login(agent(t), 'bob@example.com', PW).expect(200);
  });

  it('asking again makes the previous link stop working', async () => {
    await setup();
    await forgot('alice@example.com').expect(202);
    const first = await resetToken();
    t.clock.advance(61);
    await forgot('alice@example.com').expect(202);
    const second = await resetToken();
    expect(second).not.toBe(first);
    expectError(await reset(first), 'invalid_code', 401);
    await reset(second).expect(200);
  });

  it('of two requests racing, exactly one link works', async () => {
    await setup({ cooldownSeconds: 0 });
    await Promise.all([forgot('alice@example.com'), forgot('alice@example.com'), forgot('alice@example.com')]);
    await t.stepUp.lifecycle.idle();
    const tokens = sink.messages.filter((m) => /Reset your password/.test(m.subject)).map((m) => TOKEN.exec(m.text)![1]!);
    expect(tokens).toHaveLength(3);
    const answers = [];
    for (const token of tokens) answers.push((await reset(token, `${NEW_PW} ${answers.length}`)).status);
    expect(answers.sort()).toEqual([200, 401, 401]);
  });

  it('refuses a too short or too long password before spending the link', async () => {
    await setup();
    await forgot('alice@example.com').expect(202);
    const token = await resetToken();
    expectError(await reset(token, 'seven77'), 'invalid_request', 400);
    expectError(await reset(token, 'x'.repeat(257)), 'invalid_request', 400);
    for (const body of [{ token }, { token, newPassword: NEW_PW, email: 'bob@example.com' }, { token: { $ne: null }, newPassword: NEW_PW }, { token: token.slice(1), newPassword: NEW_PW }]) {
      expectError(await request(t.app).post('/auth/password/reset').send(body), 'invalid_request', 400);
    }
    await reset(token, '\u{1F511}'.repeat(256)).expect(200);
    await login(agent(t), 'alice@example.com', '\u{1F511}'.repeat(256)).expect(200);
  });

  it('caps sends per address silently (three an hour, one a minute) and per IP with 429', async () => {
    await setup({ perIpPerHour: 6 });
    for (let i = 0; i < 5; i++) {
      await forgot('alice@example.com').expect(202);
      t.clock.advance(i === 0 ? 10 : 61);
    }
    await t.stepUp.lifecycle.idle();
    expect(sink.messages.filter((m) => m.to.includes('alice@example.com') && /Reset your password/.test(m.subject))).toHaveLength(3);
    await forgot('nobody@example.com').expect(202);
    const capped = await forgot('bob@example.com');
    expectError(capped, 'rate_limited', 429);
    expect(Number(capped.headers['retry-after'])).toBeGreaterThan(0);
    expect(shape(await forgot('nobody@example.com'))).toEqual(shape(capped));
  });

  it("wrong tokens count against the IP's password budget: past it, even a good token waits (429)", async () => {
    await setup({}, { passwordLimits: { perAccount: 10, perIp: 3, lockSeconds: 600 } });
    await forgot('alice@example.com').expect(202);
    const token = await resetToken();
    for (let i = 0; i < 3; i++) expectError(await reset(`${'A'.repeat(42)}${i}`), 'invalid_code', 401);
    const locked = await reset(token);
    expectError(locked, 'rate_limited', 429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    t.clock.advance(601);
    await reset(token).expect(200);
  });

  it('an unverified self-registered account: the reset proves the inbox and verifies it (the owner takes it back)', async () => {
    await setup();
    await t.tenants.updatePolicy(acme.id, { ...acme.policy, selfRegistration: true });
    await request(t.app).post('/auth/register').send({ tenant: 'acme', email: 'squat@example.com', password: 'the squatter knows this one' }).expect(202);
    await t.stepUp.lifecycle.idle();
    const squatter = agent(t);
    expect((await login(squatter, 'squat@example.com', 'the squatter knows this one').expect(200)).body.state).toBe('verification_required');
    t.clock.advance(61);
    await forgot('squat@example.com').expect(202);
    await reset(await resetToken('squat@example.com')).expect(200);
    expectError(await squatter.post('/auth/verify-email/resend').send({}), 'no_pending_login', 409);
    expectError(await login(agent(t), 'squat@example.com', 'the squatter knows this one'), 'invalid_credentials', 401);
    expect((await login(agent(t), 'squat@example.com', NEW_PW).expect(200)).body.state).toBe('authenticated');
  });

  it('MFA-58: no token, password or session id in any log line or audit detail', async () => {
    await setup();
    const a = agent(t);
    const sid = sidOf(await login(a).expect(200))!;
    await forgot('alice@example.com').expect(202);
    const token = await resetToken();
    await reset(`${token.slice(0, 30)}${token[30] === 'A' ? 'B' : 'A'}${token.slice(31)}`).expect(401);
    await forgot('alice@example.com').expect(202); // within the cooldown: no mail
    t.clock.advance(61);
    await forgot('alice@example.com').expect(202);
    const second = await resetToken();
    await reset(second).expect(200);
    const audit = JSON.stringify(await t.audit.list(acme.id, { limit: 100 }));
    const text = rec.text() + audit;
    const needles = [token, second, token.slice(0, 21), second.slice(0, 21), PW, NEW_PW, sid, decodeURIComponent(sid).slice(2, 34)];
    expect(needles.filter((n) => text.includes(n))).toEqual([]);
    expect(rec.lines.filter((l) => l.msg === 'audit').map((l) => l.fields?.type)).toEqual(
      expect.arrayContaining(['password_reset_requested', 'lifecycle_mail_suppressed', 'password_reset']),
    );
    // The Redis keys hold no part of a token either.
    const keys = await t.redis!.keys(`${internalContextOf(t.stepUp).opts.redisPrefix}*`);
    const values = await Promise.all(keys.map(async (k) => ((await t.redis!.type(k)) === 'string' ? t.redis!.get(k) : '')));
    expect([...keys, ...values].join('\n')).not.toContain(second.slice(0, 21));
  });
});
