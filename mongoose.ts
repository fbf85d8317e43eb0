/**
 * `passport-stepup/mongoose`: the MongoDB stores (mongoose is an optional peer: only this entry loads it).
 *
 * @example
 * import { createMongooseStores } from 'passport-stepup/mongoose';
 * const stores = createMongooseStores(mongoose.connection, { layout: 'shared' });
 * const stepUp = createStepUp({ ..., stores });
 * await stepUp.stores.ensureIndexes();
 */
export { createMongooseStores, tenantDatabaseName, MongoStoreTimeoutError } from './lib/stores/mongoose';
export type { MongooseStores, MongooseStoreOptions, MongooseLayout } from './lib/stores/mongoose';
