/**
 * A half-logged-in session grants nothing (MFA-01, ATK-01), the client cannot write MFA state (MFA-02,
 * MFA-31), the second factor binds to the pending user (MFA-07, ATK-03), and password failures are
 * uniform (MFA-19, ATK-13).
 */
import { internalContextOf } from '../../testing';
import request from 'supertest';
import { agent, buildApp, codeFor, expectError, responseShape, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { login, RFC_SECRET, seedRfcTotp, type Agent } from '../helpers/security';
import { describeWithRedis } from '../helpers/services';
import { totpAad } from '../../lib/auth/verifiers';
import { generateTotpSecret } from '../../lib/factors/totp';
import type { UserRecord } from '../../lib/types';

// Bodies that pass each route's schema, so the answer shows the guard, not the validator.
const BODIES: Record<string, object> = {
  '/auth/mfa/totp/verify': { code: '123456' },
  '/auth/mfa/email/verify': { code: '123456' },
  '/auth/mfa/sms/verify': { code: '123456' },
  '/auth/mfa/sms/enroll': { phone: '+12015550123' },
  '/auth/mfa/disable': { method: 'totp' },
  '/auth/step-up': { method: 'totp', code: '123456' },
  '/auth/mfa/webauthn/register/verify': { response: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'AA', attestationObject: 'AA' } } },
  '/auth/password': { currentPassword: 'correct horse battery staple', newPassword: 'another long password 123' },
};

interface RouteInfo {
  method: string;
  path: string;
}

/** Every route of an Express 4/5 app, from its router stack, recursively through mounted routers. */
function routesOf(app: unknown): RouteInfo[] {
  const a = app as { router?: { stack: unknown[] }; _router?: { stack: unknown[] } };
  const out: RouteInfo[] = [];
  type L = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: unknown[] }; rawPath?: unknown; regexp?: RegExp };
  const mountOf = (l: L): string => {
    if (typeof l.rawPath === 'string') return l.rawPath === '/' ? '' : l.rawPath;
    // Express 4: recover the mount path from the layer's regexp.
    const m = l.regexp?.source.match(/^\^\\\/(.*?)\\\/\?\(\?=\\\/\|\$\)/);
    return m ? `/${m[1]!.replace(/\\\//g, '/')}` : '';
  };
  const walk = (stack: unknown[], prefix: string) => {
    for (const layer of stack as L[]) {
      if (layer.route) {
        for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push({ method: m.toUpperCase(), path: prefix + layer.route.path });
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, prefix + mountOf(layer));
      }
    }
  };
  walk((a._router ?? a.router)!.stack, '');
  return out;
}

// Public account-lifecycle routes: they answer anyone (with the same answer for every input).
const PUBLIC_PASSKEY = ['POST /auth/passkey/options', 'POST /auth/passkey/login'];
const PUBLIC_LIFECYCLE = ['POST /auth/register', 'POST /auth/verify-email', 'POST /auth/password/forgot', 'POST /auth/password/reset'];

describeWithRedis('security: pending sessions, client-written state, user binding, uniform failures', () => {
  let t: TestApp;
  let tenantId: string;
  let alice: UserRecord;
  let mallory: UserRecord;
  beforeEach(async () => {
    t = buildApp({ redis: true });
    tenantId = (await seedTenant(t)).id;
    alice = (await seedUser(t, tenantId)).user;
    mallory = (await seedUser(t, tenantId, 'mallory@example.com')).user;
    await seedRfcTotp(t, alice, 0);
  });
  afterEach(() => t.close());

  const leaks = (text: string) => [alice.email, alice.id, 'ACME'].filter((s) => text.includes(s));

  describe('MFA-01 / ATK-01: a pending cookie on every route of the router stack', () => {
    // Answered otherwise on purpose: the second step itself, the session view, logout and a new login.
    const ALLOWED = new Set(['POST /auth/mfa/challenge', 'GET /auth/session', 'POST /auth/logout', 'POST /auth/login', 'POST /auth/mfa/email/send', 'POST /auth/mfa/sms/send', 'POST /auth/mfa/webauthn/authenticate/options', ...PUBLIC_LIFECYCLE, ...PUBLIC_PASSKEY]);

    it('answers 401/403/409 with no user data everywhere but the second-factor, session and logout routes', async () => {
      // Guarded by requireAuth() (state === 'authenticated', not Passport alone) and subjectOf() in lib/subject.ts.
      const routes = routesOf(t.app);
      const paths = routes.map((r) => `${r.method} ${r.path}`);
      for (const must of ['POST /auth/mfa/totp/enroll', 'GET /auth/mfa/status', 'POST /auth/mfa/disable', 'POST /auth/mfa/backup-codes/regenerate', 'POST /auth/step-up', 'POST /auth/logout-all', 'GET /api/profile', 'GET /api/secure', 'POST /api/danger']) {
        expect(paths).toContain(must);
      }
      expect(paths.some((p) => p.includes(' /admin/'))).toBe(true);

      const a = agent(t);
      await login(a).expect(200);
      const probe = async (method: string, path: string) => {
        const url = path.replace(/:slug/g, 'acme').replace(/:id|:userId/g, alice.id);
        const r = a[method.toLowerCase() as 'get' | 'post' | 'patch' | 'put' | 'delete'](url);
        return method === 'GET' || method === 'HEAD' ? r : r.send(BODIES[path] ?? {});
      };
      const seen: string[] = [];
      for (const { method, path } of routes) {
        if (ALLOWED.has(`${method} ${path}`)) continue;
        const res = await probe(method, path);
        seen.push(`${method} ${path} -> ${res.status} ${res.body?.error ?? ''}`);
        expect({ route: `${method} ${path}`, status: [401, 403, 409].includes(res.status) }).toEqual({ route: `${method} ${path}`, status: true });
        expect(leaks(res.text ?? '')).toEqual([]);
      }
      // Variants: case, trailing slash, HEAD.
      for (const p of ['/API/PROFILE', '/api/profile/', '/Auth/MFA/Status', '/auth/mfa/status/']) expect((await a.get(p)).status).toBe(401);
      expect((await a.head('/api/profile')).status).toBe(401);
      const session = await a.get('/auth/session').expect(200);
      expect(session.body).toEqual({ state: 'mfa_required', methods: ['totp'], expiresAt: expect.any(String) });
      expect(seen.length).toBeGreaterThan(10);
      // And nothing above changed the pending login.
      await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(RFC_SECRET, t.clock.now()) }).expect(200);
    });
  });

  describe('MFA-01: an enrollment_required session may only enrol', () => {
    it('an admin without a factor reaches enrollment_required; everything but enrolment answers 401/403/409', async () => {
      // Guarded by requireAuth() and subjectOf(allowEnrolling) in lib/subject.ts.
      await seedUser(t, tenantId, 'admin@example.com', 'correct horse battery staple', ['admin']);
      const a = agent(t);
      const res = await login(a, 'admin@example.com').expect(200);
      expect(res.body.state).toBe('enrollment_required');
      const ENROL = /^POST \/auth\/mfa\/((totp|email|sms)\/(enroll|verify)|webauthn\/register\/(options|verify))$/;
      const OPEN = new Set(['GET /auth/session', 'POST /auth/logout', 'POST /auth/login', 'POST /auth/mfa/challenge', ...PUBLIC_LIFECYCLE, ...PUBLIC_PASSKEY]);
      for (const { method, path } of routesOf(t.app)) {
        const key = `${method} ${path}`;
        if (ENROL.test(key) || OPEN.has(key)) continue;
        const url = path.replace(/:slug/g, 'acme').replace(/:id|:userId/g, alice.id);
        const r = method === 'GET' ? await a.get(url) : await a[method.toLowerCase() as 'post'](url).send(BODIES[path] ?? {});
        expect({ key, ok: [401, 403, 409].includes(r.status) || `${r.status} ${r.body?.error}` }).toEqual({ key, ok: true });
        expect(r.text).not.toContain('admin@example.com');
      }
      expectError(await a.post('/auth/mfa/challenge').send({ method: 'totp', code: '123456' }), 'no_pending_login', 409);
      await a.post('/auth/mfa/totp/enroll').send({}).expect(200);
    });
  });

  describe('MFA-02 / MFA-31: client input never sets MFA state', () => {
    let a: Agent;
    beforeEach(async () => {
      a = agent(t);
      await login(a).expect(200);
    });

    it('flags in bodies (incl. __proto__), query, headers and cookies change nothing', async () => {
      // Guarded by the strict zod bodies (routes/common.ts body()) and state read only from req.session.mfa.
      const code = codeFor(RFC_SECRET, t.clock.now());
      const wrong = code === '000000' ? '111111' : '000000';
      for (const payload of [
        { method: 'totp', code: wrong, mfaVerified: true },
        { method: 'totp', code: wrong, aal: 2, state: 'authenticated' },
        JSON.parse(`{"method":"totp","code":"${wrong}","__proto__":{"mfaVerified":true,"state":"authenticated","aal":2}}`),
        { method: 'totp', code: wrong, timestamp: 59 },
      ]) {
        expectError(await a.post('/auth/mfa/challenge').send(payload), 'invalid_request', 400);
      }
      const proto = await a.post('/auth/login').send(JSON.parse('{"tenant":"acme","email":"alice@example.com","password":"x","__proto__":{"mfaVerified":true}}'));
      expectError(proto, 'invalid_request', 400);
      expect(({} as Record<string, unknown>).mfaVerified).toBeUndefined();
      expectError(await a.get('/api/profile?mfa=1&mfaVerified=true&aal=2&state=authenticated'), 'unauthenticated', 401);
      expectError(await a.get('/api/profile').set('X-MFA-Verified', 'true').set('X-AAL', '2').set('X-User-Id', alice.id), 'unauthenticated', 401);
      expectError(await a.get('/api/profile').set('Date', 'Thu, 01 Jan 1970 00:01:10 GMT'), 'unauthenticated', 401);
      expect((await a.get('/auth/session?state=authenticated')).body.state).toBe('mfa_required');
      // A client-sent Date header does not move the TOTP clock (MFA-31).
      const spoofed = codeFor(RFC_SECRET, 70_000);
      const stale = await a.post('/auth/mfa/challenge').set('Date', 'Thu, 01 Jan 1970 00:01:10 GMT').send({ method: 'totp', code: spoofed });
      expect(stale.status).toBe(spoofed === code ? 200 : 401);
    });
  });

  describe('MFA-07 / ATK-03: the code is checked against the pending user only', () => {
    beforeEach(async () => {
      // The attacker knows their own password and TOTP; the victim has another secret.
      await seedRfcTotp(t, mallory, 0);
      const sealed = internalContextOf(t.stepUp).box.seal(generateTotpSecret(), totpAad(alice));
      await t.users.update(tenantId, alice.id, { mfa: { totp: { secret: sealed, enrolledAt: new Date(), lastStep: 0 } } });
    });

    it('extra userId/email fields are 400; a victim-naming cookie is ignored; the session is the attacker', async () => {
      const a = agent(t);
      await login(a, 'mallory@example.com').expect(200);
      const code = codeFor(RFC_SECRET, t.clock.now());
      expectError(await a.post('/auth/mfa/challenge').send({ method: 'totp', code, userId: alice.id }), 'invalid_request', 400);
      expectError(await a.post('/auth/mfa/challenge').send({ method: 'totp', code, email: alice.email }), 'invalid_request', 400);
      expectError(await a.post('/auth/mfa/challenge').send({ method: 'totp', code, username: alice.email, tenant: 'acme' }), 'invalid_request', 400);
      const ok = await a.post('/auth/mfa/challenge').set('Cookie', `verify=${alice.id}; userId=${alice.id}`).send({ method: 'totp', code }).expect(200);
      expect(ok.body.user.id).toBe(mallory.id);
      expect((await a.get('/api/profile').expect(200)).body.user.email).toBe('mallory@example.com');
    });

    it("a failed password login for the victim in the same session never switches the pending user", async () => {
      // Guarded by routes/auth.ts /login touching the session only after the password verified.
      const a = agent(t);
      await login(a, 'mallory@example.com').expect(200);
      expectError(await login(a, 'alice@example.com', 'not her password'), 'invalid_credentials', 401);
      expect((await a.get('/auth/session')).body.state).toBe('mfa_required');
      const ok = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(RFC_SECRET, t.clock.now()) }).expect(200);
      expect(ok.body.user.email).toBe('mallory@example.com');
    });

    it('a pending login for the victim (password known) is not completed by the attacker code', async () => {
      const a = agent(t);
      await login(a, 'alice@example.com').expect(200);
      expectError(await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(RFC_SECRET, t.clock.now()) }), 'invalid_code', 401);
      await a.get('/api/profile').expect(401);
    });
  });

  describe('MFA-19 / ATK-13: uniform password failures', () => {
    it('unknown tenant, unknown user, wrong password and disabled user: same status, body, headers; no cookie', async () => {
      // Guarded by lib/login.ts verifyPassword returning the same `false` for every case.
      await t.users.update(tenantId, mallory.id, { disabledAt: new Date() });
      const cases = [
        { tenant: 'nosuch', email: 'alice@example.com', password: 'correct horse battery staple' },
        { tenant: 'acme', email: 'nobody@example.com', password: 'correct horse battery staple' },
        { tenant: 'acme', email: 'alice@example.com', password: 'wrong password' },
        { tenant: 'acme', email: 'mallory@example.com', password: 'correct horse battery staple' },
      ];
      const answers = [];
      for (const c of cases) answers.push(responseShape(await request(t.app).post('/auth/login').send(c)));
      expect(answers[0]).toMatchObject({ status: 401, body: { error: 'invalid_credentials' }, cookie: null });
      for (const a of answers.slice(1)) expect(a).toEqual(answers[0]);
    });
  });
});
