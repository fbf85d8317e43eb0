import { internalContextOf } from '../../testing';
import { bootstrapSuperadmin } from '../../lib/admin/actions';
import type { TenantRecord, UserRecord } from '../../lib/types';
import { agent, buildApp, enrolTotp, expectError, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';

// ATK-19 / MFA-52: an admin of one tenant can do nothing to another tenant, whatever it names in the
// path, the headers, the query or the body; a user can do nothing on the admin API.

type Agent = ReturnType<typeof agent>;
const PW = 'correct horse battery staple';

/** Logs in and enrols TOTP (enrollment_required for admins, aal 1 for users): the agent ends at aal 2. */
async function fullSession(t: TestApp, tenant: string, email: string): Promise<Agent> {
  const a = agent(t);
  await a.post('/auth/login').send({ tenant, email, password: PW }).expect(200);
  await enrolTotp(t, a);
  return a;
}

interface Call {
  name: string;
  method: 'get' | 'post' | 'patch';
  path: string;
  body?: Record<string, unknown>;
}

let n = 0;
/** Every tenant-scoped admin route, aimed at `slug` (and `userId` for the reset). */
function scopedRoutes(slug: string, userId: string): Call[] {
  return [
    { name: 'list users', method: 'get', path: `/admin/tenants/${slug}/users` },
    { name: 'create user', method: 'post', path: `/admin/tenants/${slug}/users`, body: { email: `new${++n}@example.com`, role: 'admin' } },
    { name: 'reset MFA', method: 'post', path: `/admin/tenants/${slug}/users/${userId}/mfa/reset`, body: {} },
    { name: 'patch policy', method: 'patch', path: `/admin/tenants/${slug}/policy`, body: { mfaRequired: false, gracePeriodDays: 1 } },
    { name: 'read audit', method: 'get', path: `/admin/tenants/${slug}/audit` },
  ];
}
const platformRoutes = (): Call[] => [
  { name: 'create tenant', method: 'post', path: '/admin/tenants', body: { slug: `t${++n}`, name: 'X', admin: { email: 'x@example.com' } } },
  { name: 'list tenants', method: 'get', path: '/admin/tenants' },
];

function send(a: Agent, c: Call, headers: Record<string, string> = {}) {
  const req = a[c.method](c.path).set(headers);
  return c.body ? req.send(c.body) : req;
}

describeWithRedis('admin API: roles and tenant isolation', () => {
  let t: TestApp;
  let t1: TenantRecord;
  let t2: TenantRecord;
  let u1: UserRecord;
  let u2: UserRecord;
  let victim1: UserRecord;
  let victim2: UserRecord;
  let sa: Agent;
  let a1: Agent;
  let user1: Agent;
  let user2: Agent;

  beforeAll(async () => {
    t = buildApp({ redis: true });
    await bootstrapSuperadmin(internalContextOf(t.stepUp), { email: 'root@platform.test', password: PW });
    t1 = await seedTenant(t, 'acme');
    t2 = await seedTenant(t, 'globex');
    await seedUser(t, t1.id, 'admin@acme.test', PW, ['admin']);
    await seedUser(t, t2.id, 'admin@globex.test', PW, ['admin']);
    u1 = (await seedUser(t, t1.id, 'user@acme.test', PW)).user;
    u2 = (await seedUser(t, t2.id, 'user@globex.test', PW)).user;
    victim1 = (await seedUser(t, t1.id, 'victim@acme.test', PW)).user;
    victim2 = (await seedUser(t, t2.id, 'victim@globex.test', PW)).user;
    sa = await fullSession(t, 'platform', 'root@platform.test');
    a1 = await fullSession(t, 'acme', 'admin@acme.test');
    user1 = await fullSession(t, 'acme', 'user@acme.test');
    user2 = await fullSession(t, 'globex', 'user@globex.test');
  });
  afterAll(() => t.close());

  /** What an attacker could have changed in a tenant: users (with factors), policy, audit trail. */
  async function snapshot(tenantId: string) {
    return {
      users: await t.users.list(tenantId, { limit: 1000 }),
      tenant: await t.tenants.findById(tenantId),
      audit: await t.audit.list(tenantId, { limit: 1000 }),
    };
  }

  it('answers 401 to a visitor on every admin route', async () => {
    const a = agent(t);
    for (const c of [...scopedRoutes('acme', u1.id), ...platformRoutes()]) {
      const res = await send(a, c);
      expect([c.name, res.status, res.body.error]).toEqual([c.name, 401, 'unauthenticated']);
    }
  });

  it('answers 403 to a user (even at aal 2) on every admin route, own tenant or not', async () => {
    const calls = [...scopedRoutes('acme', u1.id), ...scopedRoutes('acme', victim1.id), ...scopedRoutes('globex', u2.id), ...platformRoutes()];
    for (const c of calls) {
      const res = await send(user1, c);
      expect([c.name, res.status, res.body.error]).toEqual([c.name, 403, 'forbidden']);
    }
    expect((await t.users.findById(t1.id, u1.id))!.mfa.totp).toBeTruthy();
  });

  it('refuses an admin (403) on every route of another tenant, by slug, and changes nothing there', async () => {
    const before = await snapshot(t2.id);
    for (const c of [...scopedRoutes('globex', u2.id), ...scopedRoutes('globex', victim2.id), ...scopedRoutes('platform', u2.id)]) {
      const res = await send(a1, c);
      expect([c.name, res.status, res.body.error]).toEqual([c.name, 403, 'forbidden']);
      expect(JSON.stringify(res.body)).not.toMatch(/globex\.test/);
    }
    // Unknown tenants look exactly like foreign ones to an admin (no existence oracle).
    for (const c of scopedRoutes('no-such-tenant', u2.id)) expectError(await send(a1, c), 'forbidden', 403);
    expect(await snapshot(t2.id)).toEqual(before);
    await user2.get('/api/profile').expect(200);
  });

  it('refuses an admin (403) on the superadmin routes', async () => {
    for (const c of platformRoutes()) expectError(await send(a1, c), 'forbidden', 403);
    expect((await t.tenants.list()).map((x) => x.slug).sort()).toEqual(['acme', 'globex', 'platform']);
  });

  it('answers 404 for a user id of another tenant placed under the admin\'s own slug', async () => {
    const before = await snapshot(t2.id);
    const res = await a1.post(`/admin/tenants/acme/users/${u2.id}/mfa/reset`).send({});
    expectError(res, 'not_found', 404);
    // Guessed and malformed ids are the same 404.
    for (const id of ['1', '2', '00000000-0000-0000-0000-000000000001', 'admin', '%2e%2e', 'a'.repeat(200)]) {
      expectError(await a1.post(`/admin/tenants/acme/users/${id}/mfa/reset`).send({}), 'not_found', 404);
    }
    // Tenant-less routes do not exist (ATK-19): the plugin's namespace answers a JSON 404, anything
    // else under the mount is left to the host (here Express's own 404).
    for (const path of [`/admin/tenants/globex`, `/admin/tenants/acme/users/${u2.id}`, `/admin/tenants/x/y/z`]) {
      expectError(await a1.get(path), 'not_found', 404);
      expectError(await a1.post(path).send({}), 'not_found', 404);
    }
    for (const path of [`/admin/users/${u2.id}`, `/admin/users/${u2.id}/mfa/reset`, `/admin/sessions?user=${u2.id}`]) {
      for (const res of [await a1.get(path), await a1.post(path).send({})]) {
        expect(res.status).toBe(404);
        expect(res.text).not.toMatch(/globex\.test/);
      }
    }
    expectError(await user1.get(`/admin/tenants/acme/users/${u2.id}`), 'forbidden', 403);
    expect(await snapshot(t2.id)).toEqual(before);
    expect((await t.users.findById(t2.id, u2.id))!.mfa.totp).toBeTruthy();
    await user2.get('/api/profile').expect(200);
  });

  it('ignores tenant hints in headers and the query, and refuses them in bodies', async () => {
    const hints = { 'X-Tenant-ID': 'globex', 'X-Tenant': t2.id };
    const list = await a1.get('/admin/tenants/acme/users?tenant=globex&tenantId=' + t2.id).set(hints).expect(200);
    const emails = (list.body.users as { email: string }[]).map((u) => u.email);
    expect(emails).toContain('user@acme.test');
    expect(emails.some((e) => e.endsWith('globex.test'))).toBe(false);

    const audit = await a1.get('/admin/tenants/acme/audit?tenant=globex').set(hints).expect(200);
    expect((audit.body.events as { userId: string }[]).some((e) => e.userId === u2.id)).toBe(false);

    // A hint naming the admin's own tenant does not open a foreign slug either.
    const own = { 'X-Tenant-ID': 'acme', 'X-Tenant': t1.id };
    expectError(await a1.get('/admin/tenants/globex/users?tenant=acme').set(own), 'forbidden', 403);
    expectError(await a1.post(`/admin/tenants/acme/users/${u2.id}/mfa/reset?tenant=globex`).set(hints).send({}), 'not_found', 404);

    const before = await snapshot(t2.id);
    for (const tenantHint of [{ tenantId: t2.id }, { tenant: 'globex' }]) {
      expectError(await a1.post('/admin/tenants/acme/users').send({ email: 'sneaky@globex.test', role: 'user', ...tenantHint }), 'invalid_request', 400);
      expectError(await a1.post(`/admin/tenants/acme/users/${u2.id}/mfa/reset`).send(tenantHint), 'invalid_request', 400);
      expectError(await a1.patch('/admin/tenants/acme/policy').send({ gracePeriodDays: 2, ...tenantHint }), 'invalid_request', 400);
    }
    expect(await snapshot(t2.id)).toEqual(before);
    expect(await t.users.findByEmail(t1.id, 'sneaky@globex.test')).toBeNull();
  });

  it('lets an admin act on its own tenant', async () => {
    await a1.get('/admin/tenants/acme/users').expect(200);
    await a1.get('/admin/tenants/acme/audit').expect(200);
    await a1.patch('/admin/tenants/acme/policy').send({ gracePeriodDays: 5 }).expect(200);
    const created = await a1.post('/admin/tenants/acme/users').send({ email: 'fresh@acme.test', role: 'user' }).expect(201);
    expect((await t.users.findById(t1.id, created.body.user.id))?.tenantId).toBe(t1.id);
    await a1.post(`/admin/tenants/acme/users/${victim1.id}/mfa/reset`).send({}).expect(204);
  });

  it('lets a superadmin act on every tenant, but still only on the tenant a user belongs to', async () => {
    const tenants = await sa.get('/admin/tenants').expect(200);
    expect((tenants.body.tenants as { slug: string }[]).map((x) => x.slug)).toEqual(['acme', 'globex', 'platform']);
    for (const slug of ['acme', 'globex', 'platform']) {
      await sa.get(`/admin/tenants/${slug}/users`).expect(200);
      await sa.get(`/admin/tenants/${slug}/audit`).expect(200);
    }
    expectError(await sa.get('/admin/tenants/no-such-tenant/users'), 'not_found', 404);
    expectError(await sa.post(`/admin/tenants/acme/users/${victim2.id}/mfa/reset`).send({}), 'not_found', 404);
    await sa.post('/admin/tenants/globex/users').send({ email: 'by-root@globex.test', role: 'admin' }).expect(201);
    await sa.patch('/admin/tenants/globex/policy').send({ stepUpMaxAgeSeconds: 600 }).expect(200);
    t.clock.advance(1); // audit order is by time: give the reset its own millisecond
    await sa.post(`/admin/tenants/globex/users/${victim2.id}/mfa/reset`).send({}).expect(204);
    const audit = await sa.get('/admin/tenants/globex/audit').expect(200);
    expect(audit.body.events[0]).toMatchObject({ type: 'admin_mfa_reset', userId: victim2.id });
  });

  it('never lets anyone provision a superadmin through the API', async () => {
    expectError(await sa.post('/admin/tenants/acme/users').send({ email: 'root2@acme.test', role: 'superadmin' }), 'invalid_request', 400);
    expectError(await a1.post('/admin/tenants/acme/users').send({ email: 'root3@acme.test', role: 'superadmin' }), 'invalid_request', 400);
    expectError(await sa.post('/admin/tenants/platform/users').send({ email: 'root4@platform.test', role: 'superadmin' }), 'invalid_request', 400);
  });
});
