import mongoose, { type Model } from 'mongoose';
import { auditSchema, createMongooseStores, patchToUpdate, tenantSchema, userSchema } from '../../lib/stores/mongoose';
import { DEFAULT_POLICY } from '../../lib/types';

// What can be checked of the mongoose adapters without a MongoDB: declared indexes, schema
// validation (document.validate() runs offline), the filter of every query, and patch translation.
// The behaviour against a server is the store contract suite (test/integration/store-contract.test.ts).

const conn = mongoose.createConnection(); // never opened: any real query would hang, so all are faked
const stores = createMongooseStores(conn);
const Users = stores.users.model;
const Tenants = stores.tenants.model;
const Audit = stores.audit.model;

afterAll(() => conn.close());

async function validationError(doc: { validate(): Promise<void> }): Promise<string[]> {
  try {
    await doc.validate();
    return [];
  } catch (err) {
    return Object.keys((err as mongoose.Error.ValidationError).errors ?? {});
  }
}

const validUser = { tenantId: 't1', email: 'a@x.test', passwordHash: 'h', roles: ['user'] };
const validTenant = { slug: 'acme', name: 'Acme', policy: { ...DEFAULT_POLICY } };

describe('mongoose schemas', () => {
  it('declare the unique (tenantId, email) and tenants.slug indexes, and the audit time index', () => {
    expect(userSchema.indexes()).toContainEqual([{ tenantId: 1, email: 1 }, expect.objectContaining({ unique: true })]);
    expect(tenantSchema.indexes()).toContainEqual([{ slug: 1 }, expect.objectContaining({ unique: true })]);
    expect(auditSchema.indexes()).toContainEqual([{ tenantId: 1, at: -1 }, expect.anything()]);
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
    expect(await validationError(policy({ allowedMethods: ['webauthn'] }))).toContain('policy.allowedMethods.0');
  });

  it('throw on unknown top-level fields (strict: throw)', () => {
    expect(() => new Users({ ...validUser, isAdmin: true })).toThrow(/not in schema/);
    expect(() => new Tenants({ ...validTenant, owner: 'x' })).toThrow(/not in schema/);
  });

  // Known gaps in lib/stores/mongoose.ts (reported to the lead): flip these to `it` once fixed.
  it('keeps policy.mfaRequiredSince (grace periods count from it)', () => {
    const since = new Date('2026-01-01T00:00:00Z');
    const doc = new Tenants({ ...validTenant, policy: { ...DEFAULT_POLICY, mfaRequired: true, mfaRequiredSince: since } });
    expect((doc.toObject() as unknown as { policy: { mfaRequiredSince?: Date } }).policy.mfaRequiredSince).toEqual(since);
  });
  it('rejects gracePeriodDays above 365', async () => {
    expect(await validationError(new Tenants({ ...validTenant, policy: { ...DEFAULT_POLICY, gracePeriodDays: 366 } }))).toContain('policy.gracePeriodDays');
  });
});

describe('mongoose adapters: every user and audit query names its tenant', () => {
  const METHODS = ['find', 'findOne', 'findOneAndUpdate', 'updateOne', 'updateMany', 'deleteOne', 'deleteMany', 'countDocuments', 'aggregate', 'findById', 'findByIdAndUpdate'] as const;
  type Call = { method: string; filter: Record<string, unknown> };

  /** Replaces the model's query methods by recorders returning chainable fakes that resolve to `result`. */
  function record(model: Model<never>, result: (method: string) => unknown): Call[] {
    const calls: Call[] = [];
    for (const method of METHODS) {
      jest.spyOn(model, method as never).mockImplementation(((filter: Record<string, unknown>) => {
        calls.push({ method, filter });
        const q: Record<string, unknown> = {};
        for (const m of ['lean', 'sort', 'limit', 'select', 'session']) q[m] = () => q;
        q.exec = async () => result(method);
        return q;
      }) as never);
    }
    jest.spyOn(model, 'create' as never).mockImplementation((async (doc: Record<string, unknown>) => {
      calls.push({ method: 'create', filter: doc });
      return { toObject: () => ({ _id: 'new', ...doc }) };
    }) as never);
    return calls;
  }
  afterEach(() => jest.restoreAllMocks());

  it('users: create, find, list, update, advanceTotpStep, consumeBackupCode', async () => {
    const calls = record(Users as unknown as Model<never>, (m) => (m === 'updateOne' ? { modifiedCount: 1 } : m === 'find' ? [] : null));
    const s = stores.users;
    await s.create({ tenantId: 't1', email: 'a@x.test', roles: ['user'], passwordHash: 'h' });
    await s.findById('t1', 'u1');
    await s.findByEmail('t1', 'a@x.test');
    await s.list('t1', { limit: 10 });
    await s.list('t1', { limit: 10, after: 'u0' });
    await s.update('t1', 'u1', { name: 'n', mfa: { sms: null } });
    expect(await s.advanceTotpStep('t1', 'u1', 42)).toBe(true);
    expect(await s.consumeBackupCode('t1', 'u1', 'hash', new Date())).toBe(true);

    expect(calls.map((c) => c.method)).toEqual(['create', 'findOne', 'findOne', 'find', 'find', 'findOneAndUpdate', 'updateOne', 'updateOne']);
    for (const c of calls) expect([c.method, c.filter.tenantId]).toEqual([c.method, 't1']);
    // Lookups by id carry both the id and the tenant.
    for (const c of calls.filter((x) => ['findOneAndUpdate', 'updateOne'].includes(x.method))) expect(c.filter._id).toBe('u1');
    expect(calls[1]!.filter).toEqual({ tenantId: 't1', _id: 'u1' });
    // One conditional update each: the replay guard and the single use live in the filter.
    expect(calls[6]!.filter).toEqual({ tenantId: 't1', _id: 'u1', 'mfa.totp.lastStep': { $lt: 42 } });
    expect(calls[7]!.filter).toEqual({ tenantId: 't1', _id: 'u1', 'mfa.backupCodes': { $elemMatch: { hash: 'hash', usedAt: null } } });
  });

  it('reports a lost race as false', async () => {
    record(Users as unknown as Model<never>, () => ({ modifiedCount: 0 }));
    expect(await stores.users.advanceTotpStep('t1', 'u1', 42)).toBe(false);
    expect(await stores.users.consumeBackupCode('t1', 'u1', 'hash', new Date())).toBe(false);
  });

  it('audit: list is tenant-scoped', async () => {
    const calls = record(Audit as unknown as Model<never>, () => []);
    await stores.audit.list('t1', { limit: 5, before: new Date(), userId: 'u1' });
    await stores.audit.record({ tenantId: 't1', type: 'x', at: new Date() });
    expect(calls.map((c) => [c.method, c.filter.tenantId])).toEqual([
      ['find', 't1'],
      ['create', 't1'],
    ]);
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
