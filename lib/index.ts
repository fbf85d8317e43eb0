/**
 * passport-stepup: multi-factor authentication for Express + Passport.
 *
 * @example
 * const stepUp = createStepUp({ issuer: 'Acme', session: { secret }, keys: [{ id: 'k1', key }],
 *   stores: { users: new MemoryUserStore(), tenants: new MemoryTenantStore() }, redis });
 * app.use(stepUp.session);
 * app.use('/auth', stepUp.router);
 * app.get('/api/profile', stepUp.requireAuth({ aal: 2 }), (req, res) => res.json(req.user));
 */
export { createStepUp, type StepUp } from './stepup';
export type { StepUpOptions, Logger } from './config';
export type { Lifecycle, LifecycleOptions } from './lifecycle';
export type { Mailer, SmsSender, MailMessage, SmsMessage } from './delivery/ports';
export { SmtpMailer, WebhookSmsSender, DevOutbox, verifyWebhookSignature, signWebhook, type OutboxEntry } from './delivery';
export { StepUpError, ERROR_TABLE, type ErrorCode } from './errors';
export * as errors from './errors';
export type { MfaSession, MfaState, PendingLogin } from './state';
export type { RequireAuthOptions, RequireStepUpOptions } from './guards';
export type { UserStore, TenantStore, AuditStore } from './stores/ports';
export { MemoryUserStore, MemoryTenantStore, MemoryAuditStore } from './stores/memory';
export { MongooseUserStore, MongooseTenantStore, MongooseAuditStore, createMongooseStores } from './stores/mongoose';
export type { EphemeralStore } from './stores/ephemeral';
export { createRealtime, REALTIME_CLOSE_CODES } from './realtime';
export type { Realtime, RealtimeOptions, SyncStatusPayload, NotificationPayload, NotificationTarget } from './realtime';
export { SecretBox, type KeyRingEntry } from './crypto/secretbox';
export { PasswordStrategy } from '../strategies/password';
export { TotpStrategy } from '../strategies/totp';
export { BackupCodeStrategy } from '../strategies/backup-code';
export { EmailOtpStrategy } from '../strategies/email-otp';
export { SmsOtpStrategy } from '../strategies/sms-otp';
export type {
  Method,
  Role,
  TenantPolicy,
  TenantRecord,
  UserRecord,
  StepUpUser,
  AuditEvent,
} from './types';
export { DEFAULT_POLICY, METHODS } from './types';
export type { BootstrapResult } from './admin';
