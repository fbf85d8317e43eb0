import { SmtpMailer } from '../../lib/delivery/smtp';
import { WebhookSmsSender } from '../../lib/delivery/webhook';
import { agent, buildApp, codeFor, enrolTotp, expectError, seedTenant, seedUser, type TestApp } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';
import { startSmtpSink, type SinkMessage, type SmtpSink } from '../helpers/smtp-sink';
import { startSmsGateway, type SmsGateway } from '../helpers/sms-gateway';

const SMS_SECRET = 'sms-webhook-secret-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';
const codeIn = (text: string): string => /\b(\d{6})\b/.exec(text)![1]!;

describeWithRedis('out-of-band codes over HTTP: real SMTP server and SMS webhook', () => {
  let sink: SmtpSink;
  let gateway: SmsGateway;
  let t: TestApp;
  const logs: string[] = [];
  const log = (m: string, f?: Record<string, unknown>) => void logs.push(`${m} ${JSON.stringify(f ?? {})}`);

  beforeAll(async () => {
    sink = await startSmtpSink();
    gateway = await startSmsGateway(SMS_SECRET);
  });
  afterAll(async () => {
    await sink.close();
    await gateway.close();
  });
  beforeEach(async () => {
    sink.messages.length = 0;
    gateway.requests.length = 0;
    gateway.mode = { kind: 'ok' };
    t = buildApp({
      redis: true,
      overrides: {
        mailer: new SmtpMailer({ url: sink.url, from: 'stepup <no-reply@example.test>' }),
        sms: new WebhookSmsSender({ url: gateway.url, secret: SMS_SECRET, timeoutMs: 2000 }),
        logger: { info: log, warn: log, error: log },
      },
    });
    const tenant = await seedTenant(t);
    await seedUser(t, tenant.id);
  });
  afterEach(() => t.close());

  const login = (a: ReturnType<typeof agent>) => a.post('/auth/login').send({ tenant: 'acme', email: 'alice@example.com', password: PASSWORD });
  const seen = new Set<SinkMessage>();
  const isCodeMail = (m: SinkMessage) => /^\s+\d{6}\s*$/m.test(m.text);
  const nextMail = async (subject: RegExp | 'code'): Promise<SinkMessage> =>
    sink.waitFor((m) => !seen.has(m) && (subject === 'code' ? isCodeMail(m) : !isCodeMail(m) && subject.test(m.subject)), 5000).then((m) => (seen.add(m), m));

  async function enrolEmail(a: ReturnType<typeof agent>): Promise<string[]> {
    const sent = await a.post('/auth/mfa/email/enroll').send({}).expect(202);
    expect(sent.body).toEqual({ sentTo: 'a***@e***.com', expiresIn: 600 });
    const mail = await nextMail('code');
    const verified = await a.post('/auth/mfa/email/verify').send({ code: codeIn(mail.text) }).expect(200);
    return verified.body.backupCodes as string[];
  }

  it('enrols email by a code that arrives over SMTP, then logs in with an emailed code (aal 1 by default)', async () => {
    const a = agent(t);
    await login(a).expect(200);
    const backup = await enrolEmail(a);
    expect(backup).toHaveLength(10);
    await nextMail(/added|new/i); // security notice for the new factor
    await a.post('/auth/logout').expect(204);
    t.clock.advance(60);
    const pending = await login(a).expect(200);
    expect(pending.body.methods).toEqual(['backup_code', 'email_otp']);
    await a.post('/auth/mfa/email/send').send({}).expect(202);
    const mail = await nextMail('code');
    expect(mail.to).toEqual(['alice@example.com']);
    const ok = await a.post('/auth/mfa/challenge').send({ method: 'email_otp', code: codeIn(mail.text) }).expect(200);
    expect(ok.body.aal).toBe(1);
    await a.get('/api/secure').expect(403);
    expect(t.audit).toBeDefined();
  });

  it('refuses a wrong, an expired, a reused and a cross-purpose email code', async () => {
    const a = agent(t);
    await login(a).expect(200);
    await enrolEmail(a);
    await a.post('/auth/logout').expect(204);
    t.clock.advance(60);
    await login(a).expect(200);
    await a.post('/auth/mfa/email/send').send({}).expect(202);
    const code = codeIn((await nextMail('code')).text);
    const wrong = code === '000000' ? '111111' : '000000';
    expectError(await a.post('/auth/mfa/challenge').send({ method: 'email_otp', code: wrong }), 'invalid_code', 401);
    t.clock.advance(601);
    expectError(await a.post('/auth/mfa/challenge').send({ method: 'email_otp', code }), 'challenge_expired', 410);
    // A fresh login: the old login's code is bound to the old pending login (ATK-12).
    await login(a).expect(200);
    expectError(await a.post('/auth/mfa/challenge').send({ method: 'email_otp', code }), 'invalid_code', 401);
    t.clock.advance(61);
    await a.post('/auth/mfa/email/send').send({}).expect(202);
    const fresh = codeIn((await nextMail('code')).text);
    await a.post('/auth/mfa/challenge').send({ method: 'email_otp', code: fresh }).expect(200);
    // The login code is useless for a step-up in the authenticated session (bound to purpose).
    expectError(await a.post('/auth/step-up').send({ method: 'email_otp', code: fresh }), 'invalid_code', 401);
  });

  it('caps sends with a cooldown and an hourly limit, answered 429 with Retry-After; the destination comes from the server', async () => {
    const a = agent(t);
    await login(a).expect(200);
    await enrolEmail(a);
    await a.post('/auth/logout').expect(204);
    t.clock.advance(60);
    await login(a).expect(200);
    expect((await a.post('/auth/mfa/email/send').send({ email: 'attacker@evil.test' })).status).toBe(400);
    await a.post('/auth/mfa/email/send').send({}).expect(202);
    const second = await a.post('/auth/mfa/email/send').send({});
    expectError(second, 'rate_limited', 429);
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(0);
    t.clock.advance(61);
    await a.post('/auth/mfa/email/send').send({}).expect(202);
    t.clock.advance(61);
    const capped = await a.post('/auth/mfa/email/send').send({});
    expectError(capped, 'rate_limited', 429);
    expect(sink.messages.every((m) => m.to.every((to) => to === 'alice@example.com'))).toBe(true);
  });

  it('enrols a phone through the signed webhook and logs in with an SMS code; a gateway failure is a 502', async () => {
    const a = agent(t);
    await login(a).expect(200);
    const { secret } = await enrolTotp(t, a); // TOTP first: adding SMS then needs a fresh step-up
    const enrol = await a.post('/auth/mfa/sms/enroll').send({ phone: '(202) 555-2671', country: 'US' }).expect(202);
    expect(enrol.body.sentTo).toBe('+1******2671');
    const hook = gateway.requests.at(-1)!;
    expect(hook.signatureValid).toBe(true);
    expect((hook.json as { to: string }).to).toBe('+12025552671');
    await a.post('/auth/mfa/sms/verify').send({ code: codeIn((hook.json as { text: string }).text) }).expect(200);
    const status = await a.get('/auth/mfa/status').expect(200);
    expect(status.body.methods.sms_otp).toMatchObject({ enabled: true, phone: '+1******2671' });
    expect(JSON.stringify(status.body)).not.toContain('2025552671');

    await a.post('/auth/logout').expect(204);
    t.clock.advance(61);
    await login(a).expect(200);
    gateway.mode = { kind: 'fail', status: 500 };
    expectError(await a.post('/auth/mfa/sms/send').send({}), 'delivery_failed', 502);
    gateway.mode = { kind: 'ok' };
    t.clock.advance(61);
    await a.post('/auth/mfa/sms/send').send({}).expect(202);
    const text = (gateway.requests.at(-1)!.json as { text: string }).text;
    const ok = await a.post('/auth/mfa/challenge').send({ method: 'sms_otp', code: codeIn(text) }).expect(200);
    expect(ok.body.aal).toBe(2);
    expect(secret).toBeTruthy();
  });

  it('shares one second-factor budget across methods and sessions, locks the account and tells the user by email', async () => {
    const a = agent(t);
    await login(a).expect(200);
    const { secret } = await enrolTotp(t, a);
    await a.post('/auth/logout').expect(204);
    const wrongTotp = (now: number) => (codeFor(secret, now) === '000000' ? '111111' : '000000');
    let locked: { status: number; headers: Record<string, string> } | undefined;
    for (let i = 0; i < 12 && !locked; i++) {
      const b = agent(t);
      await login(b).expect(200);
      const res =
        i % 2 === 0
          ? await b.post('/auth/mfa/challenge').send({ method: 'totp', code: wrongTotp(t.clock.now()) })
          : await b.post('/auth/mfa/challenge').send({ method: 'backup_code', code: 'aaaa-bbbb-cccc-dddd' });
      if (res.status === 423) locked = res;
      else expect(res.status).toBe(401);
    }
    const c = agent(t);
    await login(c).expect(200);
    t.clock.advance(30);
    const during = await c.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) });
    expectError(during, 'account_locked', 423);
    expect(Number(during.headers['retry-after'])).toBeGreaterThan(0);
    await nextMail(/lock/i);
    t.clock.advance(15 * 60 + 1);
    await login(c).expect(200);
    await c.post('/auth/mfa/challenge').send({ method: 'totp', code: codeFor(secret, t.clock.now()) }).expect(200);
    const secretValues = [secret, PASSWORD];
    for (const line of logs) for (const v of secretValues) expect(line).not.toContain(v);
    for (const m of sink.messages) if (!isCodeMail(m)) expect(m.text).not.toMatch(/\b\d{6}\b/);
  });

  it('refuses email as the first factor of an admin (MFA-38), who must enrol an authenticator or a phone', async () => {
    const tenant = (await t.tenants.findBySlug('acme'))!;
    await seedUser(t, tenant.id, 'boss@example.com', PASSWORD, ['admin']);
    const a = agent(t);
    const res = await a.post('/auth/login').send({ tenant: 'acme', email: 'boss@example.com', password: PASSWORD }).expect(200);
    expect(res.body.state).toBe('enrollment_required');
    expectError(await a.post('/auth/mfa/email/enroll').send({}), 'method_not_allowed', 403);
    expect(sink.messages).toHaveLength(0);
    await a.post('/auth/mfa/totp/enroll').send({}).expect(200);
  });
});
