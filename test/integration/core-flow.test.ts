import { agent, buildApp, codeFor, enrolTotp, expectError, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';

describeWithRedis('core: password, TOTP and backup codes on Redis', () => {
  let t: TestApp;
  let tenantId: string;
  beforeEach(async () => {
    t = buildApp({ redis: true });
    tenantId = (await seedTenant(t)).id;
    await seedUser(t, tenantId);
  });
  afterEach(() => t.close());

  const login = (a: ReturnType<typeof agent>, password = 'correct horse battery staple') =>
    a.post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password });

  it('logs in at aal 1, enrols TOTP, and then needs a code', async () => {
    const a = agent(t);
    const first = await login(a).expect(200);
    expect(first.body).toMatchObject({ state: 'authenticated', aal: 1, user: { email: 'alice@example.com', tenant: 'acme' } });
    const { secret, backupCodes } = await enrolTotp(t, a);
    expect(backupCodes).toHaveLength(10);
    await a.post('/auth/logout').expect(204);
    await a.get('/api/profile').expect(401);

    t.clock.advance(30);
    const pending = await login(a).expect(200);
    expect(pending.body.state).toBe('mfa_required');
    expect(pending.body.methods).toEqual(['totp', 'backup_code']);
    await a.get('/api/profile').expect(401);
    const ok = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
    expect(ok.body).toMatchObject({ state: 'authenticated', aal: 2 });
    const profile = await a.get('/api/profile').expect(200);
    expect(profile.body.user.email).toBe('alice@example.com');
    await a.get('/api/secure').expect(200);
  });

  it('logs in with a backup code once', async () => {
    const a = agent(t);
    await login(a).expect(200);
    const { backupCodes } = await enrolTotp(t, a);
    await a.post('/auth/logout').expect(204);
    await login(a).expect(200);
    await a.post('/auth/mfa/challenge').send({ method: 'backup_code', code: backupCodes[0] }).expect(200);
    await a.post('/auth/logout').expect(204);
    await login(a).expect(200);
    const again = await a.post('/auth/mfa/challenge').send({ method: 'backup_code', code: backupCodes[0] });
    expectError(again, 'invalid_code', 401);
    const status = await a.post('/auth/mfa/challenge').send({ method: 'backup_code', code: backupCodes[1]!.toUpperCase().replace(/-/g, ' ') });
    expect(status.status).toBe(200);
    const s = await a.get('/auth/mfa/status').expect(200);
    expect(s.body.backupCodesRemaining).toBe(8);
  });
});
