/**
 * Admin disable / enable (issue 8; MFA-17, MFA-19): POST /admin/tenants/:slug/users/:id/disable|enable,
 * step-up required, tenant-scoped, audited. A disabled user's sessions and sockets end at once, and it
 * cannot log in: the same 401 as a wrong password.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { SmtpMailer } from '../../lib/delivery/smtp';
import type { SessionsEndedEvent } from '../../lib/events';
import type { TenantRecord, UserRecord } from '../../lib/types';
import { agent, buildApp, codeFor, enrolTotp, expectError, seedTenant, seedUser, sidOf, type TestApp, LINK_TOKEN as TOKEN, responseShape as shape } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { enrolledSession } from '../helpers/sessions';
import { openSocket, withTimeout } from '../helpers/realtime-ws';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';

type Agent = ReturnType<typeof agent>;
const PW = 'correct horse battery staple';
const ORIGIN = 'https://app.example.com';

describeWithRedis('admin disable / enable', () => {
  let sink: SmtpSink;
  let t: TestApp;
  let server: http.Server;
  let wsUrl: string;
  let acme: TenantRecord;
  let globex: TenantRecord;
  let bob: UserRecord;
  let admin: { a: Agent | request.Agent; secret: string; user: UserRecord };
  let ended: SessionsEndedEvent[];

  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(() => sink.close());

  beforeEach(async () => {
    sink.messages.length = 0;
    t = buildApp({ redis: true, overrides: { allowedOrigins: [ORIGIN], realtime: { minAal: 1 }, mailer: new SmtpMailer({ url: sink.url, from: 'no-reply@example.test' }) } });
    ended = [];
    t.stepUp.events.on('sessions_ended', (e: SessionsEndedEvent) => ended.push(e));
    server = http.createServer(t.app);
    t.stepUp.realtime.attach(server, { path: '/ws' });
    await t.stepUp.realtime.ready();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    wsUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;

    acme = await seedTenant(t, 'acme');
    globex = await seedTenant(t, 'globex');
    bob = (await seedUser(t, acme.id, 'bob@acme.test', PW)).user;
    const user = (await seedUser(t, acme.id, 'admin@acme.test', PW, ['admin'])).user;
    // The admin's TOTP and an authenticated session, seeded (the HTTP login and enrolment are tested elsewhere).
    const a = await enrolledSession(t, user);
    admin = { a, user: (await t.users.findById(acme.id, user.id))!, secret: a.secret };
  });
  afterEach(async () => {
    await t.stepUp.lifecycle.idle();
    await t.stepUp.close();
    await new Promise<void>((r) => server.close(() => r()));
    await t.close();
  });

  const login = (a: Agent | request.Agent, email: string, password = PW, tenant = 'acme') => a.post('/auth/login').send({ tenant, email, password });
  const act = (a: Agent, action: 'disable' | 'enable', id: string, slug = 'acme') => a.post(`/admin/tenants/${slug}/users/${id}/${action}`).send({});
  async function stepUp(a: Agent, secret: string): Promise<void> {
    t.clock.advance(30);
    await a.post('/auth/step-up').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
  }

  it("ends the user's sessions and sockets at once; the user then gets the wrong-password 401; enable lets it back in", async () => {
    const b1 = agent(t);
    const b2 = agent(t);
    const cookie = `sid=${encodeURIComponent(sidOf(await login(b1, 'bob@acme.test').expect(200))!)}`;
    await login(b2, 'bob@acme.test').expect(200);
    const socket = await openSocket(wsUrl, { cookie, origin: ORIGIN });
    expect(await socket.next('joined')).toEqual({ type: 'joined', userId: bob.id });
    await b1.get('/api/profile').expect(200);

    const res = await act(admin.a, 'disable', bob.id).expect(200);
    expect(res.body).toEqual({ user: expect.objectContaining({ id: bob.id, email: 'bob@acme.test', disabledAt: new Date(t.clock.now()).toISOString() }), sessionsEnded: 2 });
    expect(res.headers['cache-control']).toBe('no-store');
    expect((await withTimeout(socket.closed, 5000, 'socket close')).code).toBe(4401);
    expectError(await b1.get('/api/profile'), 'unauthenticated', 401);
    expectError(await b2.get('/api/profile'), 'unauthenticated', 401);
    expect(ended).toEqual([expect.objectContaining({ tenantId: acme.id, userId: bob.id, reason: 'user_disabled' })]);
    expect(ended[0]!.sessionIds).toHaveLength(2);

    // The right password of a disabled account and a wrong password of an active one: the same answer.
    const disabled = await login(request(t.app), 'bob@acme.test');
    const wrong = await login(request(t.app), 'admin@acme.test', 'not the password');
    expectError(disabled, 'invalid_credentials', 401);
    expect(shape(disabled)).toEqual(shape(wrong));
    const listed = await admin.a.get('/admin/tenants/acme/users').expect(200);
    expect(listed.body.users.find((u: { id: string }) => u.id === bob.id).disabledAt).toBe(new Date(t.clock.now()).toISOString());

    t.clock.advance(1);
    const on = await act(admin.a, 'enable', bob.id).expect(200);
    expect(on.body).toEqual({ user: expect.objectContaining({ id: bob.id, disabledAt: null }), sessionsEnded: 0 });
    await login(agent(t), 'bob@acme.test').expect(200);

    const audit = (await t.audit.list(acme.id, { limit: 100 })).filter((e) => ['user_disabled', 'user_enabled'].includes(e.type));
    expect(audit.map((e) => [e.type, e.userId, e.actorId, e.details])).toEqual([
      ['user_enabled', bob.id, admin.user.id, { actorTenantId: acme.id, actorRole: 'admin' }],
      ['user_disabled', bob.id, admin.user.id, { sessionsEnded: 2, actorTenantId: acme.id, actorRole: 'admin' }],
    ]);
  });

  it('needs a fresh step-up and aal 2; an admin acts on its own tenant only and never on itself', async () => {
    t.clock.advance(301);
    expectError(await act(admin.a, 'disable', bob.id), 'step_up_required', 401);
    expect((await t.users.findById(acme.id, bob.id))!.disabledAt).toBeNull();
    await stepUp(admin.a, admin.secret);

    expectError(await act(admin.a, 'disable', admin.user.id), 'forbidden', 403);
    expectError(await act(admin.a, 'enable', admin.user.id), 'forbidden', 403);
    const foreign = (await seedUser(t, globex.id, 'carol@globex.test', PW)).user;
    expectError(await act(admin.a, 'disable', foreign.id, 'globex'), 'forbidden', 403);
    expectError(await act(admin.a, 'disable', foreign.id), 'not_found', 404); // another tenant's id under our slug
    expectError(await act(admin.a, 'disable', 'no-such-user'), 'not_found', 404);
    expectError(await admin.a.post(`/admin/tenants/acme/users/${bob.id}/disable`).send({ reason: 'x' }), 'invalid_request', 400);
    expect((await t.users.findById(globex.id, foreign.id))!.disabledAt).toBeNull();
    expect((await t.users.findById(acme.id, bob.id))!.disabledAt).toBeNull();

    // A plain user (aal 1) and a user of another tenant's admin cannot reach it at all.
    const b = agent(t);
    await login(b, 'bob@acme.test').expect(200);
    expectError(await act(b, 'disable', admin.user.id), 'forbidden', 403);
    await seedUser(t, globex.id, 'admin@globex.test', PW, ['admin']);
    const g = agent(t);
    await login(g, 'admin@globex.test', PW, 'globex').expect(200);
    await enrolTotp(t, g);
    expectError(await act(g, 'disable', bob.id), 'forbidden', 403);
    expect((await t.users.findById(acme.id, admin.user.id))!.disabledAt).toBeNull();
    expect((await t.users.findById(acme.id, bob.id))!.disabledAt).toBeNull();
    await act(admin.a, 'disable', bob.id).expect(200);
  });

  it('a disabled user loses its pending logins too, and its outstanding reset link stops working for good', async () => {
    const pending = agent(t);
    const carol = (await seedUser(t, acme.id, 'carol@acme.test', PW)).user;
    const cp = agent(t);
    await login(cp, 'carol@acme.test').expect(200);
    const { secret } = await enrolTotp(t, cp);
    await cp.post('/auth/logout').expect(204);
    t.clock.advance(30);
    expect((await login(pending, 'carol@acme.test').expect(200)).body.state).toBe('mfa_required');

    await request(t.app).post('/auth/password/forgot').send({ tenant: 'acme', email: 'carol@acme.test' }).expect(202);
    await t.stepUp.lifecycle.idle();
    const token = TOKEN.exec(sink.messages.find((m) => /Reset your password/.test(m.subject))!.text)![1]!;

    await stepUp(admin.a, admin.secret);
    expect((await act(admin.a, 'disable', carol.id).expect(200)).body.sessionsEnded).toBe(1);
    expectError(await pending.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }), 'no_pending_login', 409);
    await act(admin.a, 'enable', carol.id).expect(200);
    // Re-enabled, but the link made before the disable is dead.
    expectError(await request(t.app).post('/auth/password/reset').send({ token, newPassword: 'a long new passphrase' }), 'invalid_code', 401);
    await login(agent(t), 'carol@acme.test').expect(200);
  });
});
