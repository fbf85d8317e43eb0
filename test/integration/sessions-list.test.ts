/**
 * Sessions the user can see and end (issue 16): GET /auth/sessions from the user -> sessions index and
 * one small record per session (capped), DELETE /auth/sessions/:id ends one of the user's own sessions
 * (its cookie gets 401, its socket closes with 4401); any other id is 404. Real Redis, injected clock.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { SessionsEndedEvent } from '../../lib/events';
import type { TenantRecord, UserRecord } from '../../lib/types';
import { internalContextOf } from '../../testing';
import { SESSION_LIST_CAP } from '../../routes/sessions';
import { agent, buildApp, codeFor, enrolTotp, expectError, seedTenant, seedUser, sidOf, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { openSocket, withTimeout } from '../helpers/realtime-ws';

type Agent = ReturnType<typeof agent>;
const PW = 'correct horse battery staple';
/** The session id inside a signed `s:<sid>.<mac>` cookie value. */
const rawSid = (cookieValue: string) => cookieValue.slice(2, cookieValue.lastIndexOf('.'));
const ORIGIN = 'https://app.example.com';
const CHROME_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const FIREFOX_WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';

describeWithRedis('sessions: list and per-session sign-out', () => {
  let t: TestApp;
  let server: http.Server;
  let wsUrl: string;
  let acme: TenantRecord;
  let alice: UserRecord;
  let ended: SessionsEndedEvent[];

  beforeEach(async () => {
    t = buildApp({ redis: true, overrides: { allowedOrigins: [ORIGIN], realtime: { minAal: 1 } } });
    ended = [];
    t.stepUp.events.on('sessions_ended', (e: SessionsEndedEvent) => ended.push(e));
    server = http.createServer(t.app);
    t.stepUp.realtime.attach(server, { path: '/ws' });
    await t.stepUp.realtime.ready();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    wsUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
    acme = await seedTenant(t, 'acme');
    alice = (await seedUser(t, acme.id, 'alice@acme.test', PW)).user;
  });
  afterEach(async () => {
    await t.stepUp.close();
    await new Promise<void>((r) => server.close(() => r()));
    await t.close();
  });

  const login = (a: Agent, ua: string, email = 'alice@acme.test') => a.post('/auth/login').set('User-Agent', ua).send({ tenant: 'acme', email, password: PW });

  it('lists this session and the others with created, last seen, IP, browser, aal and methods; ids are not session ids', async () => {
    const laptop = agent(t);
    const first = await login(laptop, CHROME_LINUX).expect(200);
    const { secret } = await enrolTotp(t, laptop);
    const laptopSid = sidOf(first);
    t.clock.advance(120);
    const phone = agent(t);
    expect((await login(phone, FIREFOX_WIN).expect(200)).body.state).toBe('mfa_required');
    t.clock.advance(30);
    await phone.post('/auth/mfa/challenge').set('User-Agent', FIREFOX_WIN).send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
    const phoneAt = t.clock.now();
    t.clock.advance(90);
    await laptop.get('/api/profile').expect(200); // moves the laptop's lastSeen (more than a minute later)

    const res = await phone.get('/auth/sessions').set('User-Agent', FIREFOX_WIN).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body.truncated).toBe(false);
    expect(res.body.sessions).toEqual([
      {
        id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        current: true,
        state: 'authenticated',
        createdAt: new Date(phoneAt - 30_000).toISOString(),
        lastSeenAt: new Date(t.clock.now()).toISOString(), // this very request
        ip: expect.any(String),
        userAgent: 'Firefox on Windows',
        aal: 2,
        methods: ['totp'],
      },
      {
        id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        current: false,
        state: 'authenticated',
        createdAt: expect.any(String),
        lastSeenAt: new Date(t.clock.now()).toISOString(),
        ip: expect.any(String),
        userAgent: 'Chrome on Linux',
        aal: 2, // enrolling TOTP in the session counts as a fresh aal-2 proof
        methods: ['totp'],
      },
    ]);
    // No session id (current or rotated) appears anywhere in the answer.
    const text = JSON.stringify(res.body);
    for (const sid of [rawSid(laptopSid!), ...(await internalContextOf(t.stepUp).sessions.list(acme.id, alice.id))]) expect(text).not.toContain(sid);
    // The same session keeps its public id from one listing to the next.
    const again = await laptop.get('/auth/sessions').expect(200);
    expect(again.body.sessions.find((s: { current: boolean }) => s.current).id).toBe(res.body.sessions[1].id);
  });

  it('caps the list and says so, always keeping this session in it', async () => {
    const ctx = internalContextOf(t.stepUp);
    const me = agent(t);
    await login(me, CHROME_LINUX).expect(200);
    // Many more indexed sessions than the cap (another browser each), written the way logins write them.
    const others = Array.from({ length: SESSION_LIST_CAP + 5 }, () => agent(t));
    for (const a of others) await login(a, FIREFOX_WIN).expect(200);
    expect((await ctx.sessions.list(acme.id, alice.id)).length).toBe(SESSION_LIST_CAP + 6);
    const res = await me.get('/auth/sessions').expect(200);
    expect(res.body.truncated).toBe(true);
    expect(res.body.sessions).toHaveLength(SESSION_LIST_CAP);
    expect(res.body.sessions[0]).toMatchObject({ current: true, userAgent: 'Chrome on Linux', aal: 1, methods: [] });
  });

  it("ends another of the user's own sessions: its cookie gets 401, its socket closes with 4401; audited", async () => {
    const laptop = agent(t);
    const phone = agent(t);
    await login(laptop, CHROME_LINUX).expect(200);
    const phoneSid = sidOf(await login(phone, FIREFOX_WIN).expect(200))!;
    const socket = await openSocket(wsUrl, { cookie: `sid=${encodeURIComponent(phoneSid)}`, origin: ORIGIN });
    expect(await socket.next('joined')).toEqual({ type: 'joined', userId: alice.id });

    const list = await laptop.get('/auth/sessions').expect(200);
    const target = list.body.sessions.find((s: { current: boolean }) => !s.current);
    expect(target.userAgent).toBe('Firefox on Windows');
    await laptop.delete(`/auth/sessions/${target.id}`).expect(204);

    expect((await withTimeout(socket.closed, 5000, 'socket close')).code).toBe(4401);
    expectError(await phone.get('/api/profile'), 'unauthenticated', 401);
    await laptop.get('/api/profile').expect(200);
    expect(ended).toEqual([{ tenantId: acme.id, userId: alice.id, sessionIds: [rawSid(phoneSid)], reason: 'logout' }]);
    // The store keeps a tombstone: the ended session does not come back, even written again.
    const after = await laptop.get('/auth/sessions').expect(200);
    expect(after.body.sessions.map((s: { current: boolean }) => s.current)).toEqual([true]);
    expectError(await laptop.delete(`/auth/sessions/${target.id}`), 'not_found', 404);
    const audit = (await t.audit.list(acme.id, { limit: 50 })).filter((e) => e.type === 'session_ended_by_user');
    expect(audit).toEqual([expect.objectContaining({ userId: alice.id, actorId: alice.id, details: { session: target.id, userAgent: 'Firefox on Windows', current: false } })]);
    expect(JSON.stringify(audit)).not.toContain(rawSid(phoneSid));
  });

  it("answers 404 for another user's session, an unknown id and a raw session id alike, and ends nothing", async () => {
    const bob = (await seedUser(t, acme.id, 'bob@acme.test', PW)).user;
    const mine = agent(t);
    const bobs = agent(t);
    const mySid = sidOf(await login(mine, CHROME_LINUX).expect(200))!;
    const bobSid = sidOf(await login(bobs, CHROME_LINUX, 'bob@acme.test').expect(200))!;
    const bobId = (await bobs.get('/auth/sessions').expect(200)).body.sessions[0].id as string;

    const foreign = await mine.delete(`/auth/sessions/${bobId}`);
    const unknown = await mine.delete('/auth/sessions/AAAAAAAAAAAAAAAAAAAAAA');
    const raw = await mine.delete(`/auth/sessions/${rawSid(mySid)}`);
    const rawForeign = await mine.delete(`/auth/sessions/${rawSid(bobSid)}`);
    for (const r of [foreign, unknown, raw, rawForeign]) expectError(r, 'not_found', 404);
    expect(foreign.body).toEqual(unknown.body);
    await bobs.get('/api/profile').expect(200);
    await mine.get('/api/profile').expect(200);
    expect(ended).toEqual([]);
    expect(bob.id).toBeTruthy();
    // Anonymous callers get 401, not a listing.
    expectError(await request(t.app).get('/auth/sessions'), 'unauthenticated', 401);
    expectError(await request(t.app).delete(`/auth/sessions/${bobId}`), 'unauthenticated', 401);
  });

  it('ending this session from the list signs this browser out', async () => {
    const me = agent(t);
    await login(me, CHROME_LINUX).expect(200);
    const id = (await me.get('/auth/sessions').expect(200)).body.sessions[0].id as string;
    const res = await me.delete(`/auth/sessions/${id}`).expect(204);
    expect(String(res.headers['set-cookie'])).toMatch(/^sid=;/);
    expectError(await me.get('/api/profile'), 'unauthenticated', 401);
  });

  it('leaves out sessions that expired on the server clock and prunes them from the index', async () => {
    const ctx = internalContextOf(t.stepUp);
    const old = agent(t);
    await login(old, FIREFOX_WIN).expect(200);
    t.clock.advance(ctx.opts.session.idleTimeoutSeconds + 1);
    const me = agent(t);
    await login(me, CHROME_LINUX).expect(200);
    const res = await me.get('/auth/sessions').expect(200);
    expect(res.body.sessions).toHaveLength(1);
    expect(await ctx.sessions.list(acme.id, alice.id)).toHaveLength(1);
  });
});
