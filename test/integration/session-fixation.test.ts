/**
 * Session ids rotate at every privilege step and the old ones die on the server
 * (MFA-03, MFA-04, MFA-05, ATK-02), with grey-box checks of the session keys in Redis.
 */
import { internalContextOf } from '../../testing';
import request from 'supertest';
import { agent, buildApp, codeFor, expectError, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { cookieAttrs, login, RFC_SECRET, seedRfcTotp, sessionExists, signedCookie, unsign } from '../helpers/security';
import { describeWithRedis } from '../helpers/services';
import type { UserRecord } from '../../lib/types';

describeWithRedis('session: fixation and rotation', () => {
  let t: TestApp;
  let tenantId: string;
  let alice: UserRecord;
  beforeEach(async () => {
    t = buildApp({ redis: true });
    tenantId = (await seedTenant(t)).id;
    alice = (await seedUser(t, tenantId)).user;
    await seedUser(t, tenantId, 'mallory@example.com');
    await seedRfcTotp(t, alice, 0);
  });
  afterEach(() => t.close());

  const code = (offset = 0) => codeFor(RFC_SECRET, t.clock.now(), offset);
  /** A bare request carrying exactly this cookie (no jar): what an attacker replays. */
  const withCookie = (raw: string) => ({
    get: (path: string) => request(t.app).get(path).set('Cookie', `sid=${raw}`),
    post: (path: string, body: object) => request(t.app).post(path).set('Cookie', `sid=${raw}`).send(body),
  });
  const raw = (res: { headers: Record<string, unknown> }) => {
    const c = cookieAttrs(res);
    expect(c).toBeDefined();
    return encodeURIComponent(c!.value as string);
  };

  it('S0 (planted) != S1 (pending) != S2 (full) != S3 (stepped up); S0, S1, S2 are dead and gone from Redis', async () => {
    // S0: a correctly signed id the server never issued, planted in the victim's browser (ATK-02).
    const s0id = 'attacker-chosen-session-id-0000000000';
    const s0 = signedCookie(s0id);
    const victim = agent(t);
    const anon = await victim.get('/auth/session').set('Cookie', `sid=${s0}`);
    expect(anon.body.state).toBe('anonymous');

    // Guarded by regenerate() in routes/auth.ts /login (MFA-03).
    const r1 = await login(victim).set('Cookie', `sid=${s0}`).expect(200);
    const s1 = raw(r1);
    expect(unsign(decodeURIComponent(s1))).not.toBe(s0id);
    const s1id = unsign(decodeURIComponent(s1));

    // Guarded by req.login() (regenerate) in lib/sessions.ts establish (MFA-04).
    const r2 = await victim.post('/auth/mfa/challenge').set('Cookie', `sid=${s1}`).send({ method: 'totp', code: code() }).expect(200);
    const s2 = raw(r2);
    const s2id = unsign(decodeURIComponent(s2));
    expect(s2id).not.toBe(s1id);

    t.clock.advance(30);
    const r3 = await request(t.app).post('/auth/step-up').set('Cookie', `sid=${s2}`).send({ method: 'totp', code: code() }).expect(200);
    const s3 = raw(r3);
    const s3id = unsign(decodeURIComponent(s3));
    expect(new Set([s0id, s1id, s2id, s3id]).size).toBe(4);

    // Replays: the planted and the pending ids show no pending login; none reaches a guarded route.
    expectError(await withCookie(s0).post('/auth/mfa/challenge', { method: 'totp', code: code() }), 'no_pending_login', 409);
    expectError(await withCookie(s1).post('/auth/mfa/challenge', { method: 'totp', code: code() }), 'no_pending_login', 409);
    for (const s of [s0, s1, s2]) {
      expectError(await withCookie(s).get('/api/profile'), 'unauthenticated', 401);
      expect((await withCookie(s).get('/auth/session')).body).toEqual({ state: 'anonymous' });
    }
    expectError(await withCookie(s2).post('/auth/mfa/challenge', { method: 'totp', code: code() }), 'no_pending_login', 409);
    await withCookie(s3).get('/api/profile').expect(200);

    // Grey-box: <prefix>sess:<id> keys.
    expect(await sessionExists(t, s0id)).toBe(false);
    expect(await sessionExists(t, s1id)).toBe(false);
    expect(await sessionExists(t, s2id)).toBe(false);
    expect(await sessionExists(t, s3id)).toBe(true);
    expect(await t.redis!.smembers(`${internalContextOf(t.stepUp).opts.redisPrefix}sessions:${tenantId}:${alice.id}`)).toEqual([s3id]);
  });

  it('a stolen pending cookie is worthless once the victim completes MFA (ATK-02 variant)', async () => {
    const victim = agent(t);
    const s1 = raw(await login(victim).expect(200));
    await victim.post('/auth/mfa/challenge').send({ method: 'totp', code: code() }).expect(200);
    t.clock.advance(30);
    expectError(await withCookie(s1).post('/auth/mfa/challenge', { method: 'totp', code: code() }), 'no_pending_login', 409);
    expectError(await withCookie(s1).get('/api/profile'), 'unauthenticated', 401);
  });

  it('a second login in the same browser replaces the pending one with a new id and destroys the old', async () => {
    const a = agent(t);
    const first = raw(await login(a).expect(200));
    const second = raw(await login(a).expect(200));
    expect(second).not.toBe(first);
    expect(await sessionExists(t, unsign(decodeURIComponent(first)))).toBe(false);
    expectError(await withCookie(first).post('/auth/mfa/challenge', { method: 'totp', code: code() }), 'no_pending_login', 409);
  });

  it('an aal-1 login also gets a new id; the forged cookie never becomes a session (MFA-05)', async () => {
    const forged = 'forged-but-well-formed-id-1234567890';
    const res = await request(t.app).post('/auth/login').set('Cookie', `sid=${signedCookie(forged)}`).send({ tenant: 'acme', email: 'mallory@example.com', password: 'correct horse battery staple' }).expect(200);
    expect(res.body.state).toBe('authenticated');
    expect(unsign(cookieAttrs(res)!.value as string)).not.toBe(forged);
    expect(await sessionExists(t, forged)).toBe(false);
    expectError(await withCookie(signedCookie(forged)).get('/api/profile'), 'unauthenticated', 401);
  });

  it('a cookie signed with another secret is ignored', async () => {
    const a = agent(t);
    const s1 = raw(await login(a, 'mallory@example.com').expect(200));
    const id = unsign(decodeURIComponent(s1));
    const resigned = signedCookie(id, 'some-other-secret-that-is-long-enough-0123456789');
    expectError(await withCookie(resigned).get('/api/profile'), 'unauthenticated', 401);
    await withCookie(s1).get('/api/profile').expect(200);
  });
});
