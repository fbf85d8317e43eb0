/**
 * Passkeys through the plugin's routes (issue 16), on responses recorded from Chromium's virtual
 * authenticators: registration, the login challenge, step-up, passwordless sign-in, and the refusals
 * (replay, counter regression, an unregistered authenticator, no user verification), all through the
 * one second-factor pipeline (budgets, lock, audit).
 */
import express from 'express';
import request from 'supertest';
import { internalContextOf } from '../../testing';
import type { TenantRecord } from '../../lib/types';
import { agent, expectError, seedTenant, seedUser } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { buildPasskeyApp, fixtures, RECORDED_ORIGIN, type PasskeyApp } from '../helpers/passkeys';

type Agent = ReturnType<typeof agent>;
const PW = 'correct horse battery staple';

describeWithRedis('passkeys (WebAuthn) through the routes', () => {
  const sf = fixtures.secondFactor();
  let t: PasskeyApp;
  let acme: TenantRecord;

  beforeEach(async () => {
    t = buildPasskeyApp({ redis: true, overrides: { lockout: { maxFailures: 4 } } });
    // Routes a host would guard with the phishing-resistant options.
    const host = express();
    host.use(t.stepUp.session);
    host.get('/api/pr', t.stepUp.requireAuth({ phishingResistant: true }), (_req, res) => void res.json({ ok: true }));
    host.post('/api/pr-step', t.stepUp.requireStepUp({ phishingResistant: true }), (_req, res) => void res.json({ ok: true }));
    t.app.use(host);
    acme = await seedTenant(t, 'acme');
    t.users.nextIds.push(sf.user.id);
    await seedUser(t, acme.id, sf.user.email, PW);
  });
  afterEach(async () => {
    await t.stepUp.close();
    await t.close();
  });

  const login = async (a: Agent) => a.post('/auth/login').send({ tenant: 'acme', email: sf.user.email, password: PW }).expect(200);
  const audits = async (type: string) => (await t.audit.list(acme.id, { limit: 100 })).filter((e) => e.type === type);

  /** Alice signs in with her password (no factor yet) and registers authenticator A. */
  async function registerAlice(): Promise<Agent> {
    const a = agent(t);
    await login(a);
    t.replay(sf.registration.options.challenge);
    const opts = await a.post('/auth/mfa/webauthn/register/options').send({}).expect(200);
    expect(opts.body.rp).toEqual({ name: 'ExampleCo', id: 'localhost' });
    expect(opts.body.challenge).toBe(sf.registration.options.challenge);
    expect(opts.body.attestation).toBe('none');
    expect(opts.body.authenticatorSelection).toMatchObject({ residentKey: 'preferred', userVerification: 'preferred' });
    const done = await a.post('/auth/mfa/webauthn/register/verify').send({ response: sf.registration.response, name: 'Laptop' }).expect(201);
    expect(done.body.credential).toMatchObject({ id: sf.registration.response.id, name: 'Laptop', transports: ['internal'] });
    // The first factor of the account comes with backup codes, like TOTP.
    expect(done.body.backupCodes).toHaveLength(10);
    return a;
  }

  /** A fresh login up to `mfa_required`, then options replaying the recorded assertion's challenge. */
  async function pendingWithOptions(challenge: string): Promise<Agent> {
    const a = agent(t);
    const r = await login(a);
    expect(r.body).toMatchObject({ state: 'mfa_required', methods: ['webauthn', 'backup_code'] });
    t.replay(challenge);
    const opts = await a.post('/auth/mfa/webauthn/authenticate/options').send({}).expect(200);
    expect(opts.body.rpId).toBe('localhost');
    expect(opts.body.allowCredentials).toEqual([{ id: sf.registration.response.id, type: 'public-key', transports: ['internal'] }]);
    return a;
  }

  it('builds the relying party from allowedOrigins (RP ID = the first origin host, the issuer as name)', () => {
    const plain = buildPasskeyApp();
    const built = internalContextOf(plain.stepUp).webauthn!;
    expect({ rpId: built.rpId, origins: built.origins }).toEqual({ rpId: 'localhost', origins: [RECORDED_ORIGIN] });
  });

  it('registers a passkey, signs in with password + passkey (aal 2, amr, phishing resistant), then steps up with it', async () => {
    const first = await registerAlice();
    const status = await first.get('/auth/mfa/status').expect(200);
    expect(status.body.methods.webauthn).toMatchObject({ enabled: true, count: 1, credentials: [{ id: sf.registration.response.id, name: 'Laptop' }] });
    expect(await audits('mfa_enrolled')).toHaveLength(1);

    const [loginAssertion, stepUpAssertion] = sf.authentications;
    const a = await pendingWithOptions(loginAssertion.options.challenge);
    const ok = await a.post('/auth/mfa/challenge').send({ method: 'webauthn', response: loginAssertion.response }).expect(200);
    expect(ok.body).toMatchObject({ state: 'authenticated', aal: 2, amr: ['webauthn'], phishing_resistant: true });
    const session = await a.get('/auth/session').expect(200);
    expect(session.body).toMatchObject({ state: 'authenticated', aal: 2, amr: ['webauthn'], phishing_resistant: true });
    await a.get('/api/pr').expect(200);
    const stored = await t.users.findById(acme.id, sf.user.id);
    expect(stored!.mfa.webauthn![0]).toMatchObject({ counter: loginAssertion.counterAfter, lastUsedAt: new Date(t.clock.now()) });

    // Later: the step-up has gone stale; a passkey refreshes it.
    t.clock.advance(301);
    const stale = await a.post('/api/pr-step').send({}).expect(401);
    expect(stale.body).toMatchObject({ error: 'step_up_required', methods: ['webauthn'] });
    t.replay(stepUpAssertion.options.challenge);
    await a.post('/auth/mfa/webauthn/authenticate/options').send({}).expect(200);
    const up = await a.post('/auth/step-up').send({ method: 'webauthn', response: stepUpAssertion.response }).expect(200);
    expect(up.body).toMatchObject({ aal: 2, amr: ['webauthn', 'webauthn'], phishing_resistant: true });
    await a.post('/api/pr-step').send({}).expect(200);
  });

  it('a session whose last factor was not a passkey is refused by the phishing-resistant guards, naming webauthn', async () => {
    const a = agent(t);
    await login(a);
    const r = await a.get('/api/pr').expect(401);
    expect(r.body).toMatchObject({ error: 'step_up_required', methods: ['webauthn'] });
    const s = await a.get('/auth/session').expect(200);
    expect(s.body.phishing_resistant).toBe(false);
  });

  it('refuses a replayed assertion, a counter that goes backwards (audited as a possible clone), and an unregistered authenticator', async () => {
    await registerAlice();
    const [loginAssertion, stepUpAssertion] = sf.authentications;
    const a = await pendingWithOptions(stepUpAssertion.options.challenge);
    // Counter 2 is stored after this login.
    await a.post('/auth/mfa/challenge').send({ method: 'webauthn', response: stepUpAssertion.response }).expect(200);

    // The same response again: its challenge was used up (fresh options carry another one).
    await a.post('/auth/mfa/webauthn/authenticate/options').send({}).expect(200);
    expectError(await a.post('/auth/step-up').send({ method: 'webauthn', response: stepUpAssertion.response }), 'invalid_code', 401);
    // Without asking for options at all: nothing waits for it.
    expectError(await a.post('/auth/step-up').send({ method: 'webauthn', response: stepUpAssertion.response }), 'invalid_code', 401);

    // An older, correctly signed assertion (counter 1 after 2): a cloned authenticator would look like this.
    t.replay(loginAssertion.options.challenge);
    await a.post('/auth/mfa/webauthn/authenticate/options').send({}).expect(200);
    expectError(await a.post('/auth/step-up').send({ method: 'webauthn', response: loginAssertion.response }), 'invalid_code', 401);
    const clones = await audits('webauthn_counter_regression');
    expect(clones).toHaveLength(1);
    expect(clones[0]!.details).toMatchObject({ credentialId: sf.registration.response.id, method: 'webauthn' });
    expect((await t.users.findById(acme.id, sf.user.id))!.mfa.webauthn![0]!.counter).toBe(stepUpAssertion.counterAfter);

    // Authenticator B (never registered) answering for Alice at login.
    const other = fixtures.unregistered();
    const b = await pendingWithOptions(other.authentication.options.challenge);
    expectError(await b.post('/auth/mfa/challenge').send({ method: 'webauthn', response: other.authentication.response }), 'invalid_code', 401);
    expect((await audits('mfa_challenge_failed')).length).toBe(4);
  });

  it('wrong assertions count against the account budget: the account locks (423) like with wrong codes', async () => {
    await registerAlice();
    const bogus = fixtures.flags().bogusSignature;
    const a = await pendingWithOptions(bogus.options.challenge);
    expectError(await a.post('/auth/mfa/challenge').send({ method: 'webauthn', response: bogus.response }), 'invalid_code', 401);
    for (let i = 0; i < 3; i++) {
      const b = await pendingWithOptions(bogus.options.challenge);
      await b.post('/auth/mfa/challenge').send({ method: 'webauthn', response: bogus.response }).expect(401);
    }
    const c = await pendingWithOptions(sf.authentications[0].options.challenge);
    // Even the right passkey is refused now: the lock is durable and per account.
    expectError(await c.post('/auth/mfa/challenge').send({ method: 'webauthn', response: sf.authentications[0].response }), 'account_locked', 423);
    expect(await audits('account_locked')).toHaveLength(1);
  });

  it('an assertion without user verification is refused for passwordless sign-in but is a valid second factor', async () => {
    await registerAlice();
    const noUv = fixtures.flags().userNotVerified;
    await t.tenants.updatePolicy(acme.id, { ...acme.policy, passwordlessPasskeys: true });
    const p = agent(t);
    t.replay(noUv.options.challenge);
    await p.post('/auth/passkey/options').send({ tenant: 'acme' }).expect(200);
    expectError(await p.post('/auth/passkey/login').send({ tenant: 'acme', response: noUv.response }), 'invalid_code', 401);
    expect((await p.get('/auth/session')).body.state).toBe('anonymous');

    const a = await pendingWithOptions(noUv.options.challenge);
    await a.post('/auth/mfa/challenge').send({ method: 'webauthn', response: noUv.response }).expect(200);
  });

  it('rejects malformed answers before anything is looked up', async () => {
    await registerAlice();
    const a = await pendingWithOptions(sf.authentications[0].options.challenge);
    expectError(await a.post('/auth/mfa/challenge').send({ method: 'webauthn', code: '123456' }), 'invalid_request', 400);
    expectError(await a.post('/auth/mfa/challenge').send({ method: 'webauthn', response: { id: { $ne: 1 } } }), 'invalid_request', 400);
    expectError(await a.post('/auth/mfa/challenge').send({ method: 'totp', response: sf.authentications[0].response }), 'invalid_request', 400);
  });

  describe('passwordless', () => {
    const pl = fixtures.passwordless();

    async function registerBob(): Promise<void> {
      t.users.nextIds.push(pl.user.id);
      await seedUser(t, acme.id, pl.user.email, PW);
      const a = agent(t);
      await a.post('/auth/login').send({ tenant: 'acme', email: pl.user.email, password: PW }).expect(200);
      t.replay(pl.registration.options.challenge);
      await a.post('/auth/mfa/webauthn/register/options').send({}).expect(200);
      await a.post('/auth/mfa/webauthn/register/verify').send({ response: pl.registration.response }).expect(201);
    }

    it('is off unless the tenant turns it on (403 method_not_allowed)', async () => {
      const p = agent(t);
      expectError(await p.post('/auth/passkey/options').send({ tenant: 'acme' }), 'method_not_allowed', 403);
      expectError(await p.post('/auth/passkey/options').send({ tenant: 'nope' }), 'method_not_allowed', 403);
      expectError(await p.post('/auth/passkey/login').send({ tenant: 'acme', response: pl.authentication.response }), 'method_not_allowed', 403);
    });

    it('signs in with a discoverable passkey alone: authenticated at aal 2 in one step, audited', async () => {
      await registerBob();
      await t.tenants.updatePolicy(acme.id, { ...acme.policy, passwordlessPasskeys: true });
      const p = agent(t);
      t.replay(pl.authentication.options.challenge);
      const opts = await p.post('/auth/passkey/options').send({ tenant: 'acme' }).expect(200);
      expect(opts.body).toMatchObject({ userVerification: 'required', allowCredentials: [] });
      const r = await p.post('/auth/passkey/login').send({ tenant: 'acme', response: pl.authentication.response }).expect(200);
      expect(r.body).toMatchObject({ state: 'authenticated', aal: 2, user: { email: pl.user.email }, phishing_resistant: true });
      await p.get('/api/secure').expect(200);
      const ok = (await audits('login_succeeded')).filter((e) => e.userId === pl.user.id && e.details?.method === 'webauthn');
      expect(ok).toHaveLength(1);

      // The same response again, from a session that asked for options of its own: refused.
      const q = agent(t);
      await q.post('/auth/passkey/options').send({ tenant: 'acme' }).expect(200);
      expectError(await q.post('/auth/passkey/login').send({ tenant: 'acme', response: pl.authentication.response }), 'invalid_code', 401);
    });

    it('a user handle alone (with a credential that is not the user\'s) does not spend the account budget', async () => {
      await registerBob();
      await t.tenants.updatePolicy(acme.id, { ...acme.policy, passwordlessPasskeys: true });
      const other = fixtures.unregistered().authentication; // Names Alice, who has no such credential.
      for (let i = 0; i < 6; i++) {
        const p = agent(t);
        await p.post('/auth/passkey/options').send({ tenant: 'acme' }).expect(200);
        expectError(await p.post('/auth/passkey/login').send({ tenant: 'acme', response: other.response }), 'invalid_code', 401);
      }
      expect(await audits('account_locked')).toHaveLength(0);
    });
  });

  describe('list, rename, remove', () => {
    it('lists and renames; removing needs a fresh step-up, ends the other sessions and takes the backup codes with the last factor', async () => {
      const a = await registerAlice();
      const other = agent(t);
      await login(other); // mfa_required: a pending login of the same user elsewhere
      const list = await a.get('/auth/mfa/webauthn/credentials').expect(200);
      expect(list.body.credentials).toEqual([
        { id: sf.registration.response.id, name: 'Laptop', backedUp: false, transports: ['internal'], createdAt: new Date(t.clock.now()).toISOString(), lastUsedAt: null },
      ]);
      const id = encodeURIComponent(sf.registration.response.id);
      const renamed = await a.patch(`/auth/mfa/webauthn/credentials/${id}`).send({ name: '  Work\u0007 key ' }).expect(200);
      expect(renamed.body.name).toBe('Work key');
      expectError(await a.patch('/auth/mfa/webauthn/credentials/nope').send({ name: 'x' }), 'not_found', 404);
      expectError(await request(t.app).get('/auth/mfa/webauthn/credentials'), 'unauthenticated', 401);

      t.clock.advance(301);
      expectError(await a.delete(`/auth/mfa/webauthn/credentials/${id}`), 'step_up_required', 401);
      t.clock.advance(-301);
      await a.delete(`/auth/mfa/webauthn/credentials/${id}`).expect(204);
      const u = await t.users.findById(acme.id, sf.user.id);
      expect(u!.mfa.webauthn).toEqual([]);
      expect(u!.mfa.backupCodes).toEqual([]);
      expect((await audits('mfa_disabled'))[0]!.details).toMatchObject({ method: 'webauthn' });
      // This session stays; the other (pending) one is gone.
      await a.get('/auth/mfa/status').expect(200);
      expect((await other.get('/auth/session')).body.state).toBe('anonymous');
    });

    it('the last factor cannot go under a mandatory policy (policy_requires_mfa)', async () => {
      const a = await registerAlice();
      await t.tenants.updatePolicy(acme.id, { ...acme.policy, mfaRequired: true });
      const id = encodeURIComponent(sf.registration.response.id);
      expectError(await a.delete(`/auth/mfa/webauthn/credentials/${id}`), 'policy_requires_mfa', 403);
      expect((await t.users.findById(acme.id, sf.user.id))!.mfa.webauthn).toHaveLength(1);
    });

    it('a second registration of the same authenticator is refused; a user with a factor needs a fresh step-up to add one', async () => {
      const a = await registerAlice();
      t.replay(sf.registration.options.challenge);
      const opts = await a.post('/auth/mfa/webauthn/register/options').send({}).expect(200);
      expect(opts.body.excludeCredentials).toEqual([{ id: sf.registration.response.id, type: 'public-key', transports: ['internal'] }]);
      expectError(await a.post('/auth/mfa/webauthn/register/verify').send({ response: sf.registration.response }), 'already_enrolled', 409);
      t.clock.advance(301);
      const stale = await a.post('/auth/mfa/webauthn/register/options').send({});
      expectError(stale, 'step_up_required', 401);
    });
  });

  describe('enrolment under a mandatory policy', () => {
    it('a passkey is a valid first factor during enrollment_required: backup codes, and the login completes at aal 2', async () => {
      await t.tenants.updatePolicy(acme.id, { ...acme.policy, mfaRequired: true, gracePeriodDays: 0 });
      const a = agent(t);
      const r = await login(a);
      expect(r.body).toMatchObject({ state: 'enrollment_required' });
      expect(r.body.methods).toContain('webauthn');
      t.replay(sf.registration.options.challenge);
      await a.post('/auth/mfa/webauthn/register/options').send({}).expect(200);
      const done = await a.post('/auth/mfa/webauthn/register/verify').send({ response: sf.registration.response }).expect(201);
      expect(done.body.backupCodes).toHaveLength(10);
      expect(done.body.credential.name).toBe('Passkey');
      const s = await a.get('/auth/session').expect(200);
      expect(s.body).toMatchObject({ state: 'authenticated', aal: 2, amr: ['webauthn'] });
    });
  });
});
