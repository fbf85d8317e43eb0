import type * as Nodemailer from 'nodemailer';
import type SMTPTransportType from 'nodemailer/lib/smtp-transport';
import { StepUpError } from '../errors';
import { silentLogger, type Logger, type MailMessage, type Mailer } from './ports';

/** The part of a nodemailer transporter this adapter uses (injectable for tests). */
export interface MailTransport {
  sendMail(mail: { from: string; to: string; subject: string; text: string; html: string }): Promise<unknown>;
  close?(): void;
}

export interface SmtpMailerOptions {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://host:465` (implicit TLS). */
  url: string;
  /** The From header, e.g. `"Acme" <no-reply@acme.test>`. */
  from: string;
  /** Bound on connecting, the greeting, each socket wait and the whole send. Default 10000. */
  timeoutMs?: number;
  logger?: Logger;
  /** Replaces the transport built from `url` (tests). */
  transport?: MailTransport;
}

/** nodemailer is loaded here, on first use: hosts without SMTP never pay for it at `require()` time. */
function smtpTransport(url: string, timeoutMs: number): MailTransport {
  const { createTransport } = require('nodemailer') as typeof Nodemailer;
  const SMTPTransport = require('nodemailer/lib/smtp-transport') as typeof SMTPTransportType;
  return createTransport(new SMTPTransport({ url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs, dnsTimeout: timeoutMs }));
}

/**
 * A Mailer over SMTP through nodemailer. A failure or a timeout throws `StepUpError('delivery_failed')`;
 * it is logged with the transport's error code only, never the message (which may hold a code) or the
 * recipient. There is no retry: the caller's send limits decide when another attempt is allowed.
 *
 * @example new SmtpMailer({ url: 'smtp://mail.acme.test:587', from: 'no-reply@acme.test' })
 */
export class SmtpMailer implements Mailer {
  private readonly transport: MailTransport;
  private readonly from: string;
  private readonly timeoutMs: number;
  private readonly logger: Logger;

  constructor(options: SmtpMailerOptions) {
    const { url, from, timeoutMs = 10_000, logger = silentLogger, transport } = options ?? ({} as SmtpMailerOptions);
    if (!transport && (typeof url !== 'string' || !/^smtps?:\/\/[^/\s]+/i.test(url))) throw new TypeError('SmtpMailer: `url` must be an smtp:// or smtps:// URL');
    if (typeof from !== 'string' || !from.includes('@') || /[\r\n]/.test(from)) throw new TypeError('SmtpMailer: `from` must be an email address');
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new TypeError('SmtpMailer: `timeoutMs` must be a positive integer');
    this.from = from;
    this.timeoutMs = timeoutMs;
    this.logger = logger;
    this.transport = transport ?? smtpTransport(url, timeoutMs);
  }

  async send(msg: MailMessage): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), this.timeoutMs);
    });
    try {
      await Promise.race([this.transport.sendMail({ from: this.from, to: msg.to, subject: msg.subject, text: msg.text, html: msg.html }), deadline]);
    } catch (err) {
      const e = err as { code?: unknown; responseCode?: unknown };
      this.logger.warn('mail delivery failed', {
        channel: 'email',
        reason: typeof e?.code === 'string' ? e.code : 'error',
        responseCode: typeof e?.responseCode === 'number' ? e.responseCode : undefined,
      });
      throw new StepUpError('delivery_failed');
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes pooled connections, if any. */
  close(): void {
    this.transport.close?.();
  }
}
