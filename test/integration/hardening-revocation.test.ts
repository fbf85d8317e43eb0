/**
 * Issue 12 items 1, 7, 13, 14 (docs/SECURITY.md SR-1, SR-7, SR-13, SR-14): a session ended for any
 * reason can never be used again, whatever was in flight, across processes, HTTP and WebSocket; a
 * crash between the credential write and the answer leaves no old session valid; a pending login
 * lives in Redis only as long as the pending state.
 */
import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { internalContextOf } from '../../testing';
import { agent, buildApp, expectError, seedTenant, seedUser, sidOf, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { auditCount, login, sessionExists, sessionKey, sibling, PASSWORD, seedRfcTotp } from '../helpers/security';
import { refusedStatus, openSocket } from '../helpers/realtime-ws';
import type { TenantRecord, UserRecord } from '../../lib/types';

const ORIGIN = 'https://app.example.com';

describeWithRedis('revoked sessions stay dead (SR-1)', () => {
  let t: TestApp;
  let server: http.Server;
  let base: string;
  let acme: TenantRecord;
  let alice: UserRecord;

  beforeEach(async () => {
    t = buildApp({ redis: true, overrides: { allowedOrigins: [ORIGIN] } });
    // A host route whose body arrives slowly: the session is loaded before the body, saved after the answer.
    t.app.post('/api/slow', express.json(), t.stepUp.requireAuth(), (_req, res) => res.json({ ok: true }));
    server = http.createServer(t.app);
    t.stepUp.realtime.attach(server, { path: '/ws' });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    acme = await seedTenant(t, 'acme');
    alice = (await seedUser(t, acme.id)).user;
  });
  afterEach(async () => {
    await t.stepUp.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await t.close();
  });

  /** Starts a POST whose body is held back; resolves `loaded` once the plugin has read the session. */
  function slowRequest(cookie: string) {
    const store = t.stepUp.stores.sessions;
    const get = store.get.bind(store);
    let loaded!: () => void;
    const sessionLoaded = new Promise<void>((r) => (loaded = r));
    const spy = jest.spyOn(store, 'get').mockImplementation((sid, cb) => get(sid, (err, s) => (cb(err, s), loaded())));
    const body = JSON.stringify({ note: 'x'.repeat(64) });
    const [port] = base.split(':').slice(1);
    const req = http.request({ host: '127.0.0.1', port: Number(port), path: '/api/slow', method: 'POST', headers: { cookie, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    const answered = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    req.write(body.slice(0, 10));
    return {
      sessionLoaded: sessionLoaded.then(() => spy.mockRestore()),
      finish: () => {
        req.end(body.slice(10));
        return answered;
      },
    };
  }

  it.each(['logout-all', 'password change', 'admin disable'] as const)('a request in flight during %s cannot write its session back', async (how) => {
    const victim = agent(t);
    const res = await login(victim).expect(200);
    const cookie = `sid=${encodeURIComponent(sidOf(res)!)}`;
    const sid = sidOf(res)!.slice(2).split('.')[0]!;
    t.clock.advance(120); // the in-flight request will update lastSeen, so express-session saves it at the end

    const slow = slowRequest(cookie);
    await slow.sessionLoaded;
    if (how === 'logout-all') {
      const other = agent(t);
      await login(other).expect(200);
      await other.post('/auth/logout-all').expect(204);
    } else if (how === 'password change') {
      const other = agent(t);
      await login(other).expect(200);
      await other.post('/auth/password').send({ currentPassword: PASSWORD, newPassword: 'a brand new passphrase' }).expect(204);
    } else {
      await t.stepUp.endUserSessions(acme.id, alice.id, 'user_disabled');
    }
    expect(await slow.finish()).toBe(200); // it started before the end: it may finish...
    // ...but its session is not in Redis again, and the cookie is dead.
    expect(await sessionExists(t, sid)).toBe(false);
    expectError(await request(t.app).get('/api/profile').set('Cookie', cookie), 'unauthenticated', 401);
    expect(await refusedStatus(`ws://${base}/ws`, { cookie, origin: ORIGIN })).toBe(401);
  });

  it('a session the index never knew (or lost) dies with logout-all: the mark, checked as the session loads', async () => {
    const victim = agent(t);
    const res = await login(victim).expect(200);
    const cookie = `sid=${encodeURIComponent(sidOf(res)!)}`;
    const sid = sidOf(res)!.slice(2).split('.')[0]!;
    expect(sid).toMatch(/~[\w-]{16}$/); // a login's id carries its user's tag: the mark is read under it
    await t.redis!.srem(`${internalContextOf(t.stepUp).opts.redisPrefix}sessions:${acme.id}:${alice.id}`, sid);
    t.clock.advance(1); // the mark ends sessions made before it (a login in the same millisecond survives)
    const other = agent(t);
    await login(other).expect(200);
    await other.post('/auth/logout-all').expect(204);
    expect(await t.redis!.exists(sessionKey(t, sid))).toBe(1); // still stored: the index did not know it
    expectError(await request(t.app).get('/api/profile').set('Cookie', cookie), 'unauthenticated', 401);
    // A new login after the mark is fine.
    await login(agent(t)).expect(200);
  });

  it('across processes: a mark written by one process ends the session on another, HTTP and WebSocket', async () => {
    // Processes of one deployment share the Redis prefix (and so the revocation marks).
    const p2 = sibling(t, { redisPrefix: internalContextOf(t.stepUp).opts.redisPrefix });
    const victim = request.agent(p2.app);
    const res = await victim.post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password: PASSWORD }).expect(200);
    const cookie = `sid=${encodeURIComponent(sidOf(res)!)}`;
    await victim.get('/api/profile').expect(200);
    const sid = sidOf(res)!.slice(2).split('.')[0]!;
    await t.redis!.srem(`${internalContextOf(t.stepUp).opts.redisPrefix}sessions:${acme.id}:${alice.id}`, sid);
    t.clock.advance(1);
    await t.stepUp.endUserSessions(acme.id, alice.id, 'mfa_reset');
    expectError(await victim.get('/api/profile'), 'unauthenticated', 401);
    expect(await refusedStatus(`ws://${base}/ws`, { cookie, origin: ORIGIN })).toBe(401);
    await p2.close();
  });

  it('a crash after the new password is stored still leaves no other session valid (SR-13)', async () => {
    const other = agent(t);
    const r1 = await login(other).expect(200);
    const otherCookie = `sid=${encodeURIComponent(sidOf(r1)!)}`;
    const me = agent(t);
    await login(me).expect(200);
    const update = t.users.update.bind(t.users);
    jest.spyOn(t.users, 'update').mockImplementation(async (tenantId, id, patch) => {
      const out = await update(tenantId, id, patch);
      if (patch.passwordHash) throw Object.assign(new Error('Connection is closed.'), { name: 'MongoNetworkError' });
      return out;
    });
    const res = await me.post('/auth/password').send({ currentPassword: PASSWORD, newPassword: 'a brand new passphrase' });
    expect(res.status).toBe(503);
    jest.restoreAllMocks();
    // The new password is stored; the other session is dead all the same.
    expectError(await request(t.app).get('/api/profile').set('Cookie', otherCookie), 'unauthenticated', 401);
  });

  it('a pending login lives in Redis as long as the pending state, not 12 hours (SR-14)', async () => {
    await seedRfcTotp(t, alice);
    const a = agent(t);
    const res = await login(a).expect(200);
    expect(res.body.state).toBe('mfa_required');
    const sid = sidOf(res)!.slice(2).split('.')[0]!;
    const ttl = await t.redis!.pttl(sessionKey(t, sid));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300_000);
  });

  it('sockets need aal 2 by default; a single logout is audited (SR-7)', async () => {
    const a = agent(t);
    const res = await login(a).expect(200);
    expect(res.body.aal).toBe(1);
    const cookie = `sid=${encodeURIComponent(sidOf(res)!)}`;
    expect(await refusedStatus(`ws://${base}/ws`, { cookie, origin: ORIGIN })).toBe(401);
    await a.post('/auth/logout').expect(204);
    expect(await auditCount(t, acme.id, 'logout', alice.id)).toBe(1);
  });

  it('with realtime.minAal 1 an aal-1 session may open a socket', async () => {
    const t2 = buildApp({ redis: true, overrides: { allowedOrigins: [ORIGIN], realtime: { minAal: 1 } } });
    const s2 = http.createServer(t2.app);
    t2.stepUp.realtime.attach(s2, { path: '/ws' });
    await new Promise<void>((r) => s2.listen(0, '127.0.0.1', r));
    const tenant = await seedTenant(t2, 'acme');
    await seedUser(t2, tenant.id);
    const res = await login(agent(t2)).expect(200);
    expect(res.body).toMatchObject({ state: 'authenticated', aal: 1 });
    const socket = await openSocket(`ws://127.0.0.1:${(s2.address() as AddressInfo).port}/ws`, { cookie: `sid=${encodeURIComponent(sidOf(res)!)}`, origin: ORIGIN });
    expect((await socket.next('joined')).type).toBe('joined');
    await socket.close();
    await t2.stepUp.close();
    s2.closeAllConnections();
    await new Promise<void>((r) => s2.close(() => r()));
    await t2.close();
  });
});
