/**
 * Options a host meets first: single-tenant mode (`defaultTenant`) and the one warning for a Secure
 * cookie on a request Express does not see as TLS (login answers 200, the browser keeps no cookie).
 */
import request from 'supertest';
import { buildApp, type TestApp } from '../helpers/app';

const PASSWORD = 'correct horse battery staple';

async function withAlice(t: TestApp, slug = 'acme'): Promise<void> {
  const tenant = await t.stepUp.createTenant({ slug, name: slug });
  await t.stepUp.createUser({ tenantId: tenant.id, email: 'alice@acme.test', password: PASSWORD });
}

describe('defaultTenant (single-tenant mode)', () => {
  it('a login without `tenant` signs in to the default tenant; a body tenant still wins', async () => {
    const t = buildApp({ overrides: { defaultTenant: 'acme' } });
    await withAlice(t);
    await withAlice(t, 'other');
    const res = await request(t.app).post('/auth/login').send({ email: 'alice@acme.test', password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'authenticated', user: { tenant: 'acme' } });
    const other = await request(t.app).post('/auth/login').send({ tenant: 'other', email: 'alice@acme.test', password: PASSWORD });
    expect(other.body).toMatchObject({ state: 'authenticated', user: { tenant: 'other' } });
    await t.close();
  });

  it('without it, `tenant` is required (400), and a bad slug is a TypeError naming the option', async () => {
    const t = buildApp();
    await withAlice(t);
    const res = await request(t.app).post('/auth/login').send({ email: 'alice@acme.test', password: PASSWORD });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    await t.close();
    expect(() => buildApp({ overrides: { defaultTenant: 'Not A Slug' } })).toThrow(/defaultTenant/);
    expect(() => buildApp({ overrides: { defaultTenent: 'acme' } as never })).toThrow(/unknown option "defaultTenent"; did you mean "defaultTenant"/);
  });
});

describe('secureCookie: true without TLS', () => {
  function appWithLog(secureCookie: true | 'auto', trustProxy = false) {
    const warnings: string[] = [];
    const t = buildApp({ overrides: { defaultTenant: 'acme', session: { secret: 'test-session-secret-that-is-long-enough-0123456789', secureCookie }, logger: { info: () => undefined, warn: (m) => void warnings.push(m), error: () => undefined } } });
    if (trustProxy) t.app.set('trust proxy', 1);
    return { t, warnings };
  }

  it('logs one warning at the first plain-http request, and the login sets no cookie', async () => {
    const { t, warnings } = appWithLog(true);
    await withAlice(t);
    const res = await request(t.app).post('/auth/login').send({ email: 'alice@acme.test', password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toBeUndefined();
    await request(t.app).get('/auth/session');
    const secure = warnings.filter((w) => w.includes('secureCookie'));
    expect(secure).toHaveLength(1);
    expect(secure[0]).toMatch(/trust proxy/);
    await t.close();
  });

  it('says nothing behind a trusted TLS proxy (the cookie is set) or with secureCookie "auto"', async () => {
    const proxied = appWithLog(true, true);
    await withAlice(proxied.t);
    const res = await request(proxied.t.app).post('/auth/login').set('X-Forwarded-Proto', 'https').send({ email: 'alice@acme.test', password: PASSWORD });
    expect(res.headers['set-cookie']?.[0]).toMatch(/^__Host-sid=.*Secure/);
    expect(proxied.warnings.filter((w) => w.includes('secureCookie'))).toEqual([]);
    await proxied.t.close();

    const auto = appWithLog('auto');
    await request(auto.t.app).get('/auth/session');
    expect(auto.warnings.filter((w) => w.includes('secureCookie'))).toEqual([]);
    await auto.t.close();
  });
});
