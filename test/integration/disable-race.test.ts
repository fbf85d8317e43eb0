import { internalContextOf } from '../../testing';
import { agent, buildApp, expectError, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';

describeWithRedis('a disable that lands while a login is in flight', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('ends the session the login was about to hand out (lib/sessions.ts establish re-reads the account)', async () => {
    t = buildApp({ redis: true });
    const tenant = await seedTenant(t);
    const { user, password } = await seedUser(t, tenant.id);
    // The admin's disable runs right after the password step read the account (as if concurrently).
    const read = t.users.findByEmail.bind(t.users);
    t.users.findByEmail = async (tenantId, email) => {
      const found = await read(tenantId, email);
      await t.users.update(tenant.id, user.id, { disabledAt: new Date(t.clock.now()) });
      return found;
    };
    const a = agent(t);
    expectError(await a.post('/auth/login').send({ tenant: 'acme', email: user.email, password }), 'invalid_credentials', 401);
    await a.get('/api/profile').expect(401);
    expect(await internalContextOf(t.stepUp).sessions.list(tenant.id, user.id)).toEqual([]);
  });
});
