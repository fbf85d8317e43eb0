/**
 * Integration mode 2 (README "In an existing Passport app"): the host mounts its OWN express-session
 * (its cookie name, its settings) and its own Passport instance; the plugin builds no session middleware
 * (`session.external`) and its guarantees come from its store, which the host's express-session uses.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import express from 'express';
import session from 'express-session';
import { Passport } from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import request from 'supertest';
import { createStepUp, createMemoryStores, type StepUp, type StepUpOptions } from '../../index';
import { codeFor, FAST_ARGON2, newRedis, SESSION_SECRET, TEST_KEY, TestClock } from '../helpers/app';
import { recordingLogger } from '../helpers/security';
import { openSocket, refusedStatus, withTimeout } from '../helpers/realtime-ws';
import { describeWithRedis } from '../helpers/services';
import type { Redis } from 'ioredis';

const ORIGIN = 'https://app.example.com';
const PASSWORD = 'correct horse battery staple';
const HOST_USER = { username: 'bob', displayName: 'Bob of the host' };

interface Host {
  app: express.Express;
  stepUp: StepUp;
  log: ReturnType<typeof recordingLogger>;
}

/** A host app: its own Passport with its own passport-local strategy, its own express-session. */
function buildHost(clock: TestClock, redis: Redis | undefined, mount: 'host-session-on-plugin-store' | 'host-session-own-store' | 'no-session' | 'plugin-mode-with-host-session', overrides: Partial<StepUpOptions> = {}): Host {
  const passport = new Passport();
  passport.use('host-local', new LocalStrategy((username, password, done) => done(null, username === 'bob' && password === 'hunter2-but-longer' ? (HOST_USER as never) : false)));
  // The host's serializer, registered BEFORE the plugin's: the plugin's handles only its own users.
  passport.serializeUser((u: unknown, done) => ((u as { username?: string }).username ? done(null, { host: (u as { username: string }).username }) : done('pass')));
  passport.deserializeUser((o: unknown, done) => ((o as { host?: string }).host === 'bob' ? done(null, HOST_USER as never) : done('pass')));
  const log = recordingLogger();
  const stores = createMemoryStores({ now: clock.now });
  const stepUp = createStepUp({
    issuer: 'ExampleCo',
    session: { secret: SESSION_SECRET, external: mount !== 'plugin-mode-with-host-session' },
    keys: [TEST_KEY],
    stores,
    redis,
    redisPrefix: `test:${randomBytes(6).toString('hex')}:`,
    now: clock.now,
    passport,
    password: { argon2: FAST_ARGON2 },
    allowedOrigins: [ORIGIN],
    logger: log.logger,
    ...overrides,
  });
  const app = express();
  if (mount !== 'no-session') {
    app.use(
      session({
        secret: SESSION_SECRET,
        store: mount === 'host-session-own-store' ? new session.MemoryStore() : (stepUp.stores.sessions as session.Store),
        resave: false,
        saveUninitialized: false,
        rolling: true,
        cookie: { httpOnly: true, sameSite: 'lax', maxAge: 3_600_000 },
      }),
    );
  }
  app.use(passport.initialize());
  app.use(stepUp.session);
  app.post('/host/login', express.json(), passport.authenticate('host-local'), (req, res) => res.json({ user: req.user }));
  app.get('/host/me', (req, res) => res.json({ user: req.user ?? null }));
  app.use('/auth', stepUp.router);
  app.get('/api/profile', stepUp.requireAuth(), (req, res) => res.json({ email: req.user!.email, aal: req.session.mfa?.aal }));
  return { app, stepUp, log };
}

const connectSid = (res: { headers: Record<string, unknown> }): string | undefined =>
  ([] as string[]).concat((res.headers['set-cookie'] as string[] | undefined) ?? []).find((c) => c.startsWith('connect.sid='))?.split(';')[0];

describeWithRedis('session.external: the host\'s own express-session and Passport', () => {
  const clock = new TestClock();
  let redis: Redis;
  let host: Host;
  let secret = '';

  beforeAll(async () => {
    redis = newRedis();
    host = buildHost(clock, redis, 'host-session-on-plugin-store');
    const tenant = await host.stepUp.createTenant({ slug: 'acme', name: 'Acme' });
    await host.stepUp.createUser({ tenantId: tenant.id, email: 'alice@example.com', password: PASSWORD });
    // Alice enrols TOTP once (her first login is aal 1 and optional MFA).
    const a = request.agent(host.app);
    expect((await a.post('/auth/login').set('origin', ORIGIN).send({ tenant: 'acme', email: 'alice@example.com', password: PASSWORD })).body.state).toBe('authenticated');
    secret = (await a.post('/auth/mfa/totp/enroll').set('origin', ORIGIN).send({}).expect(200)).body.secret;
    await a.post('/auth/mfa/totp/verify').set('origin', ORIGIN).send({ code: codeFor(secret, clock.now()) }).expect(200);
  });
  afterAll(async () => {
    await host.stepUp.close();
    await redis.quit();
  });

  async function fullLogin(a: ReturnType<typeof request.agent>): Promise<string> {
    const pw = await a.post('/auth/login').set('origin', ORIGIN).send({ tenant: 'acme', email: 'alice@example.com', password: PASSWORD }).expect(200);
    expect(pw.body.state).toBe('mfa_required');
    clock.advance(30);
    const ok = await a.post('/auth/mfa/challenge').set('origin', ORIGIN).send({ method: 'totp', code: codeFor(secret, clock.now()) }).expect(200);
    expect(ok.body).toMatchObject({ state: 'authenticated', aal: 2 });
    const cookie = connectSid(ok);
    expect(cookie).toBeDefined(); // the host's cookie name: the plugin made no session middleware of its own
    return cookie!;
  }

  it('a plugin login runs on the host\'s session: its cookie, the plugin\'s state machine and guards', async () => {
    const a = request.agent(host.app);
    await fullLogin(a);
    expect((await a.get('/api/profile').expect(200)).body).toEqual({ email: 'alice@example.com', aal: 2 });
    // The host's `rolling: true` is in effect: the host's settings, not the plugin's.
    expect(connectSid(await a.get('/api/profile'))).toBeDefined();
    expect(host.log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('the host\'s own strategy keeps its login; the plugin\'s guards do not accept it', async () => {
    const b = request.agent(host.app);
    await b.post('/host/login').send({ username: 'bob', password: 'hunter2-but-longer' }).expect(200);
    expect((await b.get('/host/me').expect(200)).body.user).toEqual(HOST_USER);
    expect((await b.get('/host/me').expect(200)).body.user).toEqual(HOST_USER); // not wiped on the next request
    expect((await b.get('/api/profile')).status).toBe(401);
  });

  it('logout-all revokes sessions the host\'s middleware loads (the store\'s revocation mark)', async () => {
    const one = request.agent(host.app);
    const two = request.agent(host.app);
    await fullLogin(one);
    await fullLogin(two);
    await one.post('/auth/logout-all').set('origin', ORIGIN).expect(204);
    expect((await two.get('/api/profile')).status).toBe(401);
  });

  it('a WebSocket upgrade reads the host\'s cookie; logout closes the socket with 4401', async () => {
    const server = http.createServer(host.app);
    host.stepUp.realtime.attach(server, { path: '/ws' });
    await host.stepUp.realtime.ready();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
      const a = request.agent(host.app);
      const cookie = await fullLogin(a);
      expect(await refusedStatus(url, { cookie: 'connect.sid=s%3Aforged.sig', origin: ORIGIN })).toBe(401);
      const s = await openSocket(url, { cookie, origin: ORIGIN });
      expect((await s.next('joined')).type).toBe('joined');
      await a.post('/auth/logout').set('origin', ORIGIN).expect(204);
      expect((await withTimeout(s.closed, 5000, 'close after logout')).code).toBe(4401);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('session middleware misconfigurations are refused with an error that says what to change', () => {
  const clock = new TestClock();
  const cases = [
    ['session.external without any express-session before stepUp.session', 'no-session', /no express-session ran before stepUp\.session/],
    ['session.external with the host\'s express-session on its own store (revocation marks would be skipped)', 'host-session-own-store', /does not use stepUp\.stores\.sessions/],
    ['the plugin\'s own session mode with a host express-session already mounted', 'plugin-mode-with-host-session', /set session\.external/],
  ] as const;
  it.each(cases)('%s', async (_name, mount, message) => {
    const host = buildHost(clock, undefined, mount);
    host.app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => res.status(500).json({ message: err.message }));
    const res = await request(host.app).get('/api/profile');
    expect(res.status).toBe(500);
    expect(res.body.message).toMatch(message);
    expect(host.log.lines.some((l) => l.level === 'error' && message.test(JSON.stringify(l)))).toBe(true);
    await host.stepUp.close();
  });
});
