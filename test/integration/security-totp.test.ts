/**
 * TOTP replay and the one-time races (MFA-28, MFA-34, ATK-06, ATK-07, ATK-08), on real Redis with the
 * RFC seed and the clock moved, never slept.
 */
import { agent, buildApp, codeFor, enrolTotp, expectError, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { auditCount, login, pendingAgents, RFC_CODES, seedRfcTotp } from '../helpers/security';
import { describeWithRedis } from '../helpers/services';
import type { UserRecord } from '../../lib/types';

describeWithRedis('security: TOTP replay and one-time races', () => {
  let t: TestApp;
  let tenantId: string;
  let alice: UserRecord;
  beforeEach(async () => {
    t = buildApp({ redis: true });
    tenantId = (await seedTenant(t)).id;
    alice = (await seedUser(t, tenantId)).user;
  });
  afterEach(() => t.close());

  const challenge = (a: ReturnType<typeof agent>, code: string, method = 'totp') => a.post('/auth/mfa/challenge').send({ method, code });

  it('§B.2 replay vectors: accept at 70, refuse the replay at 75 and the older step at 80, accept the next step at 95', async () => {
    // Guarded by the step > lastStep compare-and-set in lib/factors.ts verifyTotpFactor / advanceTotpStep.
    await seedRfcTotp(t, alice, 0);
    t.clock.t = 70_000;
    const victim = agent(t);
    await login(victim).expect(200);
    await challenge(victim, RFC_CODES[2]).expect(200);

    t.clock.t = 75_000;
    const attacker = agent(t);
    await login(attacker).expect(200);
    expectError(await challenge(attacker, RFC_CODES[2]), 'invalid_code', 401);
    await attacker.get('/api/profile').expect(401);

    t.clock.t = 80_000;
    expectError(await challenge(attacker, RFC_CODES[1]), 'invalid_code', 401);
    await attacker.get('/api/profile').expect(401);

    t.clock.t = 95_000;
    const res = await challenge(attacker, RFC_CODES[3]).expect(200);
    expect(res.body.user.email).toBe('alice@example.com');
    expect((await t.users.findById(tenantId, alice.id))!.mfa.totp!.lastStep).toBe(3);
    expect(await auditCount(t, tenantId, 'totp_replay', alice.id)).toBe(2);
  });

  it('MFA-26: the 6-digit RFC values (leading zeros kept) are accepted at their clock; 81804 and numbers are not', async () => {
    // Guarded by hotp() padStart and the 64-bit counter in lib/otp/totp.ts, and the string-only code schema.
    await seedRfcTotp(t, alice, 0);
    const vectors: [number, string][] = [
      [59, '287082'],
      [1111111109, '081804'],
      [1111111111, '050471'],
      [1234567890, '005924'],
      [2000000000, '279037'],
      [20000000000, '353130'],
    ];
    for (const [time, code] of vectors) {
      t.clock.t = time * 1000;
      const a = agent(t);
      await login(a).expect(200);
      if (code.startsWith('0')) {
        expectError(await challenge(a, code.replace(/^0+/, '')), 'invalid_request', 400);
        expectError(await a.post('/auth/mfa/challenge').send({ method: 'totp', code: Number(code) }), 'invalid_request', 400);
      }
      const ok = await challenge(a, code);
      expect({ time, status: ok.status }).toEqual({ time, status: 200 });
    }
  });

  it('MFA-27: at t = 89 the ±1 window takes step 3 and refuses steps 0 and 4; a {-1, 0} verifier refuses step 3', async () => {
    await seedRfcTotp(t, alice, 0);
    t.clock.t = 89_000;
    const a = agent(t);
    await login(a).expect(200);
    expectError(await challenge(a, RFC_CODES[0]), 'invalid_code', 401);
    expectError(await challenge(a, RFC_CODES[4]), 'invalid_code', 401);
    await challenge(a, RFC_CODES[3]).expect(200);

    const strict = buildApp({ redis: true, clock: t.clock, overrides: { totp: { windowPast: 1, windowFuture: 0 } } });
    try {
      const bob = (await seedUser(strict, (await seedTenant(strict)).id)).user;
      await seedRfcTotp(strict, bob, 0);
      const b = agent(strict);
      await login(b).expect(200);
      expectError(await b.post('/auth/mfa/challenge').send({ method: 'totp', code: RFC_CODES[3] }), 'invalid_code', 401);
      await b.post('/auth/mfa/challenge').send({ method: 'totp', code: RFC_CODES[1] }).expect(200);
    } finally {
      await strict.close();
    }
  });

  it('the code that confirmed enrolment cannot log in (its step is spent)', async () => {
    const a = agent(t);
    await login(a).expect(200);
    const { secret } = await enrolTotp(t, a);
    await a.post('/auth/logout').expect(204);
    await login(a).expect(200);
    expectError(await challenge(a, codeFor(secret, t.clock.now())), 'invalid_code', 401);
  });

  it('ATK-07: 20 pending sessions submit the same valid code at once: exactly one 200', async () => {
    // Guarded by MemoryUserStore.advanceTotpStep (atomic compare-and-set); a read-then-write lets several through.
    await seedRfcTotp(t, alice, 0);
    t.clock.t = 70_000;
    const agents = await pendingAgents(t, 20);
    const results = await Promise.all(agents.map((a) => challenge(a, RFC_CODES[2])));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.every((s) => s === 200 || s === 401 || s === 423)).toBe(true);
    const ok = await Promise.all(agents.map((a) => a.get('/api/profile')));
    expect(ok.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it('ATK-08: 20 pending sessions submit the same backup code at once: exactly one 200, and it is spent', async () => {
    // Guarded by MemoryUserStore.consumeBackupCode marking usedAt in the same tick it finds the code.
    const first = agent(t);
    await login(first).expect(200);
    const { backupCodes } = await enrolTotp(t, first);
    await first.post('/auth/logout').expect(204);
    const agents = await pendingAgents(t, 20);
    const statuses = (await Promise.all(agents.map((a) => challenge(a, backupCodes[0]!, 'backup_code')))).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.every((s) => s === 200 || s === 401 || s === 423)).toBe(true);
    const user = (await t.users.findById(tenantId, alice.id))!;
    expect(user.mfa.backupCodes.filter((c) => c.usedAt)).toHaveLength(1);
    expect(await auditCount(t, tenantId, 'backup_code_used', alice.id)).toBe(1);
  });

  it('a used backup code and a wrong one answer the same (ATK-09)', async () => {
    const a = agent(t);
    await login(a).expect(200);
    const { backupCodes } = await enrolTotp(t, a);
    await a.post('/auth/logout').expect(204);
    await login(a).expect(200);
    await challenge(a, backupCodes[0]!, 'backup_code').expect(200);
    await a.post('/auth/logout').expect(204);
    await login(a).expect(200);
    const used = await challenge(a, backupCodes[0]!, 'backup_code');
    const wrong = await challenge(a, 'aaaa-bbbb-cccc-dddd', 'backup_code');
    expect(used.status).toBe(401);
    expect(wrong.status).toBe(used.status);
    expect(wrong.body).toEqual(used.body);
  });
});
