import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import express from 'express';
import { Passport } from 'passport';
import { createStepUp, MemoryAuditStore, MemoryTenantStore, MemoryUserStore, type StepUp } from '../../index';
import { codeFor, FAST_ARGON2, newRedis, SESSION_SECRET, TEST_KEY, TestClock } from '../helpers/app';
import { openSocket, refusedStatus, withTimeout } from '../helpers/realtime-ws';
import { describeWithRedis } from '../helpers/services';
import type { Redis } from 'ioredis';

const ORIGIN = 'https://app.example.com';

/** A cookie-keeping client, like a browser on ORIGIN. */
class Client {
  cookie = '';
  constructor(public base: string) {}
  async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(this.base + path, {
      method,
      headers: { origin: ORIGIN, ...(body ? { 'content-type': 'application/json' } : {}), ...(this.cookie ? { cookie: this.cookie } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
    if (set) this.cookie = set.split(';')[0]!;
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }
}

describeWithRedis('stepUp.realtime wired to the plugin sessions, across two processes sharing Redis', () => {
  const clock = new TestClock();
  const stores = { users: new MemoryUserStore(), tenants: new MemoryTenantStore(), audit: new MemoryAuditStore() };
  const prefix = `test:${randomBytes(5).toString('hex')}:`;
  const nodes: { stepUp: StepUp; server: http.Server; base: string; redis: Redis }[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const redis = newRedis();
      const stepUp = createStepUp({
        issuer: 'ExampleCo',
        session: { secret: SESSION_SECRET },
        keys: [TEST_KEY],
        stores,
        redis,
        redisPrefix: prefix,
        now: clock.now,
        passport: new Passport(),
        password: { argon2: FAST_ARGON2 },
        allowedOrigins: [ORIGIN],
        logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      });
      const app = express();
      app.use(stepUp.session);
      app.use('/auth', stepUp.router);
      const server = http.createServer(app);
      stepUp.realtime.attach(server, { path: '/ws' });
      await stepUp.realtime.ready();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      nodes.push({ stepUp, server, redis, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    }
    const tenant = await nodes[0]!.stepUp.createTenant({ slug: 'acme', name: 'Acme' });
    await nodes[0]!.stepUp.createUser({ tenantId: tenant.id, email: 'alice@example.com', password: 'correct horse battery staple' });
  });

  afterAll(async () => {
    for (const n of nodes) {
      await n.stepUp.close();
      await new Promise<void>((r) => n.server.close(() => r()));
      await n.redis.quit();
    }
  });

  const wsUrl = (n: number) => nodes[n]!.base.replace('http', 'ws') + '/ws';
  let secret = '';

  async function fullLogin(c: Client): Promise<void> {
    const login = await c.call('POST', '/auth/login', { tenant: 'acme', email: 'alice@example.com', password: 'correct horse battery staple' });
    if (login.json.state === 'authenticated') {
      const enrol = await c.call('POST', '/auth/mfa/totp/enroll', {});
      secret = enrol.json.secret as string;
      expect((await c.call('POST', '/auth/mfa/totp/verify', { code: codeFor(secret, clock.now()) })).status).toBe(200);
      return;
    }
    clock.advance(30);
    expect((await c.call('POST', '/auth/mfa/challenge', { method: 'totp', code: codeFor(secret, clock.now()) })).status).toBe(200);
  }

  it('refuses a pending session and a foreign origin; accepts a full session', async () => {
    const c = new Client(nodes[0]!.base);
    await fullLogin(c); // enrols TOTP (aal 2)
    await c.call('POST', '/auth/logout');
    const pending = new Client(nodes[0]!.base);
    await pending.call('POST', '/auth/login', { tenant: 'acme', email: 'alice@example.com', password: 'correct horse battery staple' });
    expect(await refusedStatus(wsUrl(0), { cookie: pending.cookie })).toBe(401);
    clock.advance(30);
    await pending.call('POST', '/auth/mfa/challenge', { method: 'totp', code: codeFor(secret, clock.now()) });
    expect(await refusedStatus(wsUrl(0), { cookie: pending.cookie, origin: 'https://evil.example' })).toBe(403);
    const s = await openSocket(wsUrl(1), { cookie: pending.cookie });
    expect((await s.next('joined')).type).toBe('joined');
    await s.close();
  });

  it('a socket held by process B closes when the session logs out on process A', async () => {
    const c = new Client(nodes[0]!.base);
    await fullLogin(c);
    const s = await openSocket(wsUrl(1), { cookie: c.cookie });
    await s.next('joined');
    const sync = nodes[0]!.stepUp.realtime.emitSyncStatus('acme', { status: 'progress', progress: 50 });
    s.send({ type: 'joinCompany', tenant: 'acme' });
    await s.next('joinedCompany');
    await sync;
    await nodes[0]!.stepUp.realtime.emitSyncStatus('acme', { status: 'completed', progress: 100 });
    // The progress event was published while the socket was joining: it may arrive first, or not at all.
    let frame = await s.next('syncStatus');
    if (frame.status === 'progress') frame = await s.next('syncStatus');
    expect(frame.status).toBe('completed');
    expect((await c.call('POST', '/auth/logout')).status).toBe(204);
    expect((await withTimeout(s.closed, 5000, 'close after logout')).code).toBe(4401);
  });

  it('logout-all on A closes the other session\'s socket on B; a step-up asks the socket to reconnect (4000)', async () => {
    const one = new Client(nodes[0]!.base);
    const two = new Client(nodes[1]!.base);
    await fullLogin(one);
    await fullLogin(two);
    const s2 = await openSocket(wsUrl(1), { cookie: two.cookie });
    await s2.next('joined');
    const s1 = await openSocket(wsUrl(0), { cookie: one.cookie });
    await s1.next('joined');
    clock.advance(30);
    expect((await one.call('POST', '/auth/step-up', { method: 'totp', code: codeFor(secret, clock.now()) })).status).toBe(200);
    expect((await withTimeout(s1.closed, 5000, 'close after step-up')).code).toBe(4000);
    expect((await one.call('POST', '/auth/logout-all')).status).toBe(204);
    expect((await withTimeout(s2.closed, 5000, 'close after logout-all')).code).toBe(4401);
    expect((await two.call('GET', '/auth/session')).json.state).toBe('anonymous');
  });
});
