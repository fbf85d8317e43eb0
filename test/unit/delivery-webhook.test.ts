import { createHmac } from 'node:crypto';
import { WebhookSmsSender, signWebhook, verifyWebhookSignature } from '../../lib/delivery/webhook';
import { StepUpError } from '../../lib/errors';

const SECRET = 'whsec-0123456789abcdef';
const NOW = Date.UTC(2030, 0, 1, 12);

interface Call {
  url: string;
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal };
}

function fakeFetch(answer: (call: Call) => Promise<{ ok: boolean; status: number }>) {
  const calls: Call[] = [];
  const fetch = (url: string, init: Call['init']) => {
    calls.push({ url, init });
    return answer({ url, init });
  };
  return { fetch, calls };
}

function capture() {
  const lines: string[] = [];
  const log = (msg: string, fields?: Record<string, unknown>) => void lines.push(`${msg} ${JSON.stringify(fields ?? {})}`);
  return { lines, logger: { info: log, warn: log, error: log } };
}

async function deliveryFailed(p: Promise<unknown>): Promise<StepUpError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StepUpError);
  expect((err as StepUpError).code).toBe('delivery_failed');
  expect((err as StepUpError).status).toBe(502);
  return err as StepUpError;
}

describe('verifyWebhookSignature', () => {
  const body = '{"to":"+12025552671","text":"hi"}';
  const ts = 1_900_000_000;
  const header = `v1=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`;

  it('accepts the HMAC-SHA256 of "<timestamp>.<rawBody>"', () => {
    expect(signWebhook(SECRET, ts, body)).toBe(header);
    expect(verifyWebhookSignature(SECRET, String(ts), body, header, ts + 10)).toBe(true);
    expect(verifyWebhookSignature(SECRET, ts, Buffer.from(body), header, ts)).toBe(true);
  });

  it('accepts any of several comma-separated signatures (secret rotation)', () => {
    expect(verifyWebhookSignature(SECRET, ts, body, `v1=${'0'.repeat(64)}, ${header}`, ts)).toBe(true);
  });

  it.each([
    ['another body', ts, body.replace('hi', 'ho'), header, ts],
    ['another timestamp', ts + 1, body, header, ts],
    ['another secret', ts, body, signWebhook('other-secret-0123456', ts, body), ts],
    ['a timestamp too old', ts, body, header, ts + 301],
    ['a timestamp in the future', ts, body, header, ts - 301],
    ['no header', ts, body, undefined, ts],
    ['no timestamp', undefined, body, header, ts],
    ['a non-numeric timestamp', '1e9', body, header, ts],
    ['a bare hex signature', ts, body, header.slice(3), ts],
  ])('refuses %s', (_name, t, b, h, now) => {
    expect(verifyWebhookSignature(SECRET, t as string, b, h as string | undefined, now)).toBe(false);
  });

  it('honours a custom tolerance', () => {
    expect(verifyWebhookSignature(SECRET, ts, body, header, ts + 30, 10)).toBe(false);
  });
});

describe('WebhookSmsSender', () => {
  it('POSTs a signed JSON body {to, text, id, sentAt}', async () => {
    const { fetch, calls } = fakeFetch(async () => ({ ok: true, status: 202 }));
    const sender = new WebhookSmsSender({ url: 'https://sms.example.test/send', secret: SECRET, fetch, now: () => NOW });
    await sender.send({ to: '+12025552671', text: 'Acme: your sign-in code is 123456.' });
    expect(calls).toHaveLength(1);
    const { url, init } = calls[0]!;
    expect(url).toBe('https://sms.example.test/send');
    expect(init.method).toBe('POST');
    expect(init.headers['Content-Type']).toBe('application/json');
    const json = JSON.parse(init.body);
    expect(json).toEqual({ to: '+12025552671', text: 'Acme: your sign-in code is 123456.', id: expect.any(String), sentAt: new Date(NOW).toISOString() });
    expect(init.headers['X-StepUp-Timestamp']).toBe(String(NOW / 1000));
    expect(verifyWebhookSignature(SECRET, init.headers['X-StepUp-Timestamp'], init.body, init.headers['X-StepUp-Signature'], NOW / 1000)).toBe(true);
  });

  it('gives every message its own id', async () => {
    const { fetch, calls } = fakeFetch(async () => ({ ok: true, status: 200 }));
    const sender = new WebhookSmsSender({ url: 'http://127.0.0.1:1/x', secret: SECRET, fetch });
    await sender.send({ to: '+12025552671', text: 'a' });
    await sender.send({ to: '+12025552671', text: 'a' });
    expect(JSON.parse(calls[0]!.init.body).id).not.toBe(JSON.parse(calls[1]!.init.body).id);
  });

  it('a non-2xx answer is delivery_failed, logged without the code or the number, and not retried', async () => {
    const { fetch, calls } = fakeFetch(async () => ({ ok: false, status: 500 }));
    const { lines, logger } = capture();
    const sender = new WebhookSmsSender({ url: 'http://gw.test/x', secret: SECRET, fetch, logger });
    const err = await deliveryFailed(sender.send({ to: '+12025552671', text: 'code 654321' }));
    expect(err.message).not.toContain('654321');
    expect(calls).toHaveLength(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('status_500');
    expect(lines.join('\n')).not.toMatch(/654321|2025552671|whsec/);
  });

  it('a network error is delivery_failed', async () => {
    const { fetch } = fakeFetch(async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    });
    const { lines, logger } = capture();
    await deliveryFailed(new WebhookSmsSender({ url: 'http://gw.test/x', secret: SECRET, fetch, logger }).send({ to: '+1', text: 't' }));
    expect(lines[0]).toContain('ECONNREFUSED');
  });

  it('aborts at timeoutMs and answers delivery_failed', async () => {
    const { fetch } = fakeFetch(
      ({ init }) =>
        new Promise((_, reject) => {
          init.signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
        }),
    );
    const { lines, logger } = capture();
    const sender = new WebhookSmsSender({ url: 'http://gw.test/x', secret: SECRET, fetch, timeoutMs: 50, logger });
    const started = Date.now();
    await deliveryFailed(sender.send({ to: '+12025552671', text: 't' }));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(lines[0]).toContain('timeout');
  });

  it.each([
    ['url', { url: 'ftp://gw.test/x' }],
    ['url', { url: 'not a url' }],
    ['secret', { secret: 'short' }],
    ['secret', { secret: 42 }],
    ['timeoutMs', { timeoutMs: 0 }],
    ['fetch', { fetch: 'nope' }],
    ['now', { now: 1 }],
  ])('a bad %s throws a TypeError naming it', (name, bad) => {
    const base = { url: 'https://gw.test/x', secret: SECRET, fetch: async () => ({ ok: true, status: 200 }) };
    expect(() => new WebhookSmsSender({ ...base, ...(bad as object) } as never)).toThrow(new RegExp(`\`${name}\``));
  });
});
