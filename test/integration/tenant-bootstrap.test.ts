import { internalContextOf } from '../../testing';
import { bootstrapSuperadmin } from '../../lib/admin/actions';
import { agent, buildApp, codeFor, enrolTotp, expectError, seedUser, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';

const PW = 'root password for the platform';

describeWithRedis('bootstrapSuperadmin', () => {
  let t: TestApp;
  beforeEach(() => {
    t = buildApp({ redis: true });
  });
  afterEach(() => t.close());

  const boot = (password = PW, email = 'Root@Platform.test') => bootstrapSuperadmin(internalContextOf(t.stepUp), { email, password });

  it('creates the platform tenant (MFA required) and a superadmin who must enrol at first login', async () => {
    const r = await boot();
    expect(r.created).toEqual({ tenant: true, user: true });
    expect(r.tenant).toMatchObject({ slug: 'platform', policy: { mfaRequired: true } });
    expect(r.user.email).toBe('root@platform.test');
    const stored = (await t.users.findById(r.tenant.id, r.user.id))!;
    expect(stored.roles).toEqual(['superadmin']);
    expect(stored.passwordHash).toMatch(/^\$argon2id\$/);
    expect((await t.audit.list(r.tenant.id, { limit: 10 })).map((e) => e.type).sort()).toEqual(['tenant_created', 'user_provisioned']);
    const login = await agent(t).post('/auth/login').send({ tenant: 'platform', email: 'root@platform.test', password: PW }).expect(200);
    expect(login.body.state).toBe('enrollment_required');
  });

  it('is idempotent: a restart neither duplicates the account nor resets its password or factors', async () => {
    const first = await boot();
    const a = agent(t);
    await a.post('/auth/login').send({ tenant: 'platform', email: 'root@platform.test', password: PW }).expect(200);
    const { secret } = await enrolTotp(t, a);
    const before = (await t.users.findById(first.tenant.id, first.user.id))!;

    const again = await boot('a different password from a changed env');
    expect(again.created).toEqual({ tenant: false, user: false });
    expect(again.tenant.id).toBe(first.tenant.id);
    expect(again.user.id).toBe(first.user.id);
    expect(await t.tenants.list()).toHaveLength(1);
    expect(await t.users.list(first.tenant.id, { limit: 10 })).toHaveLength(1);
    expect(await t.users.findById(first.tenant.id, first.user.id)).toEqual(before);

    t.clock.advance(30);
    expectError(await agent(t).post('/auth/login').send({ tenant: 'platform', email: 'root@platform.test', password: 'a different password from a changed env' }), 'invalid_credentials', 401);
    const b = agent(t);
    expect((await b.post('/auth/login').send({ tenant: 'platform', email: 'root@platform.test', password: PW }).expect(200)).body.state).toBe('mfa_required');
    await b.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
    await b.get('/admin/tenants').expect(200);
  });

  it('survives processes racing at start: one tenant, one superadmin', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => boot()));
    expect(new Set(results.map((r) => r.user.id)).size).toBe(1);
    expect(results.filter((r) => r.created.user)).toHaveLength(1);
    const platform = (await t.tenants.findBySlug('platform'))!;
    expect(await t.users.list(platform.id, { limit: 10 })).toHaveLength(1);
  });

  it('grants the role to an existing platform user, audited, without touching the password', async () => {
    const { tenant } = await boot(PW, 'first@platform.test');
    const { user } = await seedUser(t, tenant.id, 'ops@platform.test', 'ops user password', ['user']);
    const r = await boot(PW, 'ops@platform.test');
    expect(r.created.user).toBe(false);
    const stored = (await t.users.findById(tenant.id, user.id))!;
    expect(stored.roles).toEqual(['user', 'superadmin']);
    expect(stored.passwordHash).toBe(user.passwordHash);
    expect((await t.audit.list(tenant.id, { limit: 10 })).some((e) => e.type === 'role_granted' && e.userId === user.id)).toBe(true);
  });

  it('refuses bad input with a TypeError or invalid_request, creating no user', async () => {
    await expect(bootstrapSuperadmin(internalContextOf(t.stepUp), { email: 'not an email', password: PW })).rejects.toThrow(TypeError);
    await expect(boot('short')).rejects.toMatchObject({ code: 'invalid_request' });
    const platform = await t.tenants.findBySlug('platform');
    expect(platform ? await t.users.list(platform.id, { limit: 10 }) : []).toHaveLength(0);
  });
});
