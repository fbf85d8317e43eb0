/**
 * Cross-site state changes are refused (MFA-56, ATK-16): Origin and Sec-Fetch-Site against the allowlist,
 * on login, enrol, disable, regenerate, logout; with no state change. The app's own origin passes.
 */
import { internalContextOf } from '../../testing';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { agent, buildApp, codeFor, expectError, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { login, PASSWORD, RFC_SECRET, seedRfcTotp, type Agent } from '../helpers/security';
import { newBackupCodeSet } from '../../lib/auth/enrolment';
import { describeWithRedis } from '../helpers/services';
import type { UserRecord } from '../../lib/types';

const APP = 'https://app.example';
const CROSS: [string, Record<string, string>][] = [
  ['evil Origin', { Origin: 'https://evil.example' }],
  ['evil Origin + cross-site', { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' }],
  ['Sec-Fetch-Site cross-site, no Origin', { 'Sec-Fetch-Site': 'cross-site' }],
  ['Sec-Fetch-Site same-site, no Origin', { 'Sec-Fetch-Site': 'same-site' }],
  ['Origin null', { Origin: 'null' }],
  ['suffix lookalike', { Origin: 'https://app.example.evil.example' }],
  ['wrong scheme', { Origin: 'http://app.example' }],
  ['upper case', { Origin: 'HTTPS://APP.EXAMPLE' }],
  ['extra port', { Origin: 'https://app.example:444' }],
];

describeWithRedis('security: CSRF on state-changing routes', () => {
  let t: TestApp;
  let tenantId: string;
  let alice: UserRecord;
  let a: Agent;
  let codes: string[];
  beforeEach(async () => {
    t = buildApp({ redis: true, overrides: { allowedOrigins: [APP] } });
    tenantId = (await seedTenant(t)).id;
    alice = (await seedUser(t, tenantId)).user;
    await seedRfcTotp(t, alice, 0);
    const set = newBackupCodeSet(internalContextOf(t.stepUp));
    codes = set.codes;
    await t.users.update(tenantId, alice.id, set.patch);
    a = agent(t);
    await login(a).expect(200);
    await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(RFC_SECRET, t.clock.now()) }).expect(200);
  });
  afterEach(() => t.close());

  const snapshot = async () => JSON.stringify(await t.users.findById(tenantId, alice.id));

  it.each(CROSS)('%s: 403 on login, enrol, disable, regenerate, step-up, logout, logout-all; nothing changes', async (_name, headers) => {
    // Guarded by routes/common.ts originCheck(), mounted in front of every plugin route.
    const before = await snapshot();
    const calls: [string, object][] = [
      ['/auth/mfa/totp/enroll', {}],
      ['/auth/mfa/disable', { method: 'totp' }],
      ['/auth/mfa/backup-codes/regenerate', {}],
      ['/auth/step-up', { method: 'backup_code', code: codes[0]! }],
      ['/auth/logout', {}],
      ['/auth/logout-all', {}],
    ];
    for (const [path, payload] of calls) {
      const res = await a.post(path).set(headers).send(payload);
      expectError(res, 'forbidden', 403);
    }
    // text/plain "simple request" variant: still refused before anything runs.
    expectError(await a.post('/auth/logout').set(headers).set('Content-Type', 'text/plain').send('{}'), 'forbidden', 403);
    // Login CSRF: no session for the attacker's account lands in the victim's browser.
    const victim = agent(t);
    const loginCsrf = await login(victim, 'alice@example.com', PASSWORD).set(headers);
    expectError(loginCsrf, 'forbidden', 403);
    expect(loginCsrf.headers['set-cookie']).toBeUndefined();

    expect(await snapshot()).toBe(before);
    await a.get('/api/profile').expect(200);
    expect((await a.get('/auth/session')).body.state).toBe('authenticated');
  });

  it('the allowlisted origin, same-origin fetches and non-browser clients pass', async () => {
    await a.post('/auth/mfa/backup-codes/regenerate').set('Origin', APP).set('Sec-Fetch-Site', 'same-origin').send({}).expect(200);
    await a.post('/auth/mfa/backup-codes/regenerate').set('Sec-Fetch-Site', 'same-origin').send({}).expect(200);
    await a.post('/auth/mfa/backup-codes/regenerate').set('Sec-Fetch-Site', 'none').send({}).expect(200);
    const plain = await a.post('/auth/mfa/backup-codes/regenerate').send({}).expect(200);
    expect(plain.body.backupCodes).toHaveLength(10);
    await a.post('/auth/logout').set('Origin', APP).expect(204);
    expect((await login(agent(t)).set('Origin', APP).expect(200)).body.state).toBe('mfa_required');
  });
});

describeWithRedis('security: CSRF without an allowlist (own origin only)', () => {
  let t: TestApp;
  let server: Server;
  let own: string;
  beforeEach(async () => {
    t = buildApp({ redis: true });
    const tenantId = (await seedTenant(t)).id;
    await seedUser(t, tenantId);
    server = t.app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    own = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await t.close();
  });

  it('only the request\'s own origin passes', async () => {
    const body = { tenant: 'acme', email: 'alice@example.com', password: PASSWORD };
    expectError(await request(server).post('/auth/login').set('Origin', 'https://evil.example').send(body), 'forbidden', 403);
    expectError(await request(server).post('/auth/login').set('Origin', 'null').send(body), 'forbidden', 403);
    await request(server).post('/auth/login').set('Origin', own).send(body).expect(200);
  });
});
