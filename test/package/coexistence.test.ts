/**
 * Living inside an existing Passport app (one Passport instance, given to the plugin as `passport`):
 * the host's own logins are never wiped, and `stepUp.beginSecondFactor` takes a user who passed the
 * host's own strategy (its passport-local, a fake OAuth provider) into the plugin's state machine.
 */
import express from 'express';
import { Passport } from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { Strategy as PassportStrategy } from 'passport-strategy';
import request from 'supertest';
import { buildApp, codeFor, enrolTotp, seedTenant, seedUser, type TestApp } from '../helpers/app';

interface HostUser {
  hostId: string;
  email: string;
}
const HOST_USERS: Record<string, HostUser & { password: string }> = { 'alice@example.com': { hostId: 'h1', email: 'alice@example.com', password: 'host password 1' } };

/** An OAuth provider without the network: no `code` redirects to the IdP, a `code` is the callback. */
class FakeOAuth extends PassportStrategy {
  name = 'fake-oauth';
  override authenticate(req: express.Request): void {
    const code = (req.query as { code?: string }).code;
    if (!code) return this.redirect('https://idp.example/authorize?client_id=app');
    if (code !== 'good') return this.fail({ message: 'bad code' }, 401);
    this.success({ hostId: 'oauth-1', email: 'alice@example.com' });
  }
}

function hostApp(): { t: TestApp; passport: InstanceType<typeof Passport> } {
  const passport = new Passport();
  const t = buildApp({ overrides: { passport } });
  // The host's own serializer, after the plugin's (which passes on users that are not its own).
  passport.serializeUser((u, done) => done(null, { host: (u as unknown as HostUser).hostId, email: (u as unknown as HostUser).email }));
  passport.deserializeUser((o: { host?: string; email?: string }, done) => done(null, o.host ? ({ hostId: o.host, email: o.email } as never) : false));
  passport.use('local', new LocalStrategy((email, password, done) => {
    const u = HOST_USERS[email];
    done(null, u && u.password === password ? ({ hostId: u.hostId, email: u.email } as unknown as Express.User) : false);
  }));
  passport.use('fake-oauth', new FakeOAuth());
  const host = express.Router();
  host.use(express.json());
  // (1) The host's own session login, untouched by the plugin.
  host.post('/host/login', passport.authenticate('local', { session: true }), (req, res) => res.json({ ok: true, user: req.user }));
  host.get('/host/me', (req, res) => res.json({ user: req.user ?? null }));
  // (2) The host's first factor, then the plugin's second factor.
  host.post('/host/login-mfa', passport.authenticate('local', { session: false }), (req, res, next) => {
    t.stepUp.beginSecondFactor(req, { tenant: 'acme', email: (req.user as unknown as HostUser).email }).then((r) => res.json(r), next);
  });
  host.get('/oauth/start', passport.authenticate('fake-oauth', { session: false }));
  host.get('/oauth/callback', passport.authenticate('fake-oauth', { session: false }), (req, res, next) => {
    t.stepUp.beginSecondFactor(req, { tenant: 'acme', email: (req.user as unknown as HostUser).email }).then((r) => res.json(r), next);
  });
  host.use(t.stepUp.errorHandler);
  // Mounted after the plugin's session chain (buildApp), like a host's routes would be.
  t.app.use(host);
  return { t, passport };
}

describe('coexistence with the host app', () => {
  it("keeps a login the host's own strategy made (no plugin state); the plugin's guards still refuse it", async () => {
    const { t } = hostApp();
    const a = request.agent(t.app);
    await a.post('/host/login').send({ username: 'alice@example.com', password: 'host password 1' }).expect(200);
    for (let i = 0; i < 2; i++) expect((await a.get('/host/me')).body.user).toEqual({ hostId: 'h1', email: 'alice@example.com' });
    expect((await a.get('/api/profile')).status).toBe(401);
    expect((await a.get('/auth/session')).body.state).toBe('anonymous');
    await t.close();
  });

  it("host passport-local as the first factor -> mfa_required -> TOTP -> authenticated aal 2", async () => {
    const { t } = hostApp();
    const tenant = await seedTenant(t);
    await seedUser(t, tenant.id, 'alice@example.com');
    // Enrol TOTP through the plugin's own login once.
    const setup = request.agent(t.app);
    await setup.post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password: 'correct horse battery staple' }).expect(200);
    const { secret } = await enrolTotp(t, setup);
    t.clock.advance(60);

    const a = request.agent(t.app);
    const first = await a.post('/host/login-mfa').send({ username: 'alice@example.com', password: 'host password 1' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ state: 'mfa_required' });
    expect(first.body.methods).toContain('totp');
    expect((await a.get('/api/profile')).status).toBe(401);
    const done = await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ state: 'authenticated', aal: 2 });
    expect((await a.get('/api/secure')).status).toBe(200);
    await t.close();
  });

  it('a fake OAuth provider as the first factor: redirect, callback, then the plugin decides (aal 1 without factors)', async () => {
    const { t } = hostApp();
    const tenant = await seedTenant(t);
    await seedUser(t, tenant.id, 'alice@example.com');
    const a = request.agent(t.app);
    const start = await a.get('/oauth/start');
    expect(start.status).toBe(302);
    expect(start.headers.location).toMatch(/^https:\/\/idp\.example\/authorize/);
    expect((await a.get('/oauth/callback?code=bad')).status).toBe(401);
    const cb = await a.get('/oauth/callback?code=good');
    expect(cb.body).toMatchObject({ state: 'authenticated', aal: 1, user: { email: 'alice@example.com', tenant: 'acme' } });
    expect((await a.get('/api/profile')).status).toBe(200);
    await t.close();
  });

  it('an OAuth identity the plugin does not know is refused (invalid_credentials), not created', async () => {
    const { t } = hostApp();
    await seedTenant(t);
    const res = await request(t.app).get('/oauth/callback?code=good');
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_credentials');
    await t.close();
  });
});
