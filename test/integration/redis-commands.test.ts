/**
 * Redis round trips per login step and per guarded request (issue 14; `npm run bench` prints the same
 * counts under load): the session is written once per step, the index, listing records and the
 * revocation mark of a new session go in one script, the budgets in one script.
 */
import type { Redis } from 'ioredis';
import { agent, buildApp, codeFor, recordingRedis, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { RFC_SECRET, seedRfcTotp } from '../helpers/security';

describeWithRedis('Redis commands per request', () => {
  let t: TestApp;
  let redis: Redis;
  let sent: string[];
  /** The commands sent since the last call, as they left the client (a script is one command). */
  const take = (): string[] => sent.splice(0);

  beforeAll(async () => {
    ({ redis, sent } = recordingRedis());
    t = buildApp({ redis });
    const acme = await seedTenant(t, 'acme');
    const { user } = await seedUser(t, acme.id);
    await seedRfcTotp(t, user);
  });
  afterAll(async () => {
    await redis.quit();
  });

  async function login(): Promise<{ login: string[]; challenge: string[]; guarded: string[] }> {
    const a = agent(t);
    take();
    expect((await a.post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password: 'correct horse battery staple' })).body.state).toBe('mfa_required');
    const loginCmds = take();
    t.clock.advance(30);
    await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(RFC_SECRET, t.clock.now()) }).expect(200);
    const challengeCmds = take();
    await a.get('/api/secure').expect(200);
    return { login: loginCmds, challenge: challengeCmds, guarded: take() };
  }

  it('a challenge sends at most 6, the password step at most 7, a guarded request 1 (one MGET)', async () => {
    await login(); // loads the scripts (EVALSHA then answers without a NOSCRIPT retry)
    const { login: l, challenge: c, guarded: g } = await login();
    // A login's session id carries its user's tag: the session and the revocation mark are one MGET.
    expect(g).toEqual(['MGET']);
    // session load, budgets, success reset, old id's tombstone, ONE session write, index+records+mark
    expect(c.length).toBeLessThanOrEqual(6);
    // The pending session's id carries the user's tag too: its load is an MGET, not a script.
    expect(c[0]).toBe('MGET');
    expect(c.filter((x) => x === 'EVAL').length).toBe(1); // the one write (no second save)
    expect(l.length).toBeLessThanOrEqual(7);
  });
});
