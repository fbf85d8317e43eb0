/**
 * Issue 12 item 12: a hanging SMTP server or a failing / hanging SMS gateway answers 502
 * `delivery_failed` within `oob.deliveryTimeoutSeconds` (plus a small margin, measured on the real
 * clock), and a failed delivery does not use up the user's send budget: the user can ask again at
 * once, as often as the delivery fails, without meeting the cooldown or the hourly cap.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { SmtpMailer } from '../../lib/delivery/smtp';
import { WebhookSmsSender } from '../../lib/delivery/webhook';
import type { Mailer } from '../../lib/delivery/ports';
import { agent, buildApp, expectError, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { startSmsGateway, type SmsGateway } from '../helpers/sms-gateway';

const SMS_SECRET = 'sms-webhook-secret-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';
const TIMEOUT_S = 1;
// Generous: CI shares two cores with Chromium and several servers; the point is "bounded", not "fast".
const MARGIN_MS = 2500;

/** An SMTP server that accepts the connection and never says a word (not even the greeting). */
async function startHangingSmtp(): Promise<{ url: string; accepted: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function timed<T>(p: PromiseLike<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await p;
  return { value, ms: performance.now() - t0 };
}

describeWithRedis('delivery timeout and failed deliveries (issue 12 item 12)', () => {
  let hanging: Awaited<ReturnType<typeof startHangingSmtp>>;
  let sink: SmtpSink;
  let gateway: SmsGateway;
  let t: TestApp;
  let mailer: Mailer;

  beforeAll(async () => {
    hanging = await startHangingSmtp();
    sink = await startSmtpSink();
    gateway = await startSmsGateway(SMS_SECRET);
  });
  afterAll(async () => {
    await hanging.close();
    await sink.close();
    await gateway.close();
  });
  beforeEach(async () => {
    gateway.mode = { kind: 'ok' };
    gateway.requests.length = 0;
    sink.messages.length = 0;
    // The mailer under test can be swapped between a hanging server and a working one.
    mailer = new SmtpMailer({ url: hanging.url, from: 'stepup <no-reply@example.test>', timeoutMs: 4000 });
    t = buildApp({
      redis: true,
      overrides: {
        mailer: { send: (m) => mailer.send(m) },
        // The sender's own timeout is far longer than the plugin's: the plugin's deadline must answer.
        sms: new WebhookSmsSender({ url: gateway.url, secret: SMS_SECRET, timeoutMs: 4000 }),
        oob: { deliveryTimeoutSeconds: TIMEOUT_S },
      },
    });
    const tenant = await seedTenant(t);
    const { user } = await seedUser(t, tenant.id);
    await t.users.update(tenant.id, user.id, {
      mfa: { email: { enabledAt: new Date(t.clock.now()) }, sms: { phone: '+12025552671', enabledAt: new Date(t.clock.now()) } },
    });
  });
  afterEach(() => t.close());

  async function pending() {
    const a = agent(t);
    const res = await a.post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password: PASSWORD }).expect(200);
    expect(res.body.state).toBe('mfa_required');
    return a;
  }

  it('a hanging SMTP server answers 502 delivery_failed within the timeout, and the send is not counted', async () => {
    const a = await pending();
    const before = hanging.accepted();
    // More failures than the hourly cap (3) and each right after the other (cooldown 60 s): none counts.
    for (let i = 0; i < 4; i++) {
      const { value: res, ms } = await timed(a.post('/auth/mfa/email/send').send({}));
      expectError(res, 'delivery_failed', 502);
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 50);
      expect(ms).toBeLessThan(TIMEOUT_S * 1000 + MARGIN_MS);
    }
    expect(hanging.accepted() - before).toBe(4); // it really went to the server each time
    // The server comes back: the user asks again at once (no cooldown, no hourly count consumed).
    mailer = new SmtpMailer({ url: sink.url, from: 'stepup <no-reply@example.test>' });
    const ok = await a.post('/auth/mfa/email/send').send({}).expect(202);
    expect(ok.body).toEqual({ sentTo: 'a***@e***.com', expiresIn: 600 });
    await sink.waitFor(() => true, 5000);
    // A delivered send does count: the cooldown now holds.
    expectError(await a.post('/auth/mfa/email/send').send({}), 'rate_limited', 429);
  });

  it('a failing SMS gateway answers 502 at once and leaves the budget untouched; a hanging one within the timeout', async () => {
    const a = await pending();
    gateway.mode = { kind: 'fail', status: 503 };
    for (let i = 0; i < 4; i++) {
      const { value: res, ms } = await timed(a.post('/auth/mfa/sms/send').send({}));
      expectError(res, 'delivery_failed', 502);
      expect(ms).toBeLessThan(MARGIN_MS);
    }
    gateway.mode = { kind: 'hang' };
    const { value: hung, ms } = await timed(a.post('/auth/mfa/sms/send').send({}));
    expectError(hung, 'delivery_failed', 502);
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 50);
    expect(ms).toBeLessThan(TIMEOUT_S * 1000 + MARGIN_MS);
    expect(gateway.requests).toHaveLength(5);

    gateway.mode = { kind: 'ok' };
    await a.post('/auth/mfa/sms/send').send({}).expect(202);
    expect(gateway.requests).toHaveLength(6);
    expectError(await a.post('/auth/mfa/sms/send').send({}), 'rate_limited', 429);
  });

  it('the caps still hold for deliveries that succeed (3 an hour)', async () => {
    mailer = new SmtpMailer({ url: sink.url, from: 'stepup <no-reply@example.test>' });
    const a = await pending();
    for (let i = 0; i < 3; i++) {
      await a.post('/auth/mfa/email/send').send({}).expect(202);
      t.clock.advance(61);
    }
    expectError(await a.post('/auth/mfa/email/send').send({}), 'rate_limited', 429);
  });
});
