import mongoose from 'mongoose';
import { auditSchema, claimSchema, patchToUpdate, tenantSchema, userSchema } from '../../lib/stores/mongoose';
import { DEFAULT_POLICY } from '../../lib/types';

// What can be checked of the mongoose schemas without a server: declared indexes, schema validation
// (document.validate() runs offline) and patch translation. Everything that needs a server (the filters
// the adapters send, atomicity, layouts) runs against one: test/integration/store-contract.test.ts and
// test/integration/mongoose-queries-mongo.test.ts.

const conn = mongoose.createConnection(); // never opened: models only, no query
const Users = conn.model('StepUpUser', userSchema);
const Tenants = conn.model('StepUpTenant', tenantSchema);

afterAll(() => conn.close());

async function validationError(doc: { validate(): Promise<void> }): Promise<string[]> {
  try {
    await doc.validate();
    return [];
  } catch (err) {
    return Object.keys((err as mongoose.Error.ValidationError).errors ?? {});
  }
}

const validUser = { tenantId: 't1', email: 'a@x.test', passwordHash: 'h', roles: ['user'], createdAt: new Date(0) };
const validTenant = { slug: 'acme', name: 'Acme', policy: { ...DEFAULT_POLICY }, createdAt: new Date(0) };

describe('mongoose schemas', () => {
  it('declare the unique (tenantId, email) and tenants.slug indexes, the audit (at, _id) index, and build none by themselves', () => {
    expect(userSchema.indexes()).toContainEqual([{ tenantId: 1, email: 1 }, expect.objectContaining({ unique: true })]);
    expect(tenantSchema.indexes()).toContainEqual([{ slug: 1 }, expect.objectContaining({ unique: true })]);
    expect(auditSchema.indexes()).toContainEqual([{ tenantId: 1, at: -1, _id: -1 }, expect.anything()]);
    expect(claimSchema.indexes()).toContainEqual([{ tenantId: 1, userId: 1, kind: 1, at: 1 }, expect.anything()]);
    // Indexes come from ensureIndexes() at deploy, never from model compilation in production.
    for (const schema of [userSchema, tenantSchema, auditSchema, claimSchema]) expect([schema.get('autoIndex'), schema.get('autoCreate')]).toEqual([false, false]);
  });

  it('keep the lock, session-cut, remembered-device and passkey fields (strict: throw would refuse them otherwise)', async () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const user = new Users({
      ...validUser,
      createdAt: at,
      sessionsValidAfter: at,
      lockedUntil: at,
      lockCount: 2,
      rememberedDevices: [{ id: 'd1', hash: 'h', label: 'L', createdAt: at, expiresAt: at, lastUsedAt: null }],
      mfa: { backupCodes: [], webauthn: [{ id: 'c1', publicKey: 'pk', counter: 5, transports: ['usb'], backedUp: true, name: 'Key', createdAt: at, lastUsedAt: null }] },
    });
    expect(await validationError(user)).toEqual([]);
    expect(user.toObject()).toMatchObject({
      sessionsValidAfter: at,
      lockedUntil: at,
      lockCount: 2,
      rememberedDevices: [{ id: 'd1', hash: 'h', label: 'L' }],
      mfa: { webauthn: [{ id: 'c1', publicKey: 'pk', counter: 5, transports: ['usb'], backedUp: true, name: 'Key' }] },
    });
    expect(await validationError(new Users({ ...validUser, createdAt: at, lockCount: -1 }))).toContain('lockCount');
    expect(await validationError(new Users({ ...validUser, createdAt: at, mfa: { backupCodes: [], webauthn: [{ id: 'c1', publicKey: 'pk', counter: -1 }] } }))).toContain('mfa.webauthn.0.counter');
  });

  it('accept a valid user and tenant', async () => {
    expect(await validationError(new Users(validUser))).toEqual([]);
    expect(await validationError(new Tenants(validTenant))).toEqual([]);
  });

  it('reject bad roles and missing tenant ids on users', async () => {
    expect(await validationError(new Users({ ...validUser, roles: ['root'] }))).toContain('roles.0');
    expect(await validationError(new Users({ ...validUser, tenantId: undefined }))).toContain('tenantId');
    expect(await validationError(new Users({ ...validUser, email: 'x'.repeat(300) }))).toContain('email');
  });

  it('reject bad slugs and out-of-range policies on tenants', async () => {
    for (const slug of ['Acme', 'ac me', 'acme!', '', 'a'.repeat(64)]) expect([slug, await validationError(new Tenants({ ...validTenant, slug }))]).toEqual([slug, expect.arrayContaining(['slug'])]);
    const policy = (over: object) => new Tenants({ ...validTenant, policy: { ...DEFAULT_POLICY, ...over } });
    expect(await validationError(policy({ stepUpMaxAgeSeconds: 0 }))).toContain('policy.stepUpMaxAgeSeconds');
    expect(await validationError(policy({ stepUpMaxAgeSeconds: 86401 }))).toContain('policy.stepUpMaxAgeSeconds');
    expect(await validationError(policy({ gracePeriodDays: -1 }))).toContain('policy.gracePeriodDays');
    expect(await validationError(policy({ allowedMethods: ['carrier_pigeon'] }))).toContain('policy.allowedMethods.0');
  });

  it('throw on unknown top-level fields (strict: throw)', () => {
    expect(() => new Users({ ...validUser, isAdmin: true })).toThrow(/not in schema/);
    expect(() => new Tenants({ ...validTenant, owner: 'x' })).toThrow(/not in schema/);
  });

  it('keeps policy.mfaRequiredSince (grace periods count from it)', () => {
    const since = new Date('2026-01-01T00:00:00Z');
    const doc = new Tenants({ ...validTenant, policy: { ...DEFAULT_POLICY, mfaRequired: true, mfaRequiredSince: since } });
    expect((doc.toObject() as unknown as { policy: { mfaRequiredSince?: Date } }).policy.mfaRequiredSince).toEqual(since);
  });
  it('rejects gracePeriodDays above 365', async () => {
    expect(await validationError(new Tenants({ ...validTenant, policy: { ...DEFAULT_POLICY, gracePeriodDays: 366 } }))).toContain('policy.gracePeriodDays');
  });
});

describe('patchToUpdate', () => {
  it('sets and unsets field by field; mfa fields are addressed one by one; undefined is skipped', () => {
    const at = new Date(0);
    expect(
      patchToUpdate({
        name: 'Ann',
        disabledAt: null,
        passwordHash: undefined,
        mfa: { totp: { secret: 's', enrolledAt: at, lastStep: 1 }, sms: null, backupCodes: [], backupCodeSalt: null, email: undefined },
      }),
    ).toEqual({
      $set: { name: 'Ann', 'mfa.totp': { secret: 's', enrolledAt: at, lastStep: 1 }, 'mfa.backupCodes': [] },
      $unset: { disabledAt: 1, 'mfa.sms': 1, 'mfa.backupCodeSalt': 1 },
    });
    expect(patchToUpdate({})).toEqual({ $set: {}, $unset: {} });
  });
});
