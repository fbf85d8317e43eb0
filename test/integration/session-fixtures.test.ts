/**
 * The session fixtures (test/helpers/sessions.ts) hold the same session a login makes: the guards,
 * step-up freshness, logout-all and the session list treat them like one. Suites that seed sessions
 * with them rely on this file.
 */
import { buildApp, codeFor, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { enrolledSession, sessionAs } from '../helpers/sessions';
import { describeWithRedis } from '../helpers/services';
import type { UserRecord } from '../../lib/types';
import { sessionTag } from '../../lib/auth/sessions';
import { uidOf } from '../../lib/state/machine';
import { tagOfSid } from '../../routes/session-store';

describeWithRedis('sessionAs: a seeded session is a real one', () => {
  let t: TestApp;
  let alice: UserRecord;

  beforeEach(async () => {
    t = buildApp({ redis: true });
    const acme = await seedTenant(t, 'acme');
    ({ user: alice } = await seedUser(t, acme.id));
  });
  afterEach(() => t.close());

  it('aal 2 and fresh: the guards let it through, and /auth/session shows it', async () => {
    const a = await sessionAs(t, alice);
    await a.get('/api/secure').expect(200);
    await a.post('/api/danger').expect(200);
    const view = (await a.get('/auth/session').expect(200)).body;
    expect(view).toMatchObject({ state: 'authenticated', aal: 2, amr: ['totp'], user: { id: alice.id, email: alice.email, tenant: 'acme' } });
    // Its id carries the user's tag, as a login's does: the store reads it and its revocation mark in one MGET.
    expect(tagOfSid(a.sid)).toBe(sessionTag(uidOf(alice.tenantId, alice.id)));
  });

  it('aal 1: the password-only guard passes, the aal 2 guard refuses', async () => {
    const a = await sessionAs(t, alice, { aal: 1 });
    await a.get('/api/profile').expect(200);
    expect((await a.get('/api/secure')).status).toBe(403);
  });

  it('fresh: false needs a step-up, and a TOTP step-up on the seeded factor gives it', async () => {
    const a = await enrolledSession(t, alice, { fresh: false });
    const refused = await a.post('/api/danger');
    expect([refused.status, refused.body.error]).toEqual([401, 'step_up_required']);
    t.clock.advance(30);
    await a.post('/auth/step-up').send({ method: 'totp', code: codeFor(a.secret, t.clock.now()) }).expect(200);
    await a.post('/api/danger').expect(200);
  });

  it('is indexed: listed by GET /auth/sessions and ended by logout-all from another session', async () => {
    const one = await sessionAs(t, alice);
    const two = await sessionAs(t, alice);
    const list = (await one.get('/auth/sessions').expect(200)).body.sessions as { current: boolean }[];
    expect(list.map((s) => s.current).sort()).toEqual([false, true]);
    await two.post('/auth/logout-all').expect(204);
    expect((await one.get('/api/profile')).status).toBe(401);
  });

  it('ages with the clock: the idle timeout ends it', async () => {
    const a = await sessionAs(t, alice);
    t.clock.advance(31 * 60);
    expect((await a.get('/api/profile')).status).toBe(401);
  });
});
