/**
 * A store that is down fails closed (MFA-59, DESIGN §3 503 `unavailable`): a private redis-server is
 * killed under a running app; every request that needs it answers 503 quickly, nothing is granted,
 * no stack trace leaves, and the process does not crash. Also a store that fails while a response is
 * already on its way (express-session's save/touch after the handler answered).
 */
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { RedisStore } from 'connect-redis';
import request from 'supertest';
import { agent, buildApp, codeFor, SESSION_SECRET, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { login, RFC_SECRET, seedRfcTotp } from '../helpers/security';
import { describeWithRedis } from '../helpers/services';
import { freePort, startRedis, stopRedis } from '../helpers/private-redis';





function expectUnavailable(res: request.Response) {
  expect(res.status).toBe(503);
  expect(res.body).toEqual({ error: 'unavailable', message: expect.any(String) });
  expect(res.headers['set-cookie']).toBeUndefined();
  expect(res.text).not.toMatch(/ECONNREFUSED|Stream|ioredis|Error|at .*:\d+/);
}

describeWithRedis('redis down: fail closed with 503', () => {
  let port: number;
  let child: ChildProcess;
  let redis: Redis;
  let t: TestApp;

  beforeEach(async () => {
    port = await freePort();
    child = await startRedis(port);
  });
  afterEach(async () => {
    redis?.disconnect();
    await t?.close();
    await stopRedis(child);
  });

  async function scenario(client: Redis) {
    redis = client;
    redis.on('error', () => undefined);
    if (redis.status !== 'ready') await new Promise((r) => redis.once('ready', r));
    t = buildApp({ redis });
    const tenantId = (await seedTenant(t)).id;
    const alice = (await seedUser(t, tenantId)).user;
    await seedRfcTotp(t, alice, 0);
    const full = agent(t);
    await login(full).expect(200);
    await full.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(RFC_SECRET, t.clock.now()) }).expect(200);
    await full.get('/api/profile').expect(200);
    t.clock.advance(30);
    const pending = agent(t);
    await login(pending).expect(200);

    await stopRedis(child);
    for (let i = 0; i < 100 && redis.status === 'ready'; i++) await new Promise((r) => setTimeout(r, 20));

    const timed = <T extends request.Test>(r: T) => r.timeout({ response: 8000, deadline: 10000 });
    expectUnavailable(await timed(request(t.app).post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password: 'correct horse battery staple' })));
    expectUnavailable(await timed(full.get('/auth/session')));
    expectUnavailable(await timed(full.get('/api/profile')));
    expectUnavailable(await timed(full.post('/api/danger').send({})));
    expectUnavailable(await timed(full.post('/auth/mfa/backup-codes/regenerate').send({})));
    expectUnavailable(await timed(pending.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(RFC_SECRET, t.clock.now()) })));
    expectUnavailable(await timed(pending.post('/auth/logout')));
    // Without a cookie nothing needs the store: still nothing is granted.
    await timed(request(t.app).get('/api/profile')).expect(401);

    // The server comes back: the same app serves again (sessions were lost with the server's memory).
    child = await startRedis(port);
    let back = 0;
    for (let i = 0; i < 100 && back !== 200; i++) {
      back = (await timed(login(agent(t)))).status;
      if (back !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(back).toBe(200);
    await timed(full.get('/api/profile')).expect(401);
  }

  it('with enableOfflineQueue: false and maxRetriesPerRequest: 1 (commands fail fast)', async () => {
    await scenario(new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, enableOfflineQueue: false }));
  });

  it('with the offline queue on (the ioredis default), requests still answer 503 instead of hanging', async () => {
    await scenario(new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 }));
  });
});

describeWithRedis('redis fails after the handler answered', () => {
  it('a failing session touch/save after the response does not crash the process', async () => {
    // Guarded by lib/guards.ts failClosed: an error after headers were sent is logged, never re-sent.
    const shared = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 });
    shared.on('error', () => undefined);
    const real = new RedisStore({ client: shared, prefix: `down:${Date.now()}:sess:` });
    let broken = false;
    const fail = (cb?: (err?: unknown) => void) => cb?.(new Error('Connection is closed.'));
    const flaky = Object.create(real) as RedisStore;
    flaky.set = async (sid, sess, cb) => (broken ? fail(cb) : real.set(sid, sess, cb));
    flaky.touch = async (sid, sess, cb) => (broken ? fail(cb) : real.touch(sid, sess, cb));
    const errors: string[] = [];
    const t = buildApp({ redis: true, overrides: { session: { secret: SESSION_SECRET, store: flaky }, logger: { info: () => undefined, warn: () => undefined, error: (m) => errors.push(m) } } });
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      await seedUser(t, (await seedTenant(t)).id);
      const a = agent(t);
      await login(a).expect(200);
      await a.get('/api/profile').expect(200);
      broken = true;
      t.clock.advance(61); // lastSeen moves: the session is saved at the end of the response
      const res = await a.get('/api/profile');
      expect([200, 503]).toContain(res.status);
      await a.get('/auth/session');
      await new Promise((r) => setTimeout(r, 100));
      expect(uncaught).toEqual([]);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      process.off('uncaughtException', onUncaught);
      await t.close();
      shared.disconnect();
    }
  });
});

describeWithRedis('redis stalled (SIGSTOP): a deadline on every call, 503 within 2 s, recovery by itself (SR-8)', () => {
  let port: number;
  let child: ChildProcess;
  let redis: Redis;
  let t: TestApp;

  beforeEach(async () => {
    port = await freePort();
    child = await startRedis(port);
    redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    t = buildApp({ redis, overrides: { redisTimeoutMs: 500 } });
  });
  afterEach(async () => {
    child.kill('SIGCONT');
    redis.disconnect();
    await t.close();
    await stopRedis(child);
  });

  it('guarded requests, logins and challenges answer 503 while Redis is paused, and work again after', async () => {
    const tenant = await seedTenant(t);
    const { user } = await seedUser(t, tenant.id);
    const bob = (await seedUser(t, tenant.id, 'bob@example.com')).user;
    await seedRfcTotp(t, bob);
    const a = agent(t);
    await login(a).expect(200);
    await a.get('/api/profile').expect(200);
    const pending = agent(t);
    await login(pending, 'bob@example.com').expect(200);

    child.kill('SIGSTOP');
    // Real time on purpose: the deadline is about wall-clock latency, not the app's clock.
    for (const send of [() => a.get('/api/profile'), () => login(agent(t)), () => pending.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(RFC_SECRET, t.clock.now()) })]) {
      const started = Date.now();
      const res = await send();
      expect(Date.now() - started).toBeLessThan(2000);
      expectUnavailable(res);
    }

    child.kill('SIGCONT');
    await a.get('/api/profile').expect(200);
    expect(user.id).toBeTruthy();
  });
});
