import type { Connection } from 'mongoose';
import { createMongooseStores, type MongooseStores } from '../../lib/stores/mongoose';
import { DEFAULT_POLICY } from '../../lib/types';
import { connect, dbPrefix, describeWithMongo, dropDatabases } from '../helpers/mongo';

// What the mongoose adapters actually send to the server (mongoose's debug hook on a real connection,
// against MONGODB_URI or the private FerretDB): every users/audit/claims filter names its tenant, lookups by
// id carry the tenant too, and operator-shaped input cannot turn into an operator.

const PREFIX = dbPrefix('queries');
type Sent = { coll: string; method: string; filter: Record<string, unknown> };

describeWithMongo('mongoose adapters on a server: every user and audit query names its tenant', () => {
  let conn: Connection;
  let stores: MongooseStores;
  let sent: Sent[];
  let tenantId: string;

  beforeAll(async () => {
    conn = await connect(`${PREFIX}_db`);
    stores = createMongooseStores(conn);
    await stores.ensureIndexes();
    tenantId = (await stores.tenants.create({ slug: 'acme', name: 'Acme', policy: { ...DEFAULT_POLICY } })).id;
    conn.set('debug', (coll: string, method: string, filter: unknown) => {
      sent.push({ coll, method, filter: (filter ?? {}) as Record<string, unknown> });
    });
  });
  afterAll(() => dropDatabases(conn, PREFIX));
  beforeEach(() => {
    sent = [];
  });

  it('users, claims and audit: the tenant is in every filter; ids travel with it', async () => {
    const s = stores.users;
    const u = await s.create({ tenantId, email: 'a@x.test', roles: ['user'], passwordHash: 'h' });
    await s.findById(tenantId, u.id);
    await s.findByEmail(tenantId, 'a@x.test');
    await s.list(tenantId, { limit: 10, after: '0' });
    await s.update(tenantId, u.id, { name: 'n', mfa: { totp: { secret: 'v1.k.s', enrolledAt: new Date(), lastStep: 1 }, backupCodes: [{ hash: 'ab', usedAt: null }] } });
    expect(await s.advanceTotpStep(tenantId, u.id, 2)).toBe(true);
    expect(await s.consumeBackupCode(tenantId, u.id, 'ab', new Date())).toBe(true);
    await stores.audit.record({ tenantId, type: 'x', at: new Date() });
    await stores.audit.list(tenantId, { limit: 5, before: new Date(), beforeId: '0'.repeat(24), userId: u.id });

    const scoped = sent.filter((q) => ['users', 'audit_events', 'stepup_claims'].includes(q.coll) && q.method !== 'insertOne');
    expect(scoped.length).toBeGreaterThanOrEqual(10);
    for (const q of scoped) expect([q.coll, q.method, q.filter.tenantId]).toEqual([q.coll, q.method, tenantId]);
    for (const q of scoped.filter((x) => x.coll === 'users' && ['findOneAndUpdate', 'updateOne'].includes(x.method))) expect(q.filter._id).toBe(u.id);
    // The one-time writes name the element they expect: the TOTP step and the backup code by its hash.
    expect(scoped.some((q) => q.method === 'updateOne' && q.filter['mfa.backupCodes.0.hash'] === 'ab' && q.filter['mfa.backupCodes.0.usedAt'] === null)).toBe(true);
    expect(sent.filter((q) => q.coll === 'stepup_claims' && q.method === 'insertOne')).toHaveLength(2);
  });

  it('operator-shaped input is data, never an operator', async () => {
    const s = stores.users;
    await s.create({ tenantId, email: 'b@x.test', roles: ['user'], passwordHash: 'h' });
    // Refused (a cast error) or matched literally (nothing): either way no user comes back.
    const never = (p: Promise<unknown>) => p.catch(() => null);
    expect(await never(s.findByEmail(tenantId, { $ne: 'nobody' } as never))).toBeNull();
    expect(await never(s.findById(tenantId, { $gt: '' } as never))).toBeNull();
    expect(await never(s.findById({ $ne: 'x' } as never, { $gt: '' } as never))).toBeNull();
    // A cursor object is a string to the adapter, not a `$lt` that would list everything.
    expect(await never(s.list(tenantId, { limit: 10, after: { $lt: 'zzzz' } as never }))).toEqual(await s.list(tenantId, { limit: 10, after: String({}) }));
  });
});
