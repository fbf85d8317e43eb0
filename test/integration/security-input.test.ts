/**
 * Strict input (MFA-54, MFA-55, ATK-14, ATK-15, ATK-27): operator objects, type confusion, malformed and
 * oversize bodies, other content types. Never 2xx, never 5xx, never a stack trace.
 */
import request from 'supertest';
import { agent, buildApp, codeFor, expectError, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { auditCount, login, PASSWORD, RFC_SECRET, recordingLogger, seedRfcTotp } from '../helpers/security';
import { describeWithRedis } from '../helpers/services';
import type { UserRecord } from '../../lib/types';

describeWithRedis('security: strict bodies and content types', () => {
  let t: TestApp;
  let tenantId: string;
  let alice: UserRecord;
  beforeEach(async () => {
    t = buildApp({ redis: true });
    tenantId = (await seedTenant(t)).id;
    alice = (await seedUser(t, tenantId)).user;
    await seedRfcTotp(t, alice, 0);
  });
  afterEach(() => t.close());

  function expectRefused(res: request.Response, status?: number) {
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    if (status) expect(res.status).toBe(status);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.text).not.toMatch(/at .*\.(js|ts):\d+|SyntaxError|TypeError|node_modules/);
    expect(Object.keys(res.body).sort()).toEqual(['error', 'message']);
  }

  it('ATK-14: operator objects and wrong types on /auth/login are 400 and authenticate nobody', async () => {
    // Guarded by the strict zod loginBody in routes/auth.ts (and PasswordStrategy's own type check).
    const payloads: unknown[] = [
      { tenant: 'acme', email: { $ne: null }, password: { $ne: null } },
      { tenant: 'acme', email: 'alice@example.com', password: { $gt: '' } },
      { tenant: 'acme', email: { $regex: '^a' }, password: 'x' },
      { tenant: 'acme', email: { $where: 'sleep(2000)' }, password: 'x' },
      { tenant: { $ne: null }, email: 'alice@example.com', password: PASSWORD },
      { $or: [{ email: 'alice@example.com' }, { email: 'bob@example.com' }], tenant: 'acme', password: PASSWORD },
      { tenant: 'acme', email: ['alice@example.com'], password: [PASSWORD] },
      { tenant: 'acme', email: 'alice@example.com', password: 12345678 },
      { tenant: 'acme', email: 'alice@example.com', password: true },
      { tenant: 'acme', email: 'alice@example.com', password: null },
      { tenant: 'acme', email: 'alice@example.com' },
      { tenant: 'acme', email: 'alice@example.com', password: PASSWORD, role: 'admin' },
      { tenant: 'acme', email: `${'a'.repeat(250)}@example.com`, password: PASSWORD },
      { tenant: 'acme', email: 'alice@example.com', password: 'x'.repeat(1025) },
      [{ tenant: 'acme', email: 'alice@example.com', password: PASSWORD }],
      'alice@example.com',
      null,
    ];
    for (const p of payloads) {
      const res = await request(t.app).post('/auth/login').set('Content-Type', 'application/json').send(JSON.stringify(p));
      expectRefused(res, 400);
      expect(res.body.error).toBe('invalid_request');
    }
  });

  it('ATK-15: only six ASCII digits reach the TOTP verifier; none of the rest is a free guess', async () => {
    // Guarded by TotpStrategy's /^[0-9]{6}$/ (and the zod code field) before verifySecondFactor runs.
    t.clock.t = 59_000;
    const bad: unknown[] = [287082, 81804, '81804', ['000000', '287082'], true, null, {}, { $ne: null }, '２８７０８２', '٢٨٧٠٨٢', '287 082', ' 287082', '287082 ', '2870820', '94287082', '28708\u0000', 'x'.repeat(33)];
    for (let i = 0; i < bad.length; i++) {
      const a = agent(t);
      await login(a).expect(200);
      const res = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: bad[i] });
      expectRefused(res, 400);
      expect(res.body.error).toBe('invalid_request');
    }
    expectError(await request(t.app).post('/auth/mfa/challenge').send({ method: { $ne: null }, code: '287082' }), 'invalid_request', 400);
    expect(await auditCount(t, tenantId, 'mfa_challenge_failed', alice.id)).toBe(0);
    const a = agent(t);
    await login(a).expect(200);
    const ok = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(RFC_SECRET, t.clock.now()) });
    expect(ok.status).toBe(200);
    expect(codeFor(RFC_SECRET, t.clock.now())).toBe('287082');
  });

  it('backup-code operator payloads are 400', async () => {
    const a = agent(t);
    await login(a).expect(200);
    for (const code of [{ $ne: null }, { $in: ['aaaa-bbbb-cccc-dddd'] }, ['aaaa-bbbb-cccc-dddd']]) {
      expectRefused(await a.post('/auth/mfa/challenge').send({ method: 'backup_code', code }), 400);
    }
  });

  it('malformed JSON 400, 100 KB 413, text/plain 415, urlencoded operators 415, other charsets 415', async () => {
    // Guarded by routes/common.ts jsonOnly() (type and 16 KiB limit) and errors.ts toResponse().
    const post = () => request(t.app).post('/auth/login');
    expectRefused(await post().set('Content-Type', 'application/json').send('{"tenant":"acme","email":'), 400);
    expectRefused(await post().set('Content-Type', 'application/json').send('{"tenant":"acme"}}'), 400);
    expectRefused(await post().set('Content-Type', 'application/json').send(JSON.stringify({ tenant: 'acme', email: 'alice@example.com', password: 'x'.repeat(100 * 1024) })), 413);
    expectRefused(await post().set('Content-Type', 'text/plain').send(JSON.stringify({ tenant: 'acme', email: 'alice@example.com', password: PASSWORD })), 415);
    expectRefused(await post().type('form').send('tenant=acme&email[$ne]=x&password[$ne]=x'), 415);
    expectRefused(await post().type('form').send(`tenant=acme&email=alice%40example.com&password=${encodeURIComponent(PASSWORD)}`), 415);
    expectRefused(await post().set('Content-Type', 'application/json; charset=iso-8859-1').send(JSON.stringify({ tenant: 'acme' })), 415);
    expectRefused(await post().set('Content-Type', 'application/json; charset=utf-16').send(JSON.stringify({ tenant: 'acme' })));
    expectRefused(await post().set('Content-Type', 'multipart/form-data; boundary=x').send('--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na\r\n--x--'), 415);
    const invalidUtf8 = Buffer.concat([Buffer.from('{"tenant":"acme","email":"alice@example.com","password":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
    expectRefused(await post().set('Content-Type', 'application/json').serialize((b: unknown) => b as string).send(invalidUtf8 as unknown as string), 401);
    // The same on an authenticated-only route and the challenge.
    const a = agent(t);
    await login(a).expect(200);
    expectRefused(await a.post('/auth/mfa/challenge').set('Content-Type', 'text/plain').send('{"method":"totp","code":"123456"}'), 415);
    expectRefused(await a.post('/auth/mfa/challenge').set('Content-Type', 'application/json').send('{"method":"totp",'), 400);
  });

  it('client mistakes (a bad gzip body, an undecodable path parameter) are 400 and logged at debug, never as errors (SR-15)', async () => {
    const log = recordingLogger();
    const t2 = buildApp({ redis: true, overrides: { logger: log.logger } });
    const gz = await request(t2.app).post('/auth/login').set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send(Buffer.from('not gzip at all'));
    expectRefused(gz, 400);
    t2.app.get('/api/items/:id', t2.stepUp.requireAuth(), (_req, res) => res.json({}));
    t2.app.use(t2.stepUp.errorHandler);
    const uri = await request(t2.app).get('/api/items/%E0%A4%A');
    expectRefused(uri, 400);
    expect(log.lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(log.lines.some((l) => l.level === 'debug')).toBe(true);
    await t2.close();
  });
});
