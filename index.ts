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
export type { StepUpOptions, Logger } from './lib/config';
export type { Lifecycle, LifecycleOptions } from './lib/account/index';
export type { Mailer, SmsSender, MailMessage, SmsMessage } from './lib/delivery/ports';
export { SmtpMailer, WebhookSmsSender, DevOutbox, verifyWebhookSignature, signWebhook, type OutboxEntry } from './lib/delivery';
export { StepUpError, ERROR_TABLE, type ErrorCode } from './lib/errors';
export * as errors from './lib/errors';
export type { MfaSession, MfaState, PendingLogin } from './lib/state/machine';
export type { RequireAuthOptions, RequireStepUpOptions } from './routes/guards';
export type { UserStore, TenantStore, AuditStore } from './lib/stores/ports';
export { MemoryUserStore, MemoryTenantStore, MemoryAuditStore } from './lib/stores/memory';
export { MongooseUserStore, MongooseTenantStore, MongooseAuditStore, createMongooseStores } from './lib/stores/mongoose';
export type { EphemeralStore } from './lib/stores/ephemeral';
export { createRealtime, REALTIME_CLOSE_CODES } from './lib/realtime';
export type { Realtime, RealtimeOptions, SyncStatusPayload, NotificationPayload, NotificationTarget } from './lib/realtime';
export { SecretBox, type KeyRingEntry } from './lib/crypto/secretbox';
export { PasswordStrategy } from './strategies/password';
export { TotpStrategy } from './strategies/totp';
export { BackupCodeStrategy } from './strategies/backup-code';
export { EmailOtpStrategy } from './strategies/email-otp';
export { SmsOtpStrategy } from './strategies/sms-otp';
export type {
  Method,
  Role,
  TenantPolicy,
  TenantRecord,
  UserRecord,
  StepUpUser,
  AuditEvent,
} from './lib/types';
export { DEFAULT_POLICY, METHODS } from './lib/types';
export type { BootstrapResult } from './lib/admin/actions';
