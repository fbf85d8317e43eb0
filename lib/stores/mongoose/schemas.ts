import { randomUUID } from 'node:crypto';
import { Schema } from 'mongoose';
import { ROLES, METHODS } from '../../types';

// Indexes are created by an explicit call (`ensureIndexes()`, `passport-stepup ensure-indexes`), never by
// mongoose at model compile time: a deploy decides when a build runs on a large collection.
// `createdAt` has no default here: the store sets it from its injected clock.
// No buffering while disconnected: mongoose would hold a write for 10 s and send it after the request
// had its 503; without it the driver's serverSelectionTimeoutMS (set it close to `timeoutMs`) decides.
const common = { versionKey: false, autoIndex: false, autoCreate: false, bufferCommands: false } as const;

const policySchema = new Schema(
  {
    mfaRequired: { type: Boolean, required: true },
    allowedMethods: { type: [{ type: String, enum: METHODS }], required: true },
    gracePeriodDays: { type: Number, required: true, min: 0, max: 365 },
    mfaRequiredSince: { type: Date, default: null },
    stepUpMaxAgeSeconds: { type: Number, required: true, min: 1, max: 86400 },
    selfRegistration: { type: Boolean, default: false },
    passwordlessPasskeys: { type: Boolean, default: false },
    rememberDeviceDays: { type: Number, default: 0 },
  },
  { _id: false },
);

export const tenantSchema = new Schema(
  {
    _id: { type: String, default: () => randomUUID() },
    slug: { type: String, required: true, match: /^[a-z0-9-]{1,63}$/ },
    name: { type: String, required: true, maxlength: 200 },
    policy: { type: policySchema, required: true },
    createdAt: { type: Date, required: true },
  },
  { ...common, collection: 'tenants', strict: 'throw' },
);
tenantSchema.index({ slug: 1 }, { unique: true });

const webauthnSchema = new Schema(
  {
    id: { type: String, required: true },
    publicKey: { type: String, required: true },
    counter: { type: Number, required: true, min: 0 },
    transports: { type: [String], default: [] },
    backedUp: { type: Boolean, default: false },
    name: { type: String, maxlength: 200 },
    createdAt: Date,
    lastUsedAt: { type: Date, default: null },
  },
  { _id: false },
);

const rememberedDeviceSchema = new Schema(
  { id: String, hash: String, label: String, createdAt: Date, expiresAt: Date, lastUsedAt: { type: Date, default: null } },
  { _id: false },
);

export const userSchema = new Schema(
  {
    _id: { type: String, default: () => randomUUID() },
    tenantId: { type: String, required: true },
    email: { type: String, required: true, lowercase: true, trim: true, maxlength: 254 },
    name: { type: String, maxlength: 200 },
    roles: { type: [{ type: String, enum: ROLES }], default: ['user'] },
    passwordHash: { type: String, required: true },
    mfa: {
      totp: { type: new Schema({ secret: String, enrolledAt: Date, lastStep: Number }, { _id: false }), default: null },
      email: { type: new Schema({ enabledAt: Date }, { _id: false }), default: null },
      sms: { type: new Schema({ phone: String, enabledAt: Date }, { _id: false }), default: null },
      backupCodes: { type: [new Schema({ hash: String, usedAt: { type: Date, default: null } }, { _id: false })], default: [] },
      webauthn: { type: [webauthnSchema], default: undefined },
      backupCodeSalt: { type: String, default: null },
      backupCodeKeyId: { type: String, default: null },
      lastVerifiedAt: { type: Date, default: null },
    },
    emailVerifiedAt: { type: Date, default: null },
    selfRegistered: { type: Boolean, default: false },
    disabledAt: { type: Date, default: null },
    sessionsValidAfter: { type: Date, default: null },
    lockedUntil: { type: Date, default: null },
    lockCount: { type: Number, default: 0, min: 0 },
    rememberedDevices: { type: [rememberedDeviceSchema], default: undefined },
    createdAt: { type: Date, required: true },
  },
  { ...common, collection: 'users', strict: 'throw' },
);
// tenantId stays in every document and index in both layouts: one code path, and a document copied to the
// wrong database still cannot answer for another tenant.
userSchema.index({ tenantId: 1, email: 1 }, { unique: true });
userSchema.index({ tenantId: 1, _id: 1 });

export const auditSchema = new Schema(
  {
    tenantId: { type: String, required: true },
    userId: { type: String, default: null },
    actorId: { type: String, default: null },
    type: { type: String, required: true },
    ip: { type: String, default: null },
    userAgent: { type: String, default: null },
    at: { type: Date, required: true },
    details: { type: Schema.Types.Mixed, default: {} },
  },
  { ...common, collection: 'audit_events' },
);
// Pages are cut by (at, _id), newest first: stable when events share a millisecond.
auditSchema.index({ tenantId: 1, at: -1, _id: -1 });
auditSchema.index({ tenantId: 1, userId: 1, at: -1, _id: -1 });

/**
 * One-time claims: a use of a TOTP step, a backup code or a passkey counter value is claimed by inserting
 * a document with a unique `_id` before the user document is written. The unique key is the atomic
 * primitive every MongoDB-protocol server gives (FerretDB 1.x has no atomic conditional update;
 * docs/DECISIONS.md). Old claims are pruned by the winner of a later claim.
 */
export const claimSchema = new Schema(
  {
    _id: { type: String, required: true },
    tenantId: { type: String, required: true },
    userId: { type: String, required: true },
    kind: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { ...common, collection: 'stepup_claims' },
);
claimSchema.index({ tenantId: 1, userId: 1, kind: 1, at: 1 });
