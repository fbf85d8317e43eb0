import { createHmac } from 'node:crypto';
import { safeEqual } from '../crypto/compare';
import { randomId } from '../crypto/codes';
import { StepUpError } from '../errors';
import { silentLogger, type Logger, type SmsMessage, type SmsSender } from './ports';

export const SIGNATURE_HEADER = 'X-StepUp-Signature';
export const TIMESTAMP_HEADER = 'X-StepUp-Timestamp';

type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  body?: unknown;
  arrayBuffer?: () => Promise<ArrayBuffer>;
}>;

export interface WebhookSmsSenderOptions {
  /** The gateway endpoint (http or https). */
  url: string;
  /** Shared secret for the HMAC signature (at least 16 bytes). */
  secret: string | Buffer;
  /** Bound on the whole request. Default 5000. */
  timeoutMs?: number;
  /** Defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** Milliseconds clock for the timestamp. Default `Date.now`. */
  now?: () => number;
  logger?: Logger;
}

/** `v1=<hex HMAC-SHA256(secret, "<timestamp>.<rawBody>")>`. */
export function signWebhook(secret: string | Buffer, timestamp: number | string, rawBody: string | Buffer): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

/**
 * Checks a webhook's signature header (one or more comma-separated `v1=` values, for secret rotation)
 * against the raw body, and that the timestamp is within `toleranceSeconds` of `nowSeconds` (replays).
 *
 * @example verifyWebhookSignature(secret, req.headers['x-stepup-timestamp'], rawBody, req.headers['x-stepup-signature'], Date.now() / 1000)
 */
export function verifyWebhookSignature(
  secret: string | Buffer,
  timestamp: string | number | undefined,
  rawBody: string | Buffer,
  header: string | undefined,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const ts = String(timestamp ?? '');
  if (!/^[0-9]{1,12}$/.test(ts) || typeof header !== 'string' || header.length > 1024) return false;
  if (Math.abs(Math.floor(nowSeconds) - Number(ts)) > toleranceSeconds) return false;
  const expected = signWebhook(secret, ts, rawBody);
  // Compare every candidate (no early exit), each through the one constant-time helper.
  let ok = false;
  for (const candidate of header.split(',')) ok = safeEqual(candidate.trim(), expected) || ok;
  return ok;
}

/**
 * An SmsSender that POSTs `{to, text, id, sentAt}` as JSON to any gateway, signed with
 * `X-StepUp-Timestamp` and `X-StepUp-Signature`. A non-2xx answer, a network error or the timeout
 * throws `StepUpError('delivery_failed')`. Zero retries: a timed-out request may still have been
 * delivered, and a retry would send a second SMS (cost, confusion); `id` lets a gateway drop duplicates.
 *
 * @example new WebhookSmsSender({ url: 'https://sms.acme.test/send', secret: process.env.SMS_SECRET! })
 */
export class WebhookSmsSender implements SmsSender {
  private readonly url: string;
  private readonly secret: string | Buffer;
  private readonly timeoutMs: number;
  private readonly fetch: FetchLike;
  private readonly now: () => number;
  private readonly logger: Logger;

  constructor(options: WebhookSmsSenderOptions) {
    const { url, secret, timeoutMs = 5000, now = Date.now, logger = silentLogger } = options ?? ({} as WebhookSmsSenderOptions);
    let parsed: URL | null = null;
    try {
      parsed = new URL(url);
    } catch {
      /* reported below */
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) throw new TypeError('WebhookSmsSender: `url` must be an http(s) URL');
    if (!(typeof secret === 'string' || Buffer.isBuffer(secret)) || Buffer.byteLength(secret) < 16) {
      throw new TypeError('WebhookSmsSender: `secret` must be a string or Buffer of at least 16 bytes');
    }
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new TypeError('WebhookSmsSender: `timeoutMs` must be a positive integer');
    const f = options.fetch ?? (globalThis.fetch as unknown as FetchLike | undefined);
    if (typeof f !== 'function') throw new TypeError('WebhookSmsSender: `fetch` must be a function (no global fetch found)');
    if (typeof now !== 'function') throw new TypeError('WebhookSmsSender: `now` must be a function');
    this.url = url;
    this.secret = secret;
    this.timeoutMs = timeoutMs;
    this.fetch = f;
    this.now = now;
    this.logger = logger;
  }

  async send(msg: SmsMessage): Promise<void> {
    const nowMs = this.now();
    const id = randomId(12);
    const body = JSON.stringify({ to: msg.to, text: msg.text, id, sentAt: new Date(nowMs).toISOString() });
    const timestamp = Math.floor(nowMs / 1000);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    let reason: string;
    try {
      const res = await this.fetch(this.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhook(this.secret, timestamp, body),
        },
        body,
        signal: controller.signal,
      });
      // Drain the body so the connection is released; its content is never read or logged.
      await res.arrayBuffer?.().catch(() => undefined);
      if (res.ok) return;
      reason = `status_${res.status}`;
    } catch (err) {
      // undici reports network errors as `TypeError('fetch failed')` with the system error as `cause`.
      const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
      const code = e?.code ?? e?.cause?.code;
      reason = controller.signal.aborted ? 'timeout' : typeof code === 'string' ? code : 'network_error';
    } finally {
      clearTimeout(timer);
    }
    this.logger.warn('sms delivery failed', { channel: 'sms', reason, messageId: id });
    throw new StepUpError('delivery_failed');
  }
}
