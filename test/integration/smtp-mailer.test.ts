import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { codeMessage, securityNotice } from '../../lib/delivery/messages';
import { SmtpMailer } from '../../lib/delivery/smtp';
import { StepUpError } from '../../lib/errors';
import { OobCodes } from '../../lib/factors/oob';
import { MemoryEphemeralStore } from '../../lib/stores/ephemeral';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';

function capture() {
  const lines: string[] = [];
  const log = (m: string, fields?: Record<string, unknown>) => void lines.push(`${m} ${JSON.stringify(fields ?? {})}`);
  return { lines, logger: { info: log, warn: log, error: log } };
}

describe('SmtpMailer against a real SMTP server', () => {
  let sink: SmtpSink;
  let silent: Server;
  let silentPort: number;
  const sockets = new Set<Socket>();
  const { lines, logger } = capture();

  beforeAll(async () => {
    sink = await startSmtpSink();
    // Accepts TCP connections and never says a word: an SMTP server that hangs before its greeting.
    silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    silentPort = (silent.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await sink.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('delivers a code mail; the code read out of it verifies', async () => {
    let now = Date.now();
    const oob = new OobCodes({ store: new MemoryEphemeralStore(() => now), now: () => now, secret: randomBytes(32) });
    const slot = { tenantId: 't1', userId: 'u1', purpose: 'login' as const, channel: 'email' as const };
    const { code, expiresInSeconds } = await oob.issue({ ...slot, binding: 'p1', destination: 'alice@example.com' });

    const mailer = new SmtpMailer({ url: sink.url, from: '"Acme" <no-reply@acme.test>', timeoutMs: 5000, logger });
    await mailer.send({ to: 'alice@example.com', ...codeMessage({ purpose: 'login', code, minutes: expiresInSeconds / 60, appName: 'Acme ✓' }) });

    const mail = await sink.waitFor((m) => m.to.includes('alice@example.com'));
    expect(mail.from).toBe('no-reply@acme.test');
    expect(mail.subject).toBe('Acme ✓: Your sign-in code');
    expect(mail.headers['content-type']).toMatch(/^multipart\/alternative/);
    const fromText = /\b(\d{6})\b/.exec(mail.text)?.[1];
    const fromHtml = /<strong[^>]*>(\d{6})<\/strong>/.exec(mail.html)?.[1];
    expect(fromText).toBe(code);
    expect(fromHtml).toBe(code);
    expect(mail.text).toContain('Nobody from Acme ✓ will ever ask you for this code');
    now += 1000;
    expect(await oob.verify({ ...slot, binding: 'p1', code: fromText! })).toBe('ok');
  });

  it('delivers a security notice with no code in it', async () => {
    const mailer = new SmtpMailer({ url: sink.url, from: 'no-reply@acme.test', logger });
    await mailer.send({ to: 'bob@example.com', ...securityNotice({ event: 'backup_code_used', remaining: 9, appName: 'Acme' }) });
    const mail = await sink.waitFor((m) => m.to.includes('bob@example.com'));
    expect(mail.subject).toBe('Acme: A backup code was used (9 left)');
    expect(mail.text).toContain('Not you? Contact your administrator');
    expect(mail.text).not.toMatch(/\b\d{6}\b/);
  });

  it('a refused connection is delivery_failed, quickly, and logged without the code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const mailer = new SmtpMailer({ url: `smtp://127.0.0.1:${port}`, from: 'no-reply@acme.test', timeoutMs: 2000, logger });
    const err = await mailer.send({ to: 'carol@example.com', ...codeMessage({ purpose: 'login', code: '271828', minutes: 10, appName: 'A' }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepUpError);
    expect((err as StepUpError).code).toBe('delivery_failed');
    expect(lines.join('\n')).toMatch(/ESOCKET|ECONNECTION/);
    expect(lines.join('\n')).not.toMatch(/271828|carol/);
  });

  it('a server that never greets is delivery_failed after timeoutMs', async () => {
    const mailer = new SmtpMailer({ url: `smtp://127.0.0.1:${silentPort}`, from: 'no-reply@acme.test', timeoutMs: 300, logger });
    const started = Date.now();
    await expect(mailer.send({ to: 'dave@example.com', subject: 's', text: 't', html: 'h' })).rejects.toMatchObject({ code: 'delivery_failed' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
