/**
 * The shield (issue 14): a flood is refused before the session is loaded (429 + Retry-After, no store
 * call, no argon2), per IP and per session cookie; another IP's flood does not lock a legitimate user
 * out beyond the account budget; the password queue answers 503 past its bound. Real Redis, time
 * moved on the injected clock.
 */
import { internalContextOf } from '../../testing';
import { agent, buildApp, codeFor, expectError, FAST_ARGON2, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { RFC_SECRET, seedRfcTotp } from '../helpers/security';
import { describeWithRedis } from '../helpers/services';
import { PasswordHasher, PasswordQueue } from '../../lib/crypto/passwords';
import type { StepUpOptions } from '../../index';

const PW = 'correct horse battery staple';

describeWithRedis('shield: early refusals under a flood', () => {
  let t: TestApp;
  let tenantId: string;
  const setup = async (shield: StepUpOptions['shield'], extra: Partial<StepUpOptions> = {}) => {
    // Refusals without the anti-spin delay here (one test checks it), so the tests stay fast.
    t = buildApp({ redis: true, overrides: { shield: { delayMs: 0, ...shield }, passwordLimits: { perAccount: 10, perIp: 1000, lockSeconds: 600 }, ...extra } });
    // Client addresses come from X-Forwarded-For in these tests, as behind a proxy.
    t.app.set('trust proxy', true);
    tenantId = (await seedTenant(t)).id;
    await seedUser(t, tenantId);
  };
  afterEach(() => t?.close());

  const login = (ip: string, password = 'wrong password!', a = agent(t)) =>
    a.post('/auth/login').set('X-Forwarded-For', ip).send({ tenant: 'acme', email: 'alice@example.com', password });

  it('answers 429 rate_limited with Retry-After before the session store or argon2 is touched', async () => {
    await setup({ ipBurst: 3, ipPerMinute: 6, sessionBurst: 2, sessionPerMinute: 6 });
    const store = t.stepUp.stores.sessions;
    const ctx = internalContextOf(t.stepUp);
    // A session the server issued (its login paid at 198.51.100.99): its requests spend its own budget.
    const a = agent(t);
    expect((await login('198.51.100.99', PW, a)).status).toBe(200);
    const get = jest.spyOn(store, 'get');
    const set = jest.spyOn(store, 'set');
    const verify = jest.spyOn(ctx.hasher, 'verify');
    for (let i = 0; i < 2; i++) expectError(await login('198.51.100.7', 'wrong password!', a), 'invalid_credentials', 401);
    // The control: with budget left, the session store and argon2 are reached.
    expect(get).toHaveBeenCalledTimes(2);
    expect(verify).toHaveBeenCalledTimes(2);
    for (const s of [get, set, verify]) s.mockClear();
    const res = await login('198.51.100.7', 'wrong password!', a);
    expectError(res, 'rate_limited', 429);
    // One token every 10 s (6 per minute).
    expect(res.headers['retry-after']).toBe('10');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(get).not.toHaveBeenCalled();
    expect(set).not.toHaveBeenCalled();
    expect(verify).not.toHaveBeenCalled();
    // Without a cookie, the address's budget: 3, then refused the same way.
    for (let i = 0; i < 3; i++) expectError(await login('198.51.100.7'), 'invalid_credentials', 401);
    verify.mockClear();
    expectError(await login('198.51.100.7'), 'rate_limited', 429);
    expect(verify).not.toHaveBeenCalled();
    // A made-up cookie is no session: it spends the address's budget too.
    expectError(await login('198.51.100.7').set('Cookie', 'sid=s%3Afake.c2lnbmF0dXJl'), 'rate_limited', 429);
    // The buckets refill on the injected clock.
    t.clock.advance(10);
    expectError(await login('198.51.100.7', 'wrong password!', a), 'invalid_credentials', 401);
    expectError(await login('198.51.100.7'), 'invalid_credentials', 401);
    expectError(await login('198.51.100.7'), 'rate_limited', 429);
  });

  it('the passkey routes (options store a challenge, verifies check a signature) are shielded too', async () => {
    await setup({ ipBurst: 2, ipPerMinute: 2 });
    const get = jest.spyOn(t.stepUp.stores.sessions, 'get');
    for (const path of ['/auth/passkey/options', '/auth/passkey/login', '/auth/mfa/webauthn/register/options', '/auth/mfa/webauthn/register/verify', '/auth/mfa/webauthn/authenticate/options']) {
      const ip = `198.51.100.${60 + path.length}`;
      // Signed-cookie-less requests spend the address's budget, whatever each route then answers.
      for (let i = 0; i < 2; i++) expect((await agent(t).post(path).set('X-Forwarded-For', ip).send({})).status).not.toBe(429);
      get.mockClear();
      const res = await agent(t).post(path).set('X-Forwarded-For', ip).send({});
      expectError(res, 'rate_limited', 429);
      expect(get).not.toHaveBeenCalled();
    }
  });

  it('a session refused by a timed account lock gets the same 423 from the shield until the lock lifts, without a session read', async () => {
    await setup({ ipBurst: 1000, ipPerMinute: 1000, sessionBurst: 1000, sessionPerMinute: 1000 }, { lockout: { maxFailures: 3, lockSeconds: 600 } });
    await seedRfcTotp(t, (await t.users.findByEmail(tenantId, 'alice@example.com'))!);
    const a = agent(t);
    await login('198.51.100.70', PW, a).expect(200);
    const code = (c: string) => a.post('/auth/mfa/challenge').set('X-Forwarded-For', '198.51.100.70').send({ method: 'totp', code: c });
    for (let i = 0; i < 3; i++) expectError(await code('000000'), 'invalid_code', 401);
    const first = await code('000000');
    expectError(first, 'account_locked', 423);
    const get = jest.spyOn(t.stepUp.stores.sessions, 'get');
    const again = await code(codeFor(RFC_SECRET, t.clock.now()));
    // The same answer as the route's (status, code, message, Retry-After), and no session was loaded.
    expect({ status: again.status, body: again.body }).toEqual({ status: 423, body: first.body });
    expect(Number(again.headers['retry-after'])).toBeGreaterThan(0);
    expect(get).not.toHaveBeenCalled();
    // A new login from the same browser is not held back (it gets a new session id).
    expect((await login('198.51.100.70', PW, a)).status).toBe(200);
    expect(get).toHaveBeenCalled();
    // Once the lock lifts, codes reach the session and the pipeline again.
    t.clock.advance(601);
    await login('198.51.100.70', PW, a).expect(200);
    expect((await code(codeFor(RFC_SECRET, t.clock.now()))).body.state).toBe('authenticated');
  });

  it('guarded and other requests are never shielded', async () => {
    await setup({ ipBurst: 1, ipPerMinute: 1 });
    expectError(await login('198.51.100.7'), 'invalid_credentials', 401);
    expectError(await login('198.51.100.7'), 'rate_limited', 429);
    for (let i = 0; i < 5; i++) {
      expectError(await agent(t).get('/api/profile').set('X-Forwarded-For', '198.51.100.7'), 'unauthenticated', 401);
      expect((await agent(t).get('/auth/session').set('X-Forwarded-For', '198.51.100.7')).status).toBe(200);
    }
  });

  it('spends a per-session budget whatever address the requests come from', async () => {
    await setup({ ipBurst: 1000, ipPerMinute: 1000, sessionBurst: 3, sessionPerMinute: 3 });
    const a = agent(t);
    await login('198.51.100.1', PW, a).expect(200);
    // The login came without a cookie (its IP paid); three codes from three more addresses spend the cookie's budget.
    for (let i = 1; i <= 3; i++) {
      const r = await a.post('/auth/mfa/challenge').set('X-Forwarded-For', `198.51.100.${i}`).send({ method: 'totp', code: '000000' });
      expect(r.status).not.toBe(429);
    }
    const res = await a.post('/auth/mfa/challenge').set('X-Forwarded-For', '198.51.100.4').send({ method: 'totp', code: '000000' });
    expectError(res, 'rate_limited', 429);
    expect(Number(res.headers['retry-after'])).toBe(20);
    // The same address without that cookie still has its own budget.
    expectError(await login('198.51.100.4'), 'invalid_credentials', 401);
  });

  it("another address's flood does not lock a legitimate user out beyond the account budget", async () => {
    await setup({ ipBurst: 5, ipPerMinute: 1 });
    const answers = await Promise.all(Array.from({ length: 40 }, () => login('203.0.113.66').then((r) => r.status)));
    // Only the IP's burst reaches the password check (and the account budget): 5 of the 10.
    expect(answers.filter((s) => s === 401)).toHaveLength(5);
    expect(answers.filter((s) => s === 429)).toHaveLength(35);
    const mine = await login('198.51.100.20', PW);
    expect(mine.status).toBe(200);
    expect(mine.body.state).toBeDefined();
  });

  it('with redis: true, an IP budget is shared by every process on the same Redis', async () => {
    await setup({ ipBurst: 2, ipPerMinute: 2, redis: true });
    const first = t;
    const second = buildApp({ redis: true, overrides: { shield: { ipBurst: 2, ipPerMinute: 2, redis: true, delayMs: 0 }, redisPrefix: internalContextOf(first.stepUp).opts.redisPrefix } });
    second.app.set('trust proxy', true);
    try {
      await seedUser(second, (await seedTenant(second)).id);
      expectError(await login('198.51.100.30'), 'invalid_credentials', 401);
      expectError(await login('198.51.100.30'), 'invalid_credentials', 401);
      // The second process has untouched local buckets, but the shared minute is spent.
      const res = await agent(second).post('/auth/login').set('X-Forwarded-For', '198.51.100.30').send({ tenant: 'acme', email: 'alice@example.com', password: 'nope nope' });
      expectError(res, 'rate_limited', 429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await second.close();
    }
  });

  it('holds a refusal back by delayMs (never longer than its Retry-After), so a client that ignores it cannot spin', async () => {
    await setup({ ipBurst: 1, ipPerMinute: 60, delayMs: 200 });
    expectError(await login('198.51.100.50'), 'invalid_credentials', 401);
    const t0 = performance.now();
    const res = await login('198.51.100.50');
    expectError(res, 'rate_limited', 429);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(res.headers['retry-after']).toBe('1');
  });

  it('shield.enabled: false lets everything through to the budgets behind it', async () => {
    await setup({ enabled: false, ipBurst: 1 });
    for (let i = 0; i < 4; i++) expectError(await login('198.51.100.9'), 'invalid_credentials', 401);
  });

  it('the password queue refuses beyond its bound with 503 unavailable (and Retry-After), then recovers', async () => {
    await setup({ ipBurst: 100, ipPerMinute: 100 });
    const ctx = internalContextOf(t.stepUp);
    const queue = new PasswordQueue({ concurrency: 1, maxQueued: 1 });
    ctx.hasher = new PasswordHasher(FAST_ARGON2, queue);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // One computation running, one waiting: the queue is full.
    const running = queue.run(() => gate);
    const waiting = queue.run(() => gate);
    expect(queue.stats).toEqual({ active: 1, queued: 1 });
    const res = await login('198.51.100.40', PW);
    expectError(res, 'unavailable', 503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['set-cookie']).toBeUndefined();
    release();
    await Promise.all([running, waiting]);
    expect((await login('198.51.100.40', PW)).status).toBe(200);
  });
});
