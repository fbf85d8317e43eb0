import net from 'node:net';
import { SmtpMailer, type MailTransport } from '../../lib/delivery/smtp';
import { StepUpError } from '../../lib/errors';

const msg = { to: 'alice@example.com', subject: 'Acme: Your sign-in code', text: 'code 246810', html: '<p>246810</p>' };

function logger() {
  const lines: string[] = [];
  const log = (m: string, fields?: Record<string, unknown>) => void lines.push(`${m} ${JSON.stringify(fields ?? {})}`);
  return { lines, logger: { info: log, warn: log, error: log } };
}

describe('SmtpMailer', () => {
  it('hands the message to the transport with the configured From', async () => {
    const sent: unknown[] = [];
    const transport: MailTransport = { sendMail: async (m) => void sent.push(m) };
    await new SmtpMailer({ url: 'smtp://localhost:2525', from: 'no-reply@acme.test', transport }).send(msg);
    expect(sent).toEqual([{ from: 'no-reply@acme.test', ...msg }]);
  });

  it('turns a transport error into delivery_failed and logs it without code, body or recipient', async () => {
    const { lines, logger: log } = logger();
    const transport: MailTransport = {
      sendMail: async () => {
        throw Object.assign(new Error('550 rejected: code 246810 for alice@example.com'), { code: 'EENVELOPE', responseCode: 550 });
      },
    };
    const mailer = new SmtpMailer({ url: 'smtp://localhost:2525', from: 'no-reply@acme.test', transport, logger: log });
    const err = await mailer.send(msg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepUpError);
    expect((err as StepUpError).code).toBe('delivery_failed');
    expect((err as StepUpError).message).not.toMatch(/246810|alice/);
    expect(lines).toEqual(['mail delivery failed {"channel":"email","reason":"EENVELOPE","responseCode":550}']);
  });

  it('bounds a hanging transport by timeoutMs', async () => {
    const transport: MailTransport = { sendMail: () => new Promise(() => undefined) };
    const mailer = new SmtpMailer({ url: 'smtp://localhost:2525', from: 'no-reply@acme.test', transport, timeoutMs: 30 });
    const started = Date.now();
    await expect(mailer.send(msg)).rejects.toMatchObject({ code: 'delivery_failed' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it.each([
    ['url', { url: 'http://mail.test' }],
    ['url', { url: undefined }],
    ['from', { from: 'nobody' }],
    ['from', { from: 'a@b.test\r\nBcc: x@evil.test' }],
    ['timeoutMs', { timeoutMs: -5 }],
  ])('a bad %s throws a TypeError naming it', (name, bad) => {
    expect(() => new SmtpMailer({ url: 'smtps://mail.test:465', from: 'a@b.test', ...(bad as object) } as never)).toThrow(new RegExp(`\`${name}\``));
  });

  it('builds a transport from an smtp:// URL without connecting', async () => {
    // A listening port that counts connections: building (and closing) the mailer opens none.
    let connections = 0;
    const server = net.createServer((sock) => {
      connections += 1;
      sock.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    const mailer = new SmtpMailer({ url: `smtp://user:pass@127.0.0.1:${port}`, from: 'a@b.test' });
    await new Promise((r) => setImmediate(r));
    mailer.close();
    await new Promise<void>((r) => server.close(() => r()));
    expect(connections).toBe(0);
  });
});
