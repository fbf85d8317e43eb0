export type { Logger, MailMessage, Mailer, SmsMessage, SmsSender } from './ports';
export { silentLogger } from './ports';
export { SmtpMailer, type SmtpMailerOptions, type MailTransport } from './smtp';
export { WebhookSmsSender, verifyWebhookSignature, signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER, type WebhookSmsSenderOptions } from './webhook';
export { DevOutbox, type OutboxEntry } from './outbox';
export { codeMessage, smsCodeText, securityNotice, escapeHtml, SECURITY_EVENTS, type SecurityEvent, type CodePurpose, type MailContent } from './messages';
