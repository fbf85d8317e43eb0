/** Second-factor methods, strongest first (the order `methods` lists are shown in). */
export const METHODS = ['webauthn', 'totp', 'backup_code', 'email_otp', 'sms_otp'] as const;
export type Method = (typeof METHODS)[number];

export const ROLES = ['user', 'admin', 'superadmin'] as const;
export type Role = (typeof ROLES)[number];

export interface TenantPolicy {
  mfaRequired: boolean;
  allowedMethods: Method[];
  gracePeriodDays: number;
  stepUpMaxAgeSeconds: number;
  selfRegistration?: boolean;
  /** Sign-in with a discoverable passkey alone (default false). */
  passwordlessPasskeys?: boolean;
  /** Days a browser may skip the second factor at login (0 = off, the default; at most 90). */
  rememberDeviceDays?: number;
  /** When `mfaRequired` last became true: grace periods count from here (or the user's creation). */
  mfaRequiredSince?: Date | string | null;
}

export const DEFAULT_POLICY: TenantPolicy = {
  mfaRequired: false,
  allowedMethods: [...METHODS],
  gracePeriodDays: 7,
  stepUpMaxAgeSeconds: 300,
};

export interface TenantRecord {
  id: string;
  slug: string;
  name: string;
  policy: TenantPolicy;
  createdAt: Date;
}

export interface BackupCodeRecord {
  hash: string;
  usedAt: Date | null;
}

/** One passkey or security key (WebAuthn). The public key is not secret; nothing here is. */
export interface WebauthnCredentialRecord {
  /** base64url credential id. */
  id: string;
  /** base64url COSE public key. */
  publicKey: string;
  /** Signature counter last seen (0 for authenticators that do not count). */
  counter: number;
  transports: string[];
  backedUp: boolean;
  /** Chosen by the user; shown in the security page. */
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** A browser the user asked to remember: only an HMAC of its token is stored. */
export interface RememberedDeviceRecord {
  /** Random public id (for listing and forgetting). */
  id: string;
  /** HMAC-SHA-256 of the device token (hex). */
  hash: string;
  label: string;
  createdAt: Date;
  expiresAt: Date;
  lastUsedAt: Date | null;
}

export interface UserMfa {
  totp?: { secret: string; enrolledAt: Date; lastStep: number } | null;
  /** Passkeys and security keys; absent or empty when none. */
  webauthn?: WebauthnCredentialRecord[];
  email?: { enabledAt: Date } | null;
  sms?: { phone: string; enabledAt: Date } | null;
  backupCodes: BackupCodeRecord[];
  /** Per-user salt and the key-ring id the backup-code MACs were made under. */
  backupCodeSalt?: string | null;
  backupCodeKeyId?: string | null;
  lastVerifiedAt?: Date | null;
}

export interface UserRecord {
  id: string;
  tenantId: string;
  /** Normalised: trimmed, lower case. */
  email: string;
  name?: string;
  roles: Role[];
  passwordHash: string;
  mfa: UserMfa;
  /** null: not verified yet (self-registration); such an account may only finish verification. */
  emailVerifiedAt?: Date | null;
  /** Created through `POST /auth/register`: no grace period for a mandatory MFA policy. */
  selfRegistered?: boolean;
  disabledAt?: Date | null;
  /**
   * Sessions (and pending logins) that started before this time are dead (logout-all, password change or
   * reset, MFA reset, disable). Written with (or before) the credential change, so a crash between the
   * two cannot leave old sessions valid.
   */
  sessionsValidAfter?: Date | null;
  /** Durable second-factor lock (survives a Redis restart): no factor is accepted before this time. */
  lockedUntil?: Date | null;
  /** How many second-factor locks in a row (escalation); reset by a successful factor or an admin. */
  lockCount?: number;
  /** Remembered browsers (tenant policy `rememberDeviceDays`). */
  rememberedDevices?: RememberedDeviceRecord[];
  createdAt: Date;
}

export interface NewUser {
  tenantId: string;
  email: string;
  name?: string;
  roles: Role[];
  passwordHash: string;
  emailVerifiedAt?: Date | null;
  selfRegistered?: boolean;
  /** Default: now on the store's clock; the plugin passes its injected clock. */
  createdAt?: Date;
}

/** A partial update; `null` removes a field. `mfa` fields are set one by one, never replaced whole. */
export interface UserPatch {
  name?: string;
  roles?: Role[];
  passwordHash?: string;
  emailVerifiedAt?: Date | null;
  selfRegistered?: boolean;
  disabledAt?: Date | null;
  sessionsValidAfter?: Date | null;
  lockedUntil?: Date | null;
  lockCount?: number;
  rememberedDevices?: RememberedDeviceRecord[];
  mfa?: Partial<UserMfa>;
}

/** What `req.user` holds once a session is `authenticated`: no secrets, nothing to look up per request. */
export interface StepUpUser {
  id: string;
  tenantId: string;
  tenant: string;
  email: string;
  name?: string;
  roles: Role[];
}

export interface AuditEvent {
  tenantId: string;
  userId?: string | null;
  actorId?: string | null;
  type: string;
  ip?: string | null;
  userAgent?: string | null;
  at: Date;
  details?: Record<string, unknown>;
}

/** What the core needs to know about a request (for audit and limits): never an Express `req`. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
  /** The session the request came with (after any rotation), when there is one. */
  sessionId: string | null;
}

/** For work that no request started (CLI, bootstrap, deferred jobs keep the meta of their request). */
export const NO_REQUEST: RequestMeta = { ip: null, userAgent: null, sessionId: null };

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function toSessionUser(user: UserRecord, tenantSlug: string): StepUpUser {
  return { id: user.id, tenantId: user.tenantId, tenant: tenantSlug, email: user.email, name: user.name, roles: [...user.roles] };
}
