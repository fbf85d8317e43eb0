/**
 * Secrets: two-phase enrolment (MFA-24, ATK-18), nothing readable at rest or shown again (MFA-32, MFA-35),
 * key rotation over the same stores, and nothing secret in the logs (MFA-58, ATK-27).
 */
import { internalContextOf } from '../../testing';
import { randomBytes } from 'node:crypto';
import { agent, buildApp, codeFor, expectError, seedTenant, seedUser, TEST_KEY, type TestApp } from '../helpers/app';
import { cookieAttrs, login, PASSWORD, recordingLogger, sibling, unsign, wrongCode, type Agent } from '../helpers/security';
import { describeWithRedis } from '../helpers/services';
import { normaliseBackupCode } from '../../lib/crypto/codes';
import type { UserRecord } from '../../lib/types';

describeWithRedis('security: secrets at rest, enrolment, rotation and logs', () => {
  let t: TestApp;
  let tenantId: string;
  let alice: UserRecord;
  let a: Agent;
  const extra: TestApp[] = [];
  async function setup(overrides: Parameters<typeof buildApp>[0] = {}) {
    t = buildApp({ redis: true, ...overrides });
    tenantId = (await seedTenant(t)).id;
    alice = (await seedUser(t, tenantId)).user;
    a = agent(t);
    await login(a).expect(200);
  }
  afterEach(async () => {
    await t.close();
    await Promise.all(extra.splice(0).map((x) => x.close()));
  });

  const enrol = () => a.post('/auth/mfa/totp/enroll').send({}).expect(200);
  const stored = async () => (await t.users.findById(tenantId, alice.id))!;

  it('MFA-24 / ATK-18: only the latest secret confirms; a wrong code leaves the factor off; a second enrolment is 409', async () => {
    await setup();
    // Guarded by routes/mfa.ts keeping only the latest sealed secret in the session, and confirmTotpEnrolment's check.
    expectError(await a.post('/auth/mfa/totp/verify').send({ code: '123456' }), 'not_found', 404);
    const first = (await enrol()).body.secret as string;
    const second = (await enrol()).body.secret as string;
    expect(second).not.toBe(first);
    expectError(await a.post('/auth/mfa/totp/verify').send({ code: codeFor(first, t.clock.now()) }), 'invalid_code', 401);
    expectError(await a.post('/auth/mfa/totp/verify').send({ code: wrongCode(second, t.clock.now()) }), 'invalid_code', 401);
    expect((await stored()).mfa.totp ?? null).toBeNull();
    expect((await a.get('/auth/mfa/status').expect(200)).body.methods.totp.enabled).toBe(false);
    // Not active yet: a new login does not ask for it.
    expect((await login(agent(t)).expect(200)).body.state).toBe('authenticated');

    await a.post('/auth/mfa/totp/verify').send({ code: codeFor(second, t.clock.now()) }).expect(200);
    expect((await stored()).mfa.totp).toBeTruthy();
    expectError(await a.post('/auth/mfa/totp/enroll').send({}), 'already_enrolled', 409);
    expectError(await a.post('/auth/mfa/totp/verify').send({ code: codeFor(second, t.clock.now()) }), 'not_found', 404);
    expect((await login(agent(t)).expect(200)).body.state).toBe('mfa_required');
  });

  it('MFA-32 / MFA-35: the record holds neither the secret nor a backup code; no route shows them again', async () => {
    await setup();
    const enrolled = await enrol();
    const secret = enrolled.body.secret as string;
    expect(enrolled.body.otpauthUrl).toContain(`secret=${secret}`);
    const verify = await a.post('/auth/mfa/totp/verify').send({ code: codeFor(secret, t.clock.now()) }).expect(200);
    const codes = verify.body.backupCodes as string[];
    expect(codes).toHaveLength(10);
    const user = await stored();
    const json = JSON.stringify(user);
    expect(user.mfa.totp!.secret).toMatch(/^v1\.k1\./);
    expect(json).not.toContain(secret);
    expect(json.toLowerCase()).not.toContain(secret.toLowerCase());
    for (const c of codes) {
      expect(json).not.toContain(c);
      expect(json).not.toContain(normaliseBackupCode(c)!);
    }
    expect(user.mfa.backupCodes.every((c) => /^[0-9a-f]{64}$/.test(c.hash))).toBe(true);

    const leaks = (text: string) => [secret, user.mfa.totp!.secret, 'otpauth', ...codes].filter((s) => text.includes(s));
    const responses = [
      await a.get('/auth/session'),
      await a.get('/auth/mfa/status'),
      await a.post('/auth/mfa/totp/enroll').send({}),
      await a.post('/auth/mfa/totp/verify').send({ code: codeFor(secret, t.clock.now()) }),
      await a.get('/api/profile'),
    ];
    for (const r of responses) expect(leaks(r.text)).toEqual([]);
    expect(responses[1]!.body.backupCodesRemaining).toBe(10);

    // Grey-box: nothing in this app's Redis keys holds the secret or a code in clear.
    const keys = await t.redis!.keys(`${internalContextOf(t.stepUp).opts.redisPrefix}*`);
    for (const k of keys) {
      const type = await t.redis!.type(k);
      const value = type === 'string' ? await t.redis!.get(k) : type === 'set' ? (await t.redis!.smembers(k)).join(',') : '';
      expect(leaks(value ?? '')).toEqual([]);
    }
  });

  it('key rotation: an app with keys [new, old] over the same stores logs the user in; a ring without the old key fails closed', async () => {
    await setup();
    const secret = (await enrol()).body.secret as string;
    const codes = (await a.post('/auth/mfa/totp/verify').send({ code: codeFor(secret, t.clock.now()) }).expect(200)).body.backupCodes as string[];
    const k2 = { id: 'k2', key: randomBytes(32) };

    const rotated = sibling(t, { keys: [k2, TEST_KEY] });
    extra.push(rotated);
    t.clock.advance(30);
    const b = agent(rotated);
    expect((await login(b).expect(200)).body.state).toBe('mfa_required');
    await b.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
    const c = agent(rotated);
    await login(c).expect(200);
    await c.post('/auth/mfa/challenge').send({ method: 'backup_code', code: codes[0] }).expect(200);
    // New secrets seal under the new key.
    const bob = (await rotated.stepUp.createUser({ tenantId, email: 'bob@example.com', password: PASSWORD })).user;
    const bobAgent = agent(rotated);
    await login(bobAgent, 'bob@example.com').expect(200);
    const bobSecret = (await bobAgent.post('/auth/mfa/totp/enroll').send({}).expect(200)).body.secret as string;
    await bobAgent.post('/auth/mfa/totp/verify').send({ code: codeFor(bobSecret, t.clock.now()) }).expect(200);
    expect((await t.users.findById(tenantId, bob.id))!.mfa.totp!.secret).toMatch(/^v1\.k2\./);

    // Guarded by lib/factors.ts openTotpSecret: an unknown key id is a generic 500, never an accept.
    const lost = sibling(t, { keys: [k2] });
    extra.push(lost);
    t.clock.advance(30);
    const d = agent(lost);
    await login(d).expect(200);
    const res = await d.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) });
    expectError(res, 'internal_error', 500);
    expect(res.text).not.toMatch(/key|sealed|v1\./i);
    await d.get('/api/profile').expect(401);
  });

  it('MFA-58: a full flow logs no secret, code, backup code, password, sealed value or session id', async () => {
    const rec = recordingLogger();
    const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => jest.spyOn(console, m).mockImplementation(() => undefined));
    try {
      await setup({ overrides: { logger: rec.logger } });
      const sids: string[] = [];
      const grab = (r: { headers: Record<string, unknown> }) => {
        const c = cookieAttrs(r);
        if (c?.value) sids.push(unsign(String(c.value)));
        return r;
      };
      const submitted: string[] = [];
      const secret = (await enrol()).body.secret as string;
      const enrolCode = codeFor(secret, t.clock.now());
      submitted.push(enrolCode);
      const codes = (await a.post('/auth/mfa/totp/verify').send({ code: enrolCode }).expect(200)).body.backupCodes as string[];
      await a.post('/auth/logout').expect(204);
      t.clock.advance(30);
      grab(await login(a).expect(200));
      const bad = wrongCode(secret, t.clock.now());
      submitted.push(bad);
      await a.post('/auth/mfa/challenge').send({ method: 'totp', code: bad }).expect(401);
      const good = codeFor(secret, t.clock.now());
      submitted.push(good);
      grab(await a.post('/auth/mfa/challenge').send({ method: 'totp', code: good }).expect(200));
      grab(await a.post('/auth/step-up').send({ method: 'backup_code', code: codes[0] }).expect(200));
      await a.post('/auth/step-up').send({ method: 'backup_code', code: codes[0] }).expect(401);
      // Regenerating needs a real factor (a backup code cannot vouch for its own replacement).
      t.clock.advance(30);
      const again = codeFor(secret, t.clock.now());
      submitted.push(again);
      grab(await a.post('/auth/step-up').send({ method: 'totp', code: again }).expect(200));
      const fresh = (await a.post('/auth/mfa/backup-codes/regenerate').send({}).expect(200)).body.backupCodes as string[];
      await login(agent(t), 'alice@example.com', 'a wrong password guess').expect(401);
      await a.post('/auth/logout').expect(204);

      const sealed = (await stored()).mfa.totp!.secret;
      const text = rec.text() + JSON.stringify(consoleSpies.map((s) => s.mock.calls));
      const needles = [secret, sealed, PASSWORD, 'a wrong password guess', 'otpauth', ...submitted, ...codes, ...codes.map((c) => normaliseBackupCode(c)!), ...fresh, ...sids];
      expect(needles.filter((n) => text.includes(n))).toEqual([]);
      // Not vacuous: the flow was logged.
      const audited = rec.lines.filter((l) => l.msg === 'audit').map((l) => l.fields?.type);
      expect(audited).toEqual(expect.arrayContaining(['mfa_enrolled', 'login_succeeded', 'mfa_challenge_failed', 'backup_code_used', 'backup_codes_regenerated', 'login_failed']));
      expect(sids.length).toBe(4);
    } finally {
      consoleSpies.forEach((s) => s.mockRestore());
    }
  });
});
