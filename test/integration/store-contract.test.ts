import { randomBytes } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import { MemoryAuditStore, MemoryTenantStore, MemoryUserStore } from '../../lib/stores/memory';
import { createMongooseStores } from '../../lib/stores/mongoose';
import { runStoreContract } from '../helpers/store-contract';

// The memory adapters always; the mongoose adapters against MONGODB_URI, or against
// mongodb-memory-server-core when it is installed (it downloads a mongod binary; if it cannot,
// the suite fails with its error: installing it is asking for these tests). Otherwise: one loud skip.

runStoreContract('memory', async () => ({ users: new MemoryUserStore(), tenants: new MemoryTenantStore(), audit: new MemoryAuditStore() }));

type MemoryServer = { getUri(): string; stop(): Promise<unknown> };
function memoryServerModule(): { MongoMemoryServer: { create(): Promise<MemoryServer> } } | null {
  try {
    // Optional, not a dependency of this package.
    return require('mongodb-memory-server-core');
  } catch {
    return null;
  }
}

const mms = process.env.MONGODB_URI ? null : memoryServerModule();
if (process.env.MONGODB_URI || mms) {
  describe('mongoose adapters', () => {
    let server: MemoryServer | undefined;
    let conn: Connection;
    let stores: ReturnType<typeof createMongooseStores>;
    beforeAll(async () => {
      server = mms ? await mms.MongoMemoryServer.create() : undefined;
      const uri = server ? server.getUri() : process.env.MONGODB_URI!;
      conn = await mongoose.createConnection(uri, { dbName: `stepup_contract_${randomBytes(4).toString('hex')}`, serverSelectionTimeoutMS: 10_000 }).asPromise();
      stores = createMongooseStores(conn);
      await Promise.all([stores.users.model.init(), stores.tenants.model.init(), stores.audit.model.init()]);
    }, 120_000);
    afterAll(async () => {
      await conn?.dropDatabase().catch(() => undefined);
      await conn?.close();
      await server?.stop();
    });

    runStoreContract('mongoose', async () => {
      await Promise.all([stores.users.model.deleteMany({}), stores.tenants.model.deleteMany({}), stores.audit.model.deleteMany({})]);
      return stores;
    });
  });
} else {
  // eslint-disable-next-line no-console
  console.warn('\n!!! SKIPPED "store contract: mongoose adapters": MongoDB is not available (set MONGODB_URI, or install mongodb-memory-server-core) !!!\n');
  describe.skip('store contract: mongoose adapters (MongoDB not available)', () => {
    it('needs MONGODB_URI', () => undefined);
  });
}
