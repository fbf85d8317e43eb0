import { internalContextOf } from '../../testing';
import type { SessionsEndedEvent } from '../../lib/events';
import type { UserRecord } from '../../lib/types';
import { agent, buildApp, codeFor, enrolTotp, expectError, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';

type Agent = ReturnType<typeof agent>;
const PW = 'correct horse battery staple';
const NEW = 'a completely new passphrase';

describeWithRedis('POST /auth/password', () => {
  let t: TestApp;
  let tenantId: string;
  let bob: UserRecord;
  let notices: jest.Mock;
  let ended: SessionsEndedEvent[];

  beforeEach(async () => {
    t = buildApp({ redis: true, overrides: { passwordLimits: { perAccount: 3, perIp: 1000, lockSeconds: 600 } } });
    notices = jest.fn(async () => undefined);
    internalContextOf(t.stepUp).noticeSender = notices;
    ended = [];
    t.stepUp.events.on('sessions_ended', (e: SessionsEndedEvent) => ended.push(e));
    tenantId = (await seedTenant(t)).id;
    bob = (await seedUser(t, tenantId, 'bob@example.com', PW)).user;
  });
  afterEach(() => t.close());

  const login = (a: Agent, password = PW) => a.post('/auth/login').send({ tenant: 'acme', email: 'bob@example.com', password });
  const change = (a: Agent, body: object) => a.post('/auth/password').send(body);

  it('changes the password, ends the other sessions and keeps this one, audits and notifies', async () => {
    const a = agent(t);
    const b = agent(t);
    await login(a).expect(200);
    await login(b).expect(200);
    const res = await change(a, { currentPassword: PW, newPassword: NEW }).expect(204);
    expect(res.text).toBe('');

    await a.get('/api/profile').expect(200);
    await b.get('/api/profile').expect(401);
    expect(ended).toEqual([expect.objectContaining({ tenantId, userId: bob.id, reason: 'password_changed', sessionIds: [expect.any(String)] })]);
    expect(notices).toHaveBeenCalledWith(expect.objectContaining({ id: bob.id }), { event: 'password_changed' });
    const audit = await t.audit.list(tenantId, { limit: 20 });
    expect(audit.filter((e) => e.type === 'password_changed')).toEqual([expect.objectContaining({ userId: bob.id, actorId: bob.id, details: { sessionsEnded: 1 } })]);
    expect(JSON.stringify(audit)).not.toContain(NEW);

    const stored = (await t.users.findById(tenantId, bob.id))!;
    expect(stored.passwordHash).toMatch(/^\$argon2id\$/);
    expect(stored.passwordHash).not.toBe(bob.passwordHash);
    expectError(await login(agent(t)), 'invalid_credentials', 401);
    await login(agent(t), NEW).expect(200);
  });

  it('answers 401 invalid_credentials for a wrong current password, counted with the login budget', async () => {
    const a = agent(t);
    await login(a).expect(200);
    for (let i = 0; i < 3; i++) expectError(await change(a, { currentPassword: 'wrong password', newPassword: NEW }), 'invalid_credentials', 401);
    const locked = await change(a, { currentPassword: PW, newPassword: NEW });
    expectError(locked, 'rate_limited', 429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expectError(await login(agent(t)), 'rate_limited', 429);
    expect(await internalContextOf(t.stepUp).hasher.verify((await t.users.findById(tenantId, bob.id))!.passwordHash, PW)).toBe(true);
    expect(ended).toEqual([]);
  });

  it('takes 8 to 256 characters, counted as code points, with no composition rules', async () => {
    const a = agent(t);
    await login(a).expect(200);
    for (const newPassword of ['short77', 'x'.repeat(257), '🔑🔑🔑🔑', '']) {
      expectError(await change(a, { currentPassword: PW, newPassword }), 'invalid_request', 400);
    }
    let current = PW;
    for (const newPassword of ['aaaaaaaa', '🔑🔑🔑🔑🔑🔑🔑🔑', 'y'.repeat(256), 'pass phrase with spaces']) {
      await change(a, { currentPassword: current, newPassword }).expect(204);
      current = newPassword;
    }
    await login(agent(t), current).expect(200);
  });

  it('validates the body strictly and needs an authenticated session', async () => {
    const a = agent(t);
    expectError(await change(a, { currentPassword: PW, newPassword: NEW }), 'unauthenticated', 401);
    await login(a).expect(200);
    const bad: object[] = [{}, { currentPassword: PW }, { currentPassword: { $ne: '' }, newPassword: NEW }, { currentPassword: PW, newPassword: NEW, userId: 'x' }, { currentPassword: PW, newPassword: 12345678 }];
    for (const body of bad) expectError(await change(a, body), 'invalid_request', 400);
  });

  it('needs a fresh step-up from a user with a second factor, and leaves the factors alone', async () => {
    const a = agent(t);
    await login(a).expect(200);
    const { secret } = await enrolTotp(t, a);
    const pending = agent(t);
    t.clock.advance(30);
    expect((await login(pending).expect(200)).body.state).toBe('mfa_required');
    expectError(await change(pending, { currentPassword: PW, newPassword: NEW }), 'unauthenticated', 401);

    t.clock.advance(301);
    const stale = await change(a, { currentPassword: PW, newPassword: NEW });
    expectError(stale, 'step_up_required', 401);
    expect(stale.body.methods).toEqual(['totp', 'backup_code']);
    await a.post('/auth/step-up').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
    await change(a, { currentPassword: PW, newPassword: NEW }).expect(204);

    // The half-logged-in session ended too; the factor is still required at the next login.
    expectError(await pending.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now(), 1) }), 'no_pending_login', 409);
    expect((await login(agent(t), NEW).expect(200)).body.state).toBe('mfa_required');
  });
});
