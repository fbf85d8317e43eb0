/**
 * Server-side clocks on a session: pending expiry (MFA-06), idle and absolute timeouts (MFA-12, MFA-13,
 * MFA-14), step-up freshness on factor management (MFA-08, MFA-46, ATK-17). Time is moved, never slept.
 */
import request from 'supertest';
import { agent, buildApp, codeFor, enrolTotp, expectError, SESSION_SECRET, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { cookieAttrs, login, RFC_SECRET, seedRfcTotp, sessionExists, unsign, wrongCode, type Agent } from '../helpers/security';
import { describeWithRedis } from '../helpers/services';
import type { UserRecord } from '../../lib/types';

describeWithRedis('session: expiry, timeouts and step-up freshness', () => {
  let t: TestApp;
  let tenantId: string;
  let alice: UserRecord;
  beforeEach(async () => {
    t = buildApp({ redis: true });
    tenantId = (await seedTenant(t)).id;
    alice = (await seedUser(t, tenantId)).user;
  });
  afterEach(() => t.close());

  const code = (offset = 0) => codeFor(RFC_SECRET, t.clock.now(), offset);
  async function fullLogin(): Promise<{ a: Agent; sid: string }> {
    const a = agent(t);
    await login(a).expect(200);
    const res = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: code() }).expect(200);
    return { a, sid: unsign(cookieAttrs(res)!.value as string) };
  }

  describe('with the RFC secret seeded', () => {
    beforeEach(() => seedRfcTotp(t, alice, 0));

    it('MFA-06: a pending login expires after 300 s: 410 challenge_expired, then 409; a fresh login works', async () => {
      // Guarded by checkPending() expiresAt in routes/auth.ts /mfa/challenge.
      const a = agent(t);
      await login(a).expect(200);
      t.clock.advance(299);
      expect((await a.get('/auth/session')).body.state).toBe('mfa_required');
      t.clock.advance(2);
      expectError(await a.post('/auth/mfa/challenge').send({ method: 'totp', code: code() }), 'challenge_expired', 410);
      expectError(await a.post('/auth/mfa/challenge').send({ method: 'totp', code: code() }), 'no_pending_login', 409);
      await a.get('/api/profile').expect(401);
      await login(a).expect(200);
      await a.post('/auth/mfa/challenge').send({ method: 'totp', code: code() }).expect(200);
    });

    it('MFA-12: 1800 s without a request ends the session on the server; activity keeps it alive', async () => {
      // Guarded by checkAuthenticated() idle branch in lib/guards.ts timeouts.
      const { a, sid } = await fullLogin();
      for (let i = 0; i < 4; i++) {
        t.clock.advance(1700);
        await a.get('/api/profile').expect(200);
      }
      t.clock.advance(1800);
      expectError(await a.get('/api/profile'), 'unauthenticated', 401);
      expect(await sessionExists(t, sid)).toBe(false);
      expect((await a.get('/auth/session')).body.state).toBe('anonymous');
    });

    it('MFA-12 with idle = 60 s: a request every 50 s keeps the session; 61 s of silence ends it', async () => {
      // Guarded by lastSeen being written often enough for short idle timeouts (lib/guards.ts lastSeenGranularity).
      await t.close();
      t = buildApp({ redis: true, overrides: { session: { secret: SESSION_SECRET, idleTimeoutSeconds: 60 } } });
      tenantId = (await seedTenant(t)).id;
      alice = (await seedUser(t, tenantId)).user;
      await seedRfcTotp(t, alice, 0);
      const { a } = await fullLogin();
      for (let i = 0; i < 10; i++) {
        t.clock.advance(50);
        await a.get('/api/profile').expect(200);
      }
      t.clock.advance(61);
      expectError(await a.get('/api/profile'), 'unauthenticated', 401);
    });

    it('MFA-13: 43200 s after login the session ends even with activity every 20 minutes', async () => {
      // Guarded by checkAuthenticated() absolute branch (authTime) in lib/guards.ts timeouts.
      const { a } = await fullLogin();
      for (let elapsed = 1200; elapsed < 43200; elapsed += 1200) {
        t.clock.advance(1200);
        await a.get('/api/profile').expect(200);
      }
      t.clock.advance(1199);
      await a.get('/api/profile').expect(200);
      t.clock.advance(1);
      expectError(await a.get('/api/profile'), 'unauthenticated', 401);
    });

    it('MFA-14: the cookie alone never resumes; a new login gives a new id and fresh timers', async () => {
      const { a, sid } = await fullLogin();
      t.clock.advance(1801);
      await a.get('/api/profile').expect(401);
      await request(t.app).get('/api/profile').set('Cookie', `sid=${encodeURIComponent(`s:${sid}.x`)}`).expect(401);
      const again = await fullLogin();
      expect(again.sid).not.toBe(sid);
      t.clock.advance(1799);
      await again.a.get('/api/profile').expect(200);
    });
  });

  // KNOWN BUG in routes/auth.ts (not owned here; fix described in the report): `POST /auth/step-up`
  // sets mfaVerifiedAt for any method, so an email code (aal 1 by default, ATK-17) is enough to
  // disable TOTP. Written with it.failing: it turns red, as a reminder to make it a plain `it`, once fixed.
  it('ATK-17: an email code alone does not refresh a step-up for removing TOTP', async () => {
    const mails: { to: string; text: string }[] = [];
    await t.close();
    t = buildApp({ redis: true, overrides: { mailer: { send: async (m) => void mails.push(m) } } });
    tenantId = (await seedTenant(t)).id;
    alice = (await seedUser(t, tenantId)).user;
    await seedRfcTotp(t, alice, 0);
    await t.users.update(tenantId, alice.id, { mfa: { email: { enabledAt: new Date(t.clock.now()) } } });
    const a = agent(t);
    await login(a).expect(200);
    await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(RFC_SECRET, t.clock.now()) }).expect(200);
    t.clock.advance(301);
    await a.post('/auth/mfa/email/send').send({}).expect(202);
    const emailCode = /\b(\d{6})\b/.exec(mails.at(-1)!.text)![1]!;
    const up = await a.post('/auth/step-up').send({ method: 'email_otp', code: emailCode });
    expect(up.status).toBeLessThan(500);
    expectError(await a.post('/auth/mfa/disable').send({ method: 'totp' }), 'step_up_required', 401);
    expect((await t.users.findById(tenantId, alice.id))!.mfa.totp).toBeTruthy();
  });

  describe('step-up freshness (MFA-08, MFA-46, ATK-17)', () => {
    let a: Agent;
    let secret: string;
    let backupCodes: string[];
    let sid0: string;
    beforeEach(async () => {
      a = agent(t);
      sid0 = unsign(cookieAttrs(await login(a).expect(200))!.value as string);
      ({ secret, backupCodes } = await enrolTotp(t, a));
    });

    it('regenerate and disable answer 401 step_up_required with the methods after the window', async () => {
      t.clock.advance(301);
      // A backup code cannot vouch for its own replacement (SR-2): regenerating lists TOTP only.
      for (const [path, payload, methods] of [
        ['/auth/mfa/backup-codes/regenerate', {}, ['totp']],
        ['/auth/mfa/disable', { method: 'totp' }, ['totp', 'backup_code']],
      ] as const) {
        const res = await a.post(path).send(payload);
        expectError(res, 'step_up_required', 401);
        expect(res.body.methods).toEqual(methods);
      }
      expect((await t.users.findById(tenantId, alice.id))!.mfa.totp).toBeTruthy();
      // Enrolling a new factor while one exists needs the step-up too (MFA-24).
      expectError(await a.post('/auth/mfa/totp/enroll').send({}), 'step_up_required', 401);
    });

    it('POST /auth/step-up with a TOTP code: 200, a new session id, then the action works', async () => {
      t.clock.advance(301);
      expectError(await a.post('/auth/step-up').send({ method: 'totp', code: wrongCode(secret, t.clock.now()) }), 'invalid_code', 401);
      const up = await a.post('/auth/step-up').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
      expect(up.body.aal).toBe(2);
      expect(Date.parse(up.body.mfaVerifiedAt)).toBe(t.clock.now());
      expect(unsign(cookieAttrs(up)!.value as string)).not.toBe(sid0);
      const regen = await a.post('/auth/mfa/backup-codes/regenerate').send({}).expect(200);
      expect(regen.body.backupCodes).toHaveLength(10);
      expect(regen.body.backupCodes).not.toContain(backupCodes[0]);
      await a.post('/auth/logout').expect(204);
      await login(a).expect(200);
      expectError(await a.post('/auth/mfa/challenge').send({ method: 'backup_code', code: backupCodes[0] }), 'invalid_code', 401);
    });

    it('step-up needs a second factor: a password, a bogus method or a stale session are refused', async () => {
      t.clock.advance(301);
      expectError(await a.post('/auth/step-up').send({ method: 'password', code: 'correct horse battery staple' }), 'invalid_request', 400);
      expectError(await a.post('/auth/step-up').send({ method: 'totp', code: codeFor(secret, t.clock.now()), password: 'x' }), 'invalid_request', 400);
      await a.post('/api/danger').send({}).expect(401);
    });

    it('a fresh step-up is honoured, then expires again after stepUpMaxAgeSeconds', async () => {
      t.clock.advance(30);
      await a.post('/auth/step-up').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
      t.clock.advance(300);
      await a.post('/api/danger').send({}).expect(200);
      t.clock.advance(1);
      expectError(await a.post('/api/danger').send({}), 'step_up_required', 401);
    });
  });
});
