import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import { StepUpError } from '../errors';
import { ROLES, METHODS } from '../types';
import type { AuditEvent, NewUser, TenantPolicy, TenantRecord, UserPatch, UserRecord } from '../types';
import type { AuditStore, TenantStore, UserStore } from './ports';

// Thin adapters: every filter names its tenant, every one-time secret is consumed with one
// conditional update, and sanitizeFilter is on as defence in depth (bodies are validated first).
const Q = { sanitizeFilter: true } as const;

const policySchema = new Schema(
  {
    mfaRequired: { type: Boolean, required: true },
    allowedMethods: { type: [{ type: String, enum: METHODS }], required: true },
    gracePeriodDays: { type: Number, required: true, min: 0, max: 365 },
    mfaRequiredSince: { type: Date, default: null },
    stepUpMaxAgeSeconds: { type: Number, required: true, min: 1, max: 86400 },
    selfRegistration: { type: Boolean, default: false },
  },
  { _id: false },
);

export const tenantSchema = new Schema(
  {
    _id: { type: String, default: () => randomUUID() },
    slug: { type: String, required: true, match: /^[a-z0-9-]{1,63}$/ },
    name: { type: String, required: true, maxlength: 200 },
    policy: { type: policySchema, required: true },
    createdAt: { type: Date, default: () => new Date() },
  },
  { collection: 'tenants', versionKey: false, strict: 'throw' },
);
tenantSchema.index({ slug: 1 }, { unique: true });

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
      webauthn: {
        type: [
          new Schema(
            { id: String, publicKey: String, counter: Number, transports: [String], backedUp: Boolean, name: String, createdAt: Date, lastUsedAt: { type: Date, default: null } },
            { _id: false },
          ),
        ],
        default: undefined,
      },
      backupCodeSalt: { type: String, default: null },
      backupCodeKeyId: { type: String, default: null },
      lastVerifiedAt: { type: Date, default: null },
    },
    emailVerifiedAt: { type: Date, default: null },
    selfRegistered: { type: Boolean, default: false },
    disabledAt: { type: Date, default: null },
    sessionsValidAfter: { type: Date, default: null },
    lockedUntil: { type: Date, default: null },
    lockCount: { type: Number, default: 0 },
    rememberedDevices: {
      type: [new Schema({ id: String, hash: String, label: String, createdAt: Date, expiresAt: Date, lastUsedAt: { type: Date, default: null } }, { _id: false })],
      default: undefined,
    },
    createdAt: { type: Date, default: () => new Date() },
  },
  { collection: 'users', versionKey: false, strict: 'throw' },
);
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
  { collection: 'audit_events', versionKey: false },
);
auditSchema.index({ tenantId: 1, at: -1 });

type Doc = Record<string, unknown> & { _id: string };

function toUser(d: Doc | null): UserRecord | null {
  if (!d) return null;
  const { _id, ...rest } = d;
  const u = { id: _id, ...rest } as unknown as UserRecord;
  u.mfa = { ...(u.mfa ?? {}), backupCodes: u.mfa?.backupCodes ?? [] };
  return u;
}

function toTenant(d: Doc | null): TenantRecord | null {
  if (!d) return null;
  const { _id, ...rest } = d;
  return { id: _id, ...rest } as unknown as TenantRecord;
}

const isDuplicate = (err: unknown) => (err as { code?: number })?.code === 11000;

/** `$set`/`$unset` for a patch: null removes, mfa fields are addressed one by one. */
export function patchToUpdate(patch: UserPatch): { $set: Record<string, unknown>; $unset: Record<string, 1> } {
  const $set: Record<string, unknown> = {};
  const $unset: Record<string, 1> = {};
  const put = (path: string, v: unknown) => {
    if (v === undefined) return;
    if (v === null) $unset[path] = 1;
    else $set[path] = v;
  };
  const { mfa, ...top } = patch;
  for (const [k, v] of Object.entries(top)) put(k, v);
  for (const [k, v] of Object.entries(mfa ?? {})) put(`mfa.${k}`, v);
  return { $set, $unset };
}

export class MongooseUserStore implements UserStore {
  constructor(readonly model: Model<Doc>) {}

  async create(input: NewUser): Promise<UserRecord> {
    try {
      const doc = await this.model.create({ ...input, mfa: { backupCodes: [] } });
      return toUser(doc.toObject() as Doc)!;
    } catch (err) {
      if (isDuplicate(err)) throw new StepUpError('conflict', 'A user with this email exists in the tenant.');
      throw err;
    }
  }

  async findById(tenantId: string, id: string): Promise<UserRecord | null> {
    return toUser(await this.model.findOne({ tenantId, _id: id }, null, Q).lean<Doc>().exec());
  }

  async findByEmail(tenantId: string, email: string): Promise<UserRecord | null> {
    return toUser(await this.model.findOne({ tenantId, email }, null, Q).lean<Doc>().exec());
  }

  async list(tenantId: string, page: { limit: number; after?: string }): Promise<UserRecord[]> {
    const filter: Record<string, unknown> = { tenantId };
    if (page.after !== undefined) filter._id = { $gt: page.after };
    const docs = await this.model.find(filter).sort({ _id: 1 }).limit(page.limit).lean<Doc[]>().exec();
    return docs.map((d) => toUser(d)!);
  }

  async update(tenantId: string, id: string, patch: UserPatch): Promise<UserRecord | null> {
    const { $set, $unset } = patchToUpdate(patch);
    const update: Record<string, unknown> = {};
    if (Object.keys($set).length) update.$set = $set;
    if (Object.keys($unset).length) update.$unset = $unset;
    return toUser(await this.model.findOneAndUpdate({ tenantId, _id: id }, update, { ...Q, new: true }).lean<Doc>().exec());
  }

  async advanceTotpStep(tenantId: string, id: string, step: number): Promise<boolean> {
    const res = await this.model
      .updateOne({ tenantId, _id: id, 'mfa.totp.lastStep': { $lt: step } }, { $set: { 'mfa.totp.lastStep': step } })
      .exec();
    return res.modifiedCount === 1;
  }

  async consumeBackupCode(tenantId: string, id: string, hash: string, at: Date): Promise<boolean> {
    const res = await this.model
      .updateOne(
        { tenantId, _id: id, 'mfa.backupCodes': { $elemMatch: { hash, usedAt: null } } },
        { $set: { 'mfa.backupCodes.$.usedAt': at } },
      )
      .exec();
    return res.modifiedCount === 1;
  }

  async advanceWebauthnCounter(tenantId: string, id: string, credentialId: string, counter: number, at: Date): Promise<boolean> {
    const moved = counter > 0 ? { $lt: counter } : 0;
    const res = await this.model
      .updateOne(
        { tenantId, _id: id, 'mfa.webauthn': { $elemMatch: { id: credentialId, counter: moved } } },
        { $set: { 'mfa.webauthn.$.counter': counter, 'mfa.webauthn.$.lastUsedAt': at } },
      )
      .exec();
    return res.modifiedCount === 1;
  }
}

export class MongooseTenantStore implements TenantStore {
  constructor(readonly model: Model<Doc>) {}

  async create(input: { slug: string; name: string; policy: TenantPolicy }): Promise<TenantRecord> {
    try {
      return toTenant((await this.model.create(input)).toObject() as Doc)!;
    } catch (err) {
      if (isDuplicate(err)) throw new StepUpError('conflict', 'A tenant with this slug exists.');
      throw err;
    }
  }

  async findBySlug(slug: string): Promise<TenantRecord | null> {
    return toTenant(await this.model.findOne({ slug }, null, Q).lean<Doc>().exec());
  }

  async findById(id: string): Promise<TenantRecord | null> {
    return toTenant(await this.model.findOne({ _id: id }, null, Q).lean<Doc>().exec());
  }

  async list(): Promise<TenantRecord[]> {
    return (await this.model.find({}).sort({ slug: 1 }).lean<Doc[]>().exec()).map((d) => toTenant(d)!);
  }

  async updatePolicy(id: string, policy: TenantPolicy): Promise<TenantRecord | null> {
    return toTenant(await this.model.findOneAndUpdate({ _id: id }, { $set: { policy } }, { ...Q, new: true }).lean<Doc>().exec());
  }
}

export class MongooseAuditStore implements AuditStore {
  constructor(readonly model: Model<Record<string, unknown>>) {}

  async record(event: AuditEvent): Promise<void> {
    await this.model.create({ ...event });
  }

  async list(tenantId: string, page: { limit: number; before?: Date; userId?: string }): Promise<AuditEvent[]> {
    const filter: Record<string, unknown> = { tenantId };
    if (page.before) filter.at = { $lt: page.before };
    if (page.userId) filter.userId = page.userId;
    const docs = await this.model.find(filter, { _id: 0 }).sort({ at: -1, _id: -1 }).limit(page.limit).lean<AuditEvent[]>().exec();
    return docs;
  }
}

/** The three stores on one mongoose connection (the host owns and closes the connection). */
export function createMongooseStores(connection: Connection): { users: MongooseUserStore; tenants: MongooseTenantStore; audit: MongooseAuditStore } {
  const model = <T>(name: string, schema: Schema) =>
    (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema as Schema<T>);
  return {
    users: new MongooseUserStore(model<Doc>('StepUpUser', userSchema)),
    tenants: new MongooseTenantStore(model<Doc>('StepUpTenant', tenantSchema)),
    audit: new MongooseAuditStore(model<Record<string, unknown>>('StepUpAuditEvent', auditSchema)),
  };
}
