import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { smsCodeText } from '../../lib/delivery/messages';
import { WebhookSmsSender } from '../../lib/delivery/webhook';
import { StepUpError } from '../../lib/errors';
import { OobCodes } from '../../lib/factors/oob';
import { MemoryEphemeralStore } from '../../lib/stores/ephemeral';
import { startSmsGateway, type SmsGateway } from '../helpers/sms-gateway';

const SECRET = randomBytes(32).toString('hex');

function capture() {
  const lines: string[] = [];
  const log = (m: string, fields?: Record<string, unknown>) => void lines.push(`${m} ${JSON.stringify(fields ?? {})}`);
  return { lines, logger: { info: log, warn: log, error: log } };
}

describe('WebhookSmsSender against a local HTTP gateway', () => {
  let gw: SmsGateway;
  const { lines, logger } = capture();

  beforeAll(async () => {
    gw = await startSmsGateway(SECRET);
  });
  afterAll(async () => {
    await gw.close();
  });
  beforeEach(() => {
    gw.mode = { kind: 'ok' };
    gw.requests.length = 0;
    lines.length = 0;
  });

  it('delivers a signed webhook the gateway verifies; the code in it verifies', async () => {
    const now = Date.now();
    const oob = new OobCodes({ store: new MemoryEphemeralStore(() => now), now: () => now, secret: randomBytes(32) });
    const slot = { tenantId: 't1', userId: 'u1', purpose: 'step_up' as const, channel: 'sms' as const };
    const { code } = await oob.issue({ ...slot, binding: 's1', destination: '+12025552671' });

    const sender = new WebhookSmsSender({ url: gw.url, secret: SECRET, timeoutMs: 2000, logger });
    await sender.send({ to: '+12025552671', text: smsCodeText({ purpose: 'step_up', code, minutes: 10, appName: 'Acme' }) });

    expect(gw.requests).toHaveLength(1);
    const req = gw.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/sms');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.signatureValid).toBe(true);
    const json = req.json as { to: string; text: string; id: string; sentAt: string };
    expect(json.to).toBe('+12025552671');
    expect(typeof json.id).toBe('string');
    expect(Number.isNaN(Date.parse(json.sentAt))).toBe(false);
    const received = /\b(\d{6})\b/.exec(json.text)![1]!;
    expect(await oob.verify({ ...slot, binding: 's1', code: received })).toBe('ok');
    expect(lines).toEqual([]);
  });

  it('a gateway with another secret rejects the signature', async () => {
    const sender = new WebhookSmsSender({ url: gw.url, secret: 'not-the-gateway-secret-000', logger });
    await sender.send({ to: '+12025552671', text: 'x' });
    expect(gw.requests[0]!.signatureValid).toBe(false);
  });

  it('a 500 answer is delivery_failed, with one request only (no retry)', async () => {
    gw.mode = { kind: 'fail', status: 500 };
    const sender = new WebhookSmsSender({ url: gw.url, secret: SECRET, logger });
    const err = await sender.send({ to: '+12025552671', text: 'code 112358' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepUpError);
    expect((err as StepUpError).code).toBe('delivery_failed');
    expect(gw.requests).toHaveLength(1);
    expect(lines.join('\n')).toContain('status_500');
    expect(lines.join('\n')).not.toMatch(/112358|2025552671/);
  });

  it('a gateway hanging past timeoutMs is delivery_failed quickly', async () => {
    gw.mode = { kind: 'hang' };
    const sender = new WebhookSmsSender({ url: gw.url, secret: SECRET, timeoutMs: 200, logger });
    const started = Date.now();
    await expect(sender.send({ to: '+12025552671', text: 'code 132134' })).rejects.toMatchObject({ code: 'delivery_failed' });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(gw.requests).toHaveLength(1);
    expect(lines.join('\n')).toContain('timeout');
  });

  it('an unreachable gateway is delivery_failed', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const sender = new WebhookSmsSender({ url: `http://127.0.0.1:${port}/sms`, secret: SECRET, timeoutMs: 2000, logger });
    await expect(sender.send({ to: '+12025552671', text: 'x' })).rejects.toMatchObject({ code: 'delivery_failed' });
    expect(lines.join('\n')).toContain('ECONNREFUSED');
  });
});
