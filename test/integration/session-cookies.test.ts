/**
 * Cookie attributes at every rotation (MFA-09), logout and logout-all on the server (MFA-15, MFA-16).
 */
import { internalContextOf } from '../../testing';
import request from 'supertest';
import { agent, buildApp, codeFor, expectError, SESSION_SECRET, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { cookieAttrs, login, RFC_SECRET, seedRfcTotp, sessionExists, unsign } from '../helpers/security';
import { describeWithRedis } from '../helpers/services';
import type { UserRecord } from '../../lib/types';

describeWithRedis('session: cookies, logout and logout-all', () => {
  let t: TestApp;
  let tenantId: string;
  let alice: UserRecord;
  async function setup(overrides: Parameters<typeof buildApp>[0] = {}) {
    t = buildApp({ redis: true, ...overrides });
    tenantId = (await seedTenant(t)).id;
    alice = (await seedUser(t, tenantId)).user;
    await seedRfcTotp(t, alice, 0);
  }
  afterEach(() => t.close());
  const code = () => codeFor(RFC_SECRET, t.clock.now());

  function expectSafeCookie(res: { headers: Record<string, unknown> }, name: string, secure: boolean) {
    const c = cookieAttrs(res, name);
    expect(c).toBeDefined();
    expect(c!.httponly).toBe(true);
    expect(String(c!.samesite).toLowerCase()).toBe('lax');
    expect(c!.path).toBe('/');
    expect(c!.domain).toBeUndefined();
    expect(c!.secure).toBe(secure ? true : undefined);
    // Opaque: a signed random id, no user data (N4 §5.1.1).
    expect(String(c!.value)).not.toMatch(/alice|example|acme/i);
    return c!;
  }

  it('MFA-09 over plain HTTP: HttpOnly, SameSite=Lax, Path=/, no Domain at pending, full, step-up and logout', async () => {
    // Guarded by the cookie options in lib/guards.ts buildSessionMiddleware and the clear in lib/sessions.ts endSession.
    await setup();
    const a = agent(t);
    expectSafeCookie(await login(a).expect(200), 'sid', false);
    expectSafeCookie(await a.post('/auth/mfa/challenge').send({ method: 'totp', code: code() }).expect(200), 'sid', false);
    t.clock.advance(30);
    expectSafeCookie(await a.post('/auth/step-up').send({ method: 'totp', code: code() }).expect(200), 'sid', false);
    const out = expectSafeCookie(await a.post('/auth/logout').expect(204), 'sid', false);
    expect(out.value).toBe('');
    expect(Date.parse(String(out.expires))).toBeLessThan(Date.now());
  });

  it('MFA-09 behind TLS (secureCookie: true, trust proxy 1): __Host-sid, Secure, and no cookie at all over plain HTTP', async () => {
    await setup({ overrides: { session: { secret: SESSION_SECRET, secureCookie: true } } });
    t.app.set('trust proxy', 1);
    const https = (r: request.Test) => r.set('X-Forwarded-Proto', 'https');
    const s1 = expectSafeCookie(await https(request(t.app).post('/auth/login')).send({ tenant: 'acme', email: 'alice@example.com', password: 'correct horse battery staple' }).expect(200), '__Host-sid', true);
    const jar = (v: string | true) => `__Host-sid=${encodeURIComponent(String(v))}`;
    const s2 = expectSafeCookie(await https(request(t.app).post('/auth/mfa/challenge')).set('Cookie', jar(s1.value)).send({ method: 'totp', code: code() }).expect(200), '__Host-sid', true);
    await https(request(t.app).get('/api/profile')).set('Cookie', jar(s2.value)).expect(200);
    t.clock.advance(30);
    const s3 = expectSafeCookie(await https(request(t.app).post('/auth/step-up')).set('Cookie', jar(s2.value)).send({ method: 'totp', code: code() }).expect(200), '__Host-sid', true);
    // A __Host- cookie is only cleared by a Secure Set-Cookie with Path=/ and no Domain.
    expectSafeCookie(await https(request(t.app).post('/auth/logout')).set('Cookie', jar(s3.value)).expect(204), '__Host-sid', true);
    await https(request(t.app).get('/api/profile')).set('Cookie', jar(s3.value)).expect(401);

    const plain = await request(t.app).post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password: 'correct horse battery staple' });
    expect(cookieAttrs(plain, '__Host-sid')).toBeUndefined();
    expect(cookieAttrs(plain, 'sid')).toBeUndefined();
  });

  it("MFA-09 with the default secureCookie 'auto': Secure exactly when the request came over TLS", async () => {
    await setup();
    t.app.set('trust proxy', 1);
    const body = { tenant: 'acme', email: 'alice@example.com', password: 'correct horse battery staple' };
    expectSafeCookie(await request(t.app).post('/auth/login').set('X-Forwarded-Proto', 'https').send(body).expect(200), 'sid', true);
    expectSafeCookie(await request(t.app).post('/auth/login').send(body).expect(200), 'sid', false);
  });

  it('MFA-10: 100 session ids are distinct, opaque and carry at least 128 bits', async () => {
    await setup();
    await seedUser(t, tenantId, 'bob@example.com');
    const ids = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const res = await request(t.app).post('/auth/login').send({ tenant: 'acme', email: 'bob@example.com', password: 'correct horse battery staple' }).expect(200);
      const id = unsign(String(cookieAttrs(res)!.value));
      // `<random>~<tag>`: the random part carries the entropy; the tag (a digest of the user, the same
      // for every login of bob) only lets the store read the user's revocation mark with the session.
      const m = /^([A-Za-z0-9_-]{22,})~([A-Za-z0-9_-]{16})$/.exec(id);
      expect(m).not.toBeNull();
      expect(Buffer.from(m![1]!, 'base64url').length).toBeGreaterThanOrEqual(16);
      expect(id).not.toContain('bob');
      ids.add(m![1]!);
    }
    expect(ids.size).toBe(100);
  });

  it('MFA-15: logout destroys the session in Redis; the old cookie is dead', async () => {
    await setup();
    const a = agent(t);
    await login(a).expect(200);
    const res = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: code() }).expect(200);
    const raw = encodeURIComponent(String(cookieAttrs(res)!.value));
    const sid = unsign(String(cookieAttrs(res)!.value));
    expect(await sessionExists(t, sid)).toBe(true);
    await a.post('/auth/logout').expect(204);
    expect(await sessionExists(t, sid)).toBe(false);
    expectError(await request(t.app).get('/api/profile').set('Cookie', `sid=${raw}`), 'unauthenticated', 401);
    // Logging out a pending login destroys it too.
    const p = agent(t);
    const pid = unsign(String(cookieAttrs(await login(p).expect(200))!.value));
    await p.post('/auth/logout').expect(204);
    expect(await sessionExists(t, pid)).toBe(false);
  });

  it('MFA-16: logout-all ends every session of the user, pending ones included; other users keep theirs', async () => {
    await setup();
    const bob = (await seedUser(t, tenantId, 'bob@example.com')).user;
    void bob;
    const bobAgent = agent(t);
    await login(bobAgent, 'bob@example.com').expect(200);
    const sessions = [];
    for (let i = 0; i < 3; i++) {
      const a = agent(t);
      await login(a).expect(200);
      const res = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: code() }).expect(200);
      sessions.push({ a, sid: unsign(String(cookieAttrs(res)!.value)) });
      t.clock.advance(30);
    }
    const pending = agent(t);
    const pendingSid = unsign(String(cookieAttrs(await login(pending).expect(200))!.value));
    await sessions[0]!.a.post('/auth/logout-all').expect(204);
    for (const s of sessions) {
      expectError(await s.a.get('/api/profile'), 'unauthenticated', 401);
      expect(await sessionExists(t, s.sid)).toBe(false);
    }
    expect(await sessionExists(t, pendingSid)).toBe(false);
    expectError(await pending.post('/auth/mfa/challenge').send({ method: 'totp', code: code() }), 'no_pending_login', 409);
    await bobAgent.get('/api/profile').expect(200);
    expect(await t.redis!.smembers(`${internalContextOf(t.stepUp).opts.redisPrefix}sessions:${tenantId}:${alice.id}`)).toEqual([]);
  });
});
