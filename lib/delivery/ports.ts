/** An email to send. `html` and `text` carry the same content. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * Sends email. Implementations throw `StepUpError('delivery_failed')` when the message could not be
 * handed over, and never put the message body (which may hold a code) in an error or a log line.
 */
export interface Mailer {
  send(msg: MailMessage): Promise<void>;
}

/** An SMS to send; `to` is E.164 (`+12025552671`). */
export interface SmsMessage {
  to: string;
  text: string;
}

/** Sends SMS; same failure contract as `Mailer`. */
export interface SmsSender {
  send(msg: SmsMessage): Promise<void>;
}

/** The logger shape every part of the plugin takes: fields are non-secret, structured values. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
