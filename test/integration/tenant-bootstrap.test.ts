import { internalContextOf } from '../../testing';
import type { Connection } from 'mongoose';
import { bootstrapSuperadmin } from '../../lib/admin/actions';
import { createMongooseStores } from '../../lib/stores/mongoose';
import { agent, buildApp, codeFor, enrolTotp, expectError, seedUser, TestClock, type TestApp } from '../helpers/app';
import { connect, dbPrefix, describeWithMongo, dropDatabases } from '../helpers/mongo';
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

// The same races on MongoDB (MONGODB_URI or the private FerretDB), in both layouts: only the unique
// indexes that ensureIndexes() built keep racing processes to one platform tenant and one superadmin.
describeWithMongo('bootstrapSuperadmin on MongoDB', () => {
  const PREFIX = dbPrefix('boot');
  let conn: Connection;
  beforeAll(async () => {
    conn = await connect(`${PREFIX}_probe`);
  });
  afterAll(() => dropDatabases(conn, PREFIX));

  for (const layout of ['shared', 'database-per-tenant'] as const) {
    it(`${layout}: processes racing at start make one tenant and one superadmin, who can log in`, async () => {
      const db = conn.useDb(`${PREFIX}_${layout === 'shared' ? 's' : 'p'}`, { useCache: true });
      const clock = new TestClock();
      const stores = createMongooseStores(db, { layout, databasePrefix: `${db.name}_`, now: clock.now });
      await stores.ensureIndexes();
      // Five processes: five plugin instances on the same database.
      const apps = Array.from({ length: 5 }, () => buildApp({ clock, overrides: { stores: createMongooseStores(db, { layout, databasePrefix: `${db.name}_`, now: clock.now }) } }));
      const results = await Promise.all(apps.map((a) => a.stepUp.bootstrapSuperadmin({ email: 'Root@Platform.test', password: PW })));
      expect(new Set(results.map((r) => r.user.id)).size).toBe(1);
      expect(results.filter((r) => r.created.user)).toHaveLength(1);
      expect((await stores.tenants.list()).map((x) => x.slug)).toEqual(['platform']);
      const platform = (await stores.tenants.findBySlug('platform'))!;
      expect(await stores.users.list(platform.id, { limit: 10 })).toHaveLength(1);
      const login = await agent(apps[0]!).post('/auth/login').send({ tenant: 'platform', email: 'root@platform.test', password: PW }).expect(200);
      expect(login.body.state).toBe('enrollment_required');
      await Promise.all(apps.map((a) => a.close()));
    });
  }
});
