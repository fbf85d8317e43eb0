import { randomId } from '../crypto/codes';
import type { MailMessage, Mailer, SmsMessage, SmsSender } from './ports';

export interface OutboxEntry {
  id: string;
  channel: 'email' | 'sms';
  to: string;
  /** Email only. */
  subject?: string;
  text: string;
  /** Email only. */
  html?: string;
  at: Date;
}

/**
 * A Mailer and SmsSender that keeps the last `capacity` messages in memory, for the example app's
 * /dev/outbox page and tests. It holds codes in clear by design: never use it in production.
 *
 * @example
 * const outbox = new DevOutbox({ capacity: 50 });
 * await outbox.send({ to: '+12025552671', text: 'hi' });
 * outbox.list()[0].channel // 'sms'
 */
export class DevOutbox implements Mailer, SmsSender {
  private readonly entries: OutboxEntry[] = [];
  private readonly capacity: number;
  private readonly now: () => number;

  constructor(options: { capacity?: number; now?: () => number } = {}) {
    const capacity = options.capacity ?? 50;
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError('DevOutbox: `capacity` must be a positive integer');
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('DevOutbox: `now` must be a function');
    this.capacity = capacity;
    this.now = options.now ?? Date.now;
  }

  /** Email when the message has a subject, SMS otherwise. */
  async send(msg: MailMessage | SmsMessage): Promise<void> {
    const base = { id: randomId(8), to: msg.to, text: msg.text, at: new Date(this.now()) };
    const entry: OutboxEntry = 'subject' in msg ? { ...base, channel: 'email', subject: msg.subject, html: msg.html } : { ...base, channel: 'sms' };
    this.entries.unshift(entry);
    if (this.entries.length > this.capacity) this.entries.length = this.capacity;
  }

  /** Newest first; optionally only the messages to one recipient. Copies, so callers cannot edit the outbox. */
  list(filter: { to?: string; channel?: 'email' | 'sms' } = {}): OutboxEntry[] {
    return this.entries
      .filter((e) => (filter.to === undefined || e.to === filter.to) && (filter.channel === undefined || e.channel === filter.channel))
      .map((e) => ({ ...e, at: new Date(e.at) }));
  }

  clear(): void {
    this.entries.length = 0;
  }
}
