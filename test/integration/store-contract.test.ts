import type { Connection } from 'mongoose';
import { createMemoryStores } from '../../lib/stores/memory';
import { createMongooseStores, tenantDatabaseName, type MongooseLayout } from '../../lib/stores/mongoose';
import { DEFAULT_POLICY } from '../../lib/types';
import { runStoreContract } from '../helpers/store-contract';
import { connect, dbPrefix, describeWithMongo, dropDatabases } from '../helpers/mongo';

// Every case of the contract on the memory stores and on the mongoose stores in both layouts, against
// MONGODB_URI (a real MongoDB, or the private FerretDB global-setup.js starts). Each test gets fresh
// databases, so nothing leaks between cases and this file runs beside others on one server.

runStoreContract('memory', async ({ now }) => createMemoryStores({ now }));

const PREFIX = dbPrefix('contract');
let conn: Connection | undefined;
let n = 0;

/** Fresh stores in databases of their own, indexes made the way a deployment makes them. */
async function freshMongo(layout: MongooseLayout, now?: () => number) {
  conn ??= await connect(`${PREFIX}_root`);
  const id = ++n;
  const db = conn.useDb(`${PREFIX}_${id}`, { useCache: true });
  const options = { layout, now, databasePrefix: `${PREFIX}_${id}_` };
  const stores = createMongooseStores(db, options);
  await stores.ensureIndexes();
  return Object.assign(stores, { databaseName: (slug: string) => tenantDatabaseName(db, options, slug) });
}

describeWithMongo('mongoose stores', () => {
  afterAll(() => dropDatabases(conn, PREFIX));

  for (const layout of ['shared', 'database-per-tenant'] as const) {
    describe(layout, () => {
      runStoreContract(`mongoose (${layout})`, ({ now }) => freshMongo(layout, now));

      it('creates its indexes only when asked (autoIndex off), then unique (tenantId, email) and unique slug', async () => {
        conn ??= await connect(`${PREFIX}_root`);
        const id = ++n;
        const db = conn.useDb(`${PREFIX}_${id}`, { useCache: true });
        const options = { layout, databasePrefix: `${PREFIX}_${id}_` };
        const stores = createMongooseStores(db, options);
        const databaseName = (slug: string) => tenantDatabaseName(db, options, slug);
        await stores.tenants.findBySlug('nope'); // compiles the models, touches the server
        const names = async (dbName: string, coll: string) =>
          conn!.useDb(dbName).collection(coll).indexes().then((ix) => ix.map((i) => JSON.stringify(i.key) + (i.unique ? '!' : '')), () => []);
        expect(await names(db.name, 'tenants')).not.toContain('{"slug":1}!');
        await stores.ensureIndexes();
        await stores.ensureIndexes(); // idempotent
        expect(await names(db.name, 'tenants')).toContain('{"slug":1}!');
        expect(await names(db.name, 'users')).toContain('{"tenantId":1,"email":1}!');
        expect(await names(db.name, 'audit_events')).toContain('{"tenantId":1,"at":-1,"_id":-1}');
        // A tenant created later has its unique email from its first user on (its own database, if any).
        const t = await stores.tenants.create({ slug: 'later', name: 'Later', policy: { ...DEFAULT_POLICY } });
        expect(await names(databaseName('later'), 'users')).toContain('{"tenantId":1,"email":1}!');
        expect(databaseName('later')).toBe(layout === 'shared' ? db.name : `${PREFIX}_${id}_later`);
        await stores.users.create({ tenantId: t.id, email: 'a@x.test', roles: ['user'], passwordHash: 'h' });
        await expect(stores.users.create({ tenantId: t.id, email: 'a@x.test', roles: ['user'], passwordHash: 'h' })).rejects.toMatchObject({ code: 'conflict' });
      });
    });
  }

  it('database-per-tenant: a tenant\'s users and audit in its own database, superadmins and the registry in the platform one', async () => {
    const stores = await freshMongo('database-per-tenant');
    const platformDb = stores.databaseName('platform');
    const acme = await stores.tenants.create({ slug: 'acme', name: 'Acme', policy: { ...DEFAULT_POLICY } });
    const platform = await stores.tenants.create({ slug: 'platform', name: 'Platform', policy: { ...DEFAULT_POLICY } });
    const user = await stores.users.create({ tenantId: acme.id, email: 'a@acme.test', roles: ['user'], passwordHash: 'h' });
    const root = await stores.users.create({ tenantId: platform.id, email: 'root@platform.test', roles: ['superadmin'], passwordHash: 'h' });
    await stores.audit.record({ tenantId: acme.id, type: 'user_provisioned', at: new Date() });
    const raw = (dbName: string, coll: string) => conn!.useDb(dbName).collection(coll);
    const acmeDb = stores.databaseName('acme');
    expect(acmeDb).not.toBe(platformDb);
    expect(await raw(acmeDb, 'users').findOne({ _id: user.id as never })).toMatchObject({ email: 'a@acme.test', tenantId: acme.id });
    expect(await raw(platformDb, 'users').findOne({ _id: user.id as never })).toBeNull();
    expect(await raw(platformDb, 'users').findOne({ _id: root.id as never })).toMatchObject({ roles: ['superadmin'] });
    expect(await raw(acmeDb, 'audit_events').countDocuments({ tenantId: acme.id })).toBe(1);
    expect(await raw(platformDb, 'tenants').countDocuments({})).toBe(2);
    expect(await raw(acmeDb, 'tenants').countDocuments({})).toBe(0);

    // Removing the tenant is dropping its database.
    await stores.dropTenantData('acme');
    const { databases } = await conn!.db!.admin().listDatabases({ nameOnly: true });
    expect(databases.map((d) => d.name)).not.toContain(acmeDb);
    expect(databases.map((d) => d.name)).toContain(platformDb);
    expect(await stores.users.findById(platform.id, root.id)).not.toBeNull();
    // An unknown tenant id has no database: nothing found, nothing created.
    await expect(stores.users.create({ tenantId: acme.id, email: 'b@acme.test', roles: ['user'], passwordHash: 'h' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('refuses a slug too long for a database name (database-per-tenant), and bad options', async () => {
    const stores = await freshMongo('database-per-tenant');
    await expect(stores.tenants.create({ slug: 'x'.repeat(63), name: 'X', policy: { ...DEFAULT_POLICY } })).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await stores.tenants.findBySlug('x'.repeat(63))).toBeNull();
    expect(() => createMongooseStores(conn!, { layout: 'per-tenant' as never })).toThrow(TypeError);
    expect(() => createMongooseStores(conn!, { timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => createMongooseStores(conn!, { databasePrefix: 'a.b' })).toThrow(/databasePrefix/);
    await expect(stores.dropTenantData('../admin')).rejects.toThrow(TypeError);
  });
});
