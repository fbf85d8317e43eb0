/**
 * Throttling: the password step per account (MFA-22, ATK-25) and the second factor per account across
 * sessions and IPs (MFA-30, MFA-36, ATK-04), on real Redis; time moved on the injected clock.
 */
import { internalContextOf } from '../../testing';
import { agent, buildApp, codeFor, expectError, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { auditCount, login, pendingAgents, RFC_SECRET, seedRfcTotp, type Agent } from '../helpers/security';
import { describeWithRedis } from '../helpers/services';
import type { UserRecord } from '../../lib/types';
import { newBackupCodeSet } from '../../lib/auth/enrolment';

describeWithRedis('security: lockout and rate limits', () => {
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

  const good = () => codeFor(RFC_SECRET, t.clock.now());
  /** A code no step of the ±1 window accepts. */
  const wrong = () => {
    const window = [-1, 0, 1].map((o) => codeFor(RFC_SECRET, t.clock.now(), o));
    let c = 100000;
    while (window.includes(String(c))) c++;
    return String(c);
  };
  const challenge = (a: Agent, code: string, method = 'totp') => a.post('/auth/mfa/challenge').send({ method, code });
  let ipn = 0;
  const badPassword = (email: string) =>
    agent(t).post('/auth/login').set('X-Forwarded-For', `198.51.100.${++ipn % 250}`).set('X-Real-IP', `203.0.113.${ipn % 250}`).send({ tenant: 'acme', email, password: 'wrong password!' });

  describe('password step (MFA-22, ATK-25)', () => {
    it('locks the account after 10 failures whatever X-Forwarded-For says; a correct password during the lock is 429 too', async () => {
      // Guarded by passwordAccount.reserve() in routes/auth.ts (key: tenant + email, not the IP).
      for (let i = 0; i < 10; i++) expectError(await badPassword('alice@example.com'), 'invalid_credentials', 401);
      const locked = await badPassword('alice@example.com');
      expectError(locked, 'rate_limited', 429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      const a = agent(t);
      const right = await login(a).set('X-Forwarded-For', '192.0.2.1');
      expectError(right, 'rate_limited', 429);
      expect(right.headers['set-cookie']).toBeUndefined();
      expect((await a.get('/auth/session')).body.state).toBe('anonymous');
      t.clock.advance(901);
      expect((await login(agent(t))).body.state).toBe('mfa_required');
    });

    it('an unknown account locks exactly like a real one (the lockout does not enumerate users)', async () => {
      const seen: string[] = [];
      for (const email of ['alice@example.com', 'nobody@example.com']) {
        const answers = [];
        for (let i = 0; i < 11; i++) {
          const r = await badPassword(email);
          answers.push(`${r.status} ${r.body.error} ${r.headers['retry-after'] ?? ''}`);
        }
        seen.push(answers.join('|'));
      }
      expect(seen[1]).toBe(seen[0]);
      expect(seen[0]).toMatch(/429 rate_limited 900$/);
    });

    it("a success on the attacker's own account does not reset the victim's counter", async () => {
      for (let i = 0; i < 5; i++) await badPassword('alice@example.com').expect(401);
      await login(agent(t), 'mallory@example.com').expect(200);
      for (let i = 0; i < 5; i++) await badPassword('alice@example.com').expect(401);
      await login(agent(t), 'mallory@example.com').expect(200);
      expectError(await login(agent(t)), 'rate_limited', 429);
    });

    it("a password guesser's failures do not lock the second factor", async () => {
      for (let i = 0; i < 10; i++) await badPassword('alice@example.com').expect(401);
      t.clock.advance(901);
      const a = agent(t);
      await login(a).expect(200);
      expect((await challenge(a, good()).expect(200)).body).toMatchObject({ state: 'authenticated', aal: 2 });
    });
  });

  describe('second factor (MFA-30, ATK-04)', () => {
    it('wrong codes across fresh pending sessions lock the account: 423 with Retry-After even for the right code; lifts after 15 min', async () => {
      // Guarded by ctx.limits.secondFactor (per tenant:user, in Redis) in lib/factors.ts verifySecondFactor.
      for (const a of await pendingAgents(t, 2)) {
        for (let i = 0; i < 5; i++) expectError(await challenge(a, wrong()).set('X-Forwarded-For', `198.51.100.${i}`), i < 4 ? 'invalid_code' : 'challenge_expired', i < 4 ? 401 : 410);
      }
      const [a] = await pendingAgents(t, 1);
      const locked = await challenge(a!, good());
      expectError(locked, 'account_locked', 423);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      await a!.get('/api/profile').expect(401);
      expect(await auditCount(t, tenantId, 'account_locked', alice.id)).toBe(1);

      t.clock.advance(899);
      const [b] = await pendingAgents(t, 1);
      expectError(await challenge(b!, good()), 'account_locked', 423);
      t.clock.advance(2);
      const [c] = await pendingAgents(t, 1);
      await challenge(c!, good()).expect(200);
    });

    it('running the password step again does not reset the counter; a full success does', async () => {
      const [a1] = await pendingAgents(t, 1);
      for (let i = 0; i < 4; i++) await challenge(a1!, wrong()).expect(401);
      const [a2] = await pendingAgents(t, 1);
      for (let i = 0; i < 4; i++) await challenge(a2!, wrong()).expect(401);
      const [a3] = await pendingAgents(t, 1);
      await challenge(a3!, good()).expect(200); // 9 failures, then a success: the count starts again
      t.clock.advance(30);
      const [a4, a5] = await pendingAgents(t, 2);
      for (let i = 0; i < 5; i++) await challenge(a4!, wrong()).expect(i < 4 ? 401 : 410); // the 5th drops the login
      for (let i = 0; i < 4; i++) await challenge(a5!, wrong()).expect(401);
      const [a6] = await pendingAgents(t, 1);
      await challenge(a6!, good()).expect(200);
    });

    it('TOTP and backup-code failures share one budget (MFA-36)', async () => {
      await t.users.update(tenantId, alice.id, newBackupCodeSet(internalContextOf(t.stepUp)).patch);
      const [a1, a2] = await pendingAgents(t, 2);
      for (let i = 0; i < 5; i++) await challenge(a1!, wrong()).expect(i < 4 ? 401 : 410); // the 5th drops the login
      for (let i = 0; i < 5; i++) await challenge(a2!, 'aaaa-bbbb-cccc-dddd', 'backup_code').expect(i < 4 ? 401 : 410); // the 5th drops the login
      const [a3] = await pendingAgents(t, 1);
      expectError(await challenge(a3!, good()), 'account_locked', 423);
    });

    it('ATK-04 d: 100 parallel wrong guesses process at most lockout.maxFailures', async () => {
      // Guarded by AttemptLimiter.reserve() counting BEFORE verifying, and never resetting the counter on lock.
      const agents = await pendingAgents(t, 20);
      const results = await Promise.all(agents.flatMap((a) => Array.from({ length: 5 }, () => challenge(a, wrong()))));
      const failed = await auditCount(t, tenantId, 'mfa_challenge_failed', alice.id);
      expect(failed).toBeLessThanOrEqual(10);
      expect(results.filter((r) => r.status === 401)).toHaveLength(failed);
      expect(results.every((r) => [401, 409, 410, 423].includes(r.status))).toBe(true);
      const [a] = await pendingAgents(t, 1);
      expectError(await challenge(a!, good()), 'account_locked', 423);
    });

    it('grey-box: every counter, lock and session key in Redis has a TTL (nothing lives forever)', async () => {
      // Guarded by RedisEphemeralStore.incr/set/sadd setting PX/PEXPIRE.
      const [a] = await pendingAgents(t, 1);
      for (let i = 0; i < 5; i++) await challenge(a!, wrong()).expect(i < 4 ? 401 : 410); // the 5th drops the login
      const [b] = await pendingAgents(t, 1);
      for (let i = 0; i < 5; i++) await challenge(b!, wrong());
      await badPassword('alice@example.com');
      const keys = await t.redis!.keys(`${internalContextOf(t.stepUp).opts.redisPrefix}*`);
      expect(keys.some((k) => k.includes('limit:mfa:lock:'))).toBe(true);
      expect(keys.some((k) => k.includes('limit:pw:n:'))).toBe(true);
      for (const k of keys) expect({ k, ttl: (await t.redis!.pttl(k)) > 0 }).toEqual({ k, ttl: true });
    });

    it('per-login budget: 5 wrong codes drop the pending login, even the right code is then refused', async () => {
      // Guarded by the challenge:<pending id> counter in routes/auth.ts (challengeMaxFailures).
      const [a] = await pendingAgents(t, 1);
      for (let i = 0; i < 5; i++) await challenge(a!, wrong()).expect(i < 4 ? 401 : 410); // the 5th drops the login
      const after = await challenge(a!, good());
      expect([409, 410]).toContain(after.status);
      expect(['no_pending_login', 'challenge_expired']).toContain(after.body.error);
      expect((await a!.get('/auth/session')).body.state).toBe('anonymous');
      await a!.get('/api/profile').expect(401);
    });
  });
});
