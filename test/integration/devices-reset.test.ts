/**
 * Remembered browsers and password reset (issue 16): a reset forgets every remembered browser, so the
 * next login with the new password asks for the second factor again, even in a remembered browser.
 */
import request from 'supertest';
import { SmtpMailer } from '../../lib/delivery/smtp';
import type { TenantRecord, UserRecord } from '../../lib/types';
import { agent, buildApp, codeFor, enrolTotp, LINK_TOKEN, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';

const PW = 'correct horse battery staple';
const NEW_PW = 'a brand new long passphrase 7';

describeWithRedis('remembered devices: forgotten by a password reset', () => {
  let sink: SmtpSink;
  let t: TestApp;
  let acme: TenantRecord;
  let alice: UserRecord;

  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(() => sink.close());
  beforeEach(async () => {
    sink.messages.length = 0;
    t = buildApp({ redis: true, overrides: { mailer: new SmtpMailer({ url: sink.url, from: 'no-reply@example.test' }), allowedOrigins: ['https://app.example.test'], lifecycle: {} } });
    acme = await seedTenant(t, 'acme', { rememberDeviceDays: 30 });
    alice = (await seedUser(t, acme.id, 'alice@example.com', PW)).user;
  });
  afterEach(async () => {
    await t.stepUp.lifecycle.idle();
    await t.close();
  });

  it('a reset empties the list and the old cookie no longer skips the factor', async () => {
    const a = agent(t);
    await a.post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password: PW }).expect(200);
    const { secret } = await enrolTotp(t, a);
    await a.post('/auth/logout').expect(204);
    await a.post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password: PW }).expect(200);
    t.clock.advance(30);
    await a.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()), remember: true }).expect(200);
    await a.post('/auth/logout').expect(204);
    expect((await t.users.findById(acme.id, alice.id))!.rememberedDevices).toHaveLength(1);
    // The cookie works before the reset.
    expect((await a.post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password: PW }).expect(200)).body.state).toBe('authenticated');
    await a.post('/auth/logout').expect(204);

    t.clock.advance(1);
    await request(t.app).post('/auth/password/forgot').send({ tenant: 'acme', email: 'alice@example.com' }).expect(202);
    await t.stepUp.lifecycle.idle();
    const mail = sink.messages.filter((m) => /Reset your password/.test(m.subject)).at(-1)!;
    await request(t.app).post('/auth/password/reset').send({ token: LINK_TOKEN.exec(mail.text)![1], newPassword: NEW_PW }).expect(200);

    expect((await t.users.findById(acme.id, alice.id))!.rememberedDevices).toEqual([]);
    const after = await a.post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password: NEW_PW }).expect(200);
    expect(after.body.state).toBe('mfa_required');
  });
});
