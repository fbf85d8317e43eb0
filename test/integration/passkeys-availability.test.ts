/**
 * A server that cannot run passkeys (no relying party: no `webauthn` option and no `allowedOrigins`
 * WebAuthn accepts, e.g. the example app on http://127.0.0.1) never offers them: the status says
 * `available: false`, forced enrolment does not list them, and enrolling one is refused.
 */
import { agent, buildApp, seedTenant, seedUser } from '../helpers/app';
import { login } from '../helpers/security';
import { sessionAs } from '../helpers/sessions';
import { newBackupCodeSet } from '../../lib/auth/enrolment';
import { internalContextOf } from '../../testing';

describe('passkeys where the server has no relying party', () => {
  const cases = [
    ['no relying party (http://127.0.0.1: an IP is no RP ID)', ['http://127.0.0.1:3000'], false],
    ['a relying party from allowedOrigins', ['http://localhost:3000'], true],
  ] as const;

  it.each(cases)('%s', async (_name, allowedOrigins, available) => {
    const t = buildApp({ overrides: { allowedOrigins: [...allowedOrigins] } });
    const acme = await seedTenant(t, 'acme');
    // An admin without a factor must enrol at once: the methods offered are the ones the server can run.
    await seedUser(t, acme.id, 'admin@example.com', 'correct horse battery staple', ['admin']);
    const a = agent(t);
    const res = await login(a, 'admin@example.com').set('Origin', allowedOrigins[0]);
    expect(res.body.state).toBe('enrollment_required');
    expect(res.body.methods.includes('webauthn')).toBe(available);
    // A signed-in user's factor list says whether passkeys can be added here.
    const { user } = await seedUser(t, acme.id, 'user@example.com');
    const u = await sessionAs(t, user, { aal: 1 });
    const status = await u.get('/auth/mfa/status');
    expect(status.status).toBe(200);
    expect(status.body.methods.webauthn).toMatchObject({ enabled: false, available });
    const options = await u.post('/auth/mfa/webauthn/register/options').set('Origin', allowedOrigins[0]).send({});
    // Refused as a method this server does not offer (before any relying-party work).
    expect([options.status, options.body.error]).toEqual(available ? [200, undefined] : [403, 'method_not_allowed']);
  });

  it('a user whose passkey this server cannot run signs in with a backup code and goes on to enrol a factor that runs here', async () => {
    const t = buildApp({ overrides: { allowedOrigins: ['http://127.0.0.1:3000'] } });
    const acme = await seedTenant(t, 'acme');
    const { user } = await seedUser(t, acme.id, 'pat@example.com');
    const { codes, patch } = newBackupCodeSet(internalContextOf(t.stepUp));
    await t.users.update(acme.id, user.id, patch);
    const passkey = { id: 'cred-1', publicKey: 'pk', counter: 0, transports: [], backedUp: false, name: 'Laptop', createdAt: new Date(t.clock.now()), lastUsedAt: null };
    await t.users.update(acme.id, user.id, { mfa: { webauthn: [passkey] } });
    const a = agent(t);
    const pending = await login(a, 'pat@example.com').set('Origin', 'http://127.0.0.1:3000');
    expect(pending.body).toMatchObject({ state: 'mfa_required', methods: ['backup_code'] });
    const proved = await a.post('/auth/mfa/challenge').set('Origin', 'http://127.0.0.1:3000').send({ method: 'backup_code', code: codes[0] });
    expect(proved.body.state).toBe('enrollment_required');
    expect(proved.body.methods).not.toContain('webauthn');
    expect(proved.body.methods).toContain('totp');
  });
});
