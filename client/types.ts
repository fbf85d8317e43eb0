/**
 * The JSON the plugin's routes answer (docs: the HTTP contract in README / docs/openapi.json).
 * Types only: this module has no runtime code, so it costs nothing in a bundle.
 */

export type Method = 'webauthn' | 'totp' | 'backup_code' | 'email_otp' | 'sms_otp';
/** The methods that take a typed code (the challenge and step-up routes). */
export type CodeMethod = Exclude<Method, 'webauthn'>;
export type Channel = 'email' | 'sms';
export type Role = 'user' | 'admin' | 'superadmin';

export interface SessionUser {
  id: string;
  tenantId: string;
  /** The tenant's slug. */
  tenant: string;
  email: string;
  name?: string;
  roles: string[];
}

export type SessionState = 'anonymous' | 'verification_required' | 'mfa_required' | 'enrollment_required' | 'authenticated';

/** `GET /auth/session`. */
export interface SessionView {
  state: SessionState;
  /** Authenticated: methods verified in this session, in order. */
  amr?: Method[];
  /** Authenticated: whether the last factor was a passkey (what `requireAuth({ phishingResistant })` checks). */
  phishing_resistant?: boolean;
  aal?: 1 | 2;
  user?: SessionUser;
  methods?: Method[];
  mfaVerifiedAt?: string | null;
  /** ISO time when a pending state (password verified, factor not yet) ends. */
  expiresAt?: string;
  /** ISO time until which a user without a factor may still sign in with the password alone. */
  enrollmentDeadline?: string;
  /** `mfa_required`: the challenge may offer "Remember this browser for N days" (absent when the tenant does not allow it). */
  rememberDeviceDays?: number;
}

/** `POST /auth/mfa/challenge` may ask to remember this browser (when `rememberDeviceDays` was offered). */
export interface ChallengeInput extends CodeInput {
  remember?: boolean;
}

/** One entry of `GET /auth/sessions` (the id is opaque, never the session id). */
export interface SessionEntry {
  id: string;
  current: boolean;
  state: SessionState;
  createdAt: string;
  lastSeenAt: string;
  ip: string | null;
  /** "Chrome on Linux". */
  userAgent: string;
  aal: 1 | 2 | null;
  /** Factors used in the session; `remembered_device` when a remembered browser stood in for the factor. */
  methods: string[];
}

export interface SessionList {
  sessions: SessionEntry[];
  /** More sessions exist than one answer lists. */
  truncated: boolean;
}

/** One remembered browser (`GET /auth/devices`). */
export interface RememberedDevice {
  id: string;
  label: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string;
  /** This browser. */
  current: boolean;
}

export interface DeviceList {
  devices: RememberedDevice[];
  rememberDeviceDays: number;
}

/** `POST /auth/login`. */
export type LoginResponse =
  | { state: 'authenticated'; aal: 1; user: SessionUser; enrollmentDeadline?: string }
  /** A remembered browser stood in for the second factor (aal 2, but no factor proof: step-ups still ask). */
  | { state: 'authenticated'; aal: 2; user: SessionUser; amr: ['remembered_device']; rememberedDevice: true }
  /** `rememberDeviceDays`: the challenge may offer "Remember this browser for N days". */
  | { state: 'mfa_required' | 'enrollment_required'; methods: Method[]; expiresAt: string; rememberDeviceDays?: number }
  | { state: 'verification_required'; expiresAt: string };

export interface LoginInput {
  /** Optional when the plugin runs with a `defaultTenant`. */
  tenant?: string;
  email: string;
  password: string;
}

export interface CodeInput {
  method: CodeMethod;
  code: string;
}

/** `POST /auth/mfa/challenge`. */
export interface ChallengeResponse {
  state: 'authenticated';
  aal: 1 | 2;
  user: SessionUser;
  /** Methods verified in this session, in order. */
  amr?: Method[];
  /** The last factor was a passkey. */
  phishing_resistant?: boolean;
  /** Set when `remember: true` was asked and the tenant allows it: this browser is remembered until `expiresAt`. */
  rememberedDevice?: { id: string; expiresAt: string };
}

/** `POST /auth/mfa/{email,sms}/send`, `/enroll`, `POST /auth/verify-email/resend`: 202. */
export interface CodeSent {
  /** Masked destination: `a***@e***.com`, `+1******2671`. */
  sentTo: string;
  /** Seconds the code (or link) stays valid. */
  expiresIn: number;
}

/** `POST /auth/step-up`. */
export interface StepUpResponse {
  aal: 1 | 2;
  mfaVerifiedAt: string;
  amr?: Method[];
  phishing_resistant?: boolean;
}

/** `POST /auth/mfa/totp/enroll`: not active until a code confirms it. */
export interface TotpEnrolment {
  secret: string;
  otpauthUrl: string;
  /** `data:image/png;base64,...` */
  qrCode: string;
}

/** `POST /auth/mfa/{totp,email,sms}/verify`: the first factor brings a set of backup codes (shown once). */
export interface EnrolmentConfirmed {
  enabled: true;
  backupCodes?: string[];
}

export interface MethodStatus {
  enabled: boolean;
  enrolledAt: string | null;
  /** SMS only: the masked number. */
  phone?: string | null;
}

/** `GET /auth/mfa/status`. */
export interface MfaStatus {
  enabled: boolean;
  methods: { webauthn?: { enabled: boolean; /** Whether this server can register passkeys (false: no relying party configured). */ available: boolean; count: number; credentials: PasskeyView[] }; totp: MethodStatus; email_otp: MethodStatus; sms_otp: MethodStatus };
  backupCodesRemaining: number;
  lastVerifiedAt: string | null;
}

export interface BackupCodes {
  backupCodes: string[];
}

export interface RegisterInput {
  tenant: string;
  email: string;
  password: string;
  name?: string;
}

export interface TenantPolicy {
  mfaRequired: boolean;
  allowedMethods: Method[];
  gracePeriodDays: number;
  stepUpMaxAgeSeconds: number;
  selfRegistration?: boolean;
}

export interface TenantView {
  id: string;
  slug: string;
  name: string;
  policy: TenantPolicy;
  createdAt: string | null;
}

export interface AdminUserView {
  id: string;
  email: string;
  name: string | null;
  roles: string[];
  createdAt: string | null;
  /** Null until a self-registered account confirms its address. */
  emailVerifiedAt: string | null;
  /** Set while the account is disabled. */
  disabledAt: string | null;
  mfa: MfaStatus;
}

export interface AuditEventView {
  type: string;
  at: string | null;
  userId: string | null;
  actorId: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown>;
}

/** `POST /admin/tenants` (superadmin): 201. */
export interface TenantCreated {
  tenant: TenantView;
  admin: { id: string; email: string };
  /** Shown once. */
  initialPassword: string;
}

export interface CreateTenantInput {
  slug: string;
  name: string;
  policy?: Partial<TenantPolicy>;
  admin: { email: string; name?: string };
}

export interface CreateUserInput {
  email: string;
  name?: string;
  role: 'user' | 'admin';
}

export interface UserCreated {
  user: AdminUserView;
  initialPassword: string;
}

export interface UserList {
  users: AdminUserView[];
  /** Pass as `after` for the next page; null on the last one. */
  next: string | null;
}

export interface AuditList {
  events: AuditEventView[];
  /** Pass as `before` for the next page; null on the last one. */
  next: string | null;
}

export interface UserDisabledChange {
  user: AdminUserView;
  sessionsEnded: number;
}

/** Every error body: `{error, message}` (and `methods` with `step_up_required`). */
export interface ErrorBody {
  error: string;
  message?: string;
  methods?: Method[];
  [key: string]: unknown;
}

/** WebAuthn options as the server sends them (PublicKeyCredentialCreationOptionsJSON); hand them to the browser. */
export type PasskeyCreationOptions = Record<string, unknown> & { challenge: string };
/** PublicKeyCredentialRequestOptionsJSON. */
export type PasskeyRequestOptions = Record<string, unknown> & { challenge: string };
/** The browser's answer as JSON (RegistrationResponseJSON / AuthenticationResponseJSON). */
export type PasskeyResponse = Record<string, unknown> & { id: string };

/** `{method: 'webauthn', response}` for `POST /auth/mfa/challenge` and `POST /auth/step-up`. */
export interface PasskeyInput {
  method: 'webauthn';
  response: PasskeyResponse;
}

/** One passkey of the user (`GET /auth/mfa/webauthn/credentials`). */
export interface PasskeyView {
  id: string;
  name: string;
  /** A synced passkey (backed up) rather than one bound to this device. */
  backedUp: boolean;
  transports: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

/** `POST /auth/mfa/webauthn/register/verify`: 201. */
export interface PasskeyRegistered {
  enabled: true;
  credential: PasskeyView;
  backupCodes?: string[];
}
