import type { Connection, Model, Schema } from 'mongoose';
import { StepUpError } from '../../errors';
import type { StoreSet } from '../ports';
import { runner, type Doc } from './common';
import { auditSchema, claimSchema, tenantSchema, userSchema } from './schemas';
import { MongooseUserStore } from './users';
import { MongooseAuditStore, MongooseTenantStore } from './tenants';

export type MongooseLayout = 'shared' | 'database-per-tenant';

export interface MongooseStoreOptions {
  /**
   * `shared` (default): one `users` and one `audit_events` collection, `tenantId` in every document and
   * index. `database-per-tenant`: the tenant registry (and the platform tenant's superadmins) in the
   * connection's database, each other tenant's users and audit events in the database
   * `<databasePrefix><slug>`.
   */
  layout?: MongooseLayout;
  /** Database name prefix of the per-tenant databases. Default `tenant_`. Prefix + slug: at most 63 characters. */
  databasePrefix?: string;
  /** The slug whose users stay in the platform database (the superadmins). Default `platform`. */
  platformSlug?: string;
  /** The plugin's clock (ms since epoch) for `createdAt`. Default `Date.now`. */
  now?: () => number;
  /**
   * Upper bound of one store operation, in ms (default 5000). Past it the operation fails with a
   * `MongoStoreTimeoutError` (code ETIMEDOUT) and the routes answer 503 `unavailable`: a MongoDB outage
   * must not hold requests for the driver's 30 s server selection. Give the connection a
   * `serverSelectionTimeoutMS` of about the same value so abandoned operations end too.
   */
  timeoutMs?: number;
}

export interface MongooseStores extends StoreSet {
  users: MongooseUserStore;
  tenants: MongooseTenantStore;
  audit: MongooseAuditStore;
  /** Creates every index the stores rely on (unique email per tenant, unique slug, paging). Idempotent. */
  ensureIndexes(): Promise<void>;
  /**
   * Removes a tenant: its users and audit events (database-per-tenant: drops its database), then its
   * registry entry. Idempotent: running it again finishes an interrupted removal. Refuses the platform tenant.
   */
  dropTenantData(slug: string): Promise<void>;
}

/**
 * The database that holds a tenant's users and audit events under these options (the connection's own
 * for the shared layout and for the platform tenant). For operators and tests; the stores find it themselves.
 */
export function tenantDatabaseName(conn: Connection, options: MongooseStoreOptions, slug: string): string {
  const perTenant = options.layout === 'database-per-tenant';
  return perTenant && slug !== (options.platformSlug ?? 'platform') ? `${options.databasePrefix ?? 'tenant_'}${slug}` : conn.name;
}

const SLUG = /^[a-z0-9-]{1,63}$/;

function models(db: Connection): { users: Model<Doc>; claims: Model<Doc>; tenants: Model<Doc>; audit: Model<Record<string, unknown>> } {
  const model = <T>(name: string, schema: Schema) => (db.models[name] as Model<T> | undefined) ?? db.model<T>(name, schema as Schema<T>);
  return {
    users: model<Doc>('StepUpUser', userSchema),
    claims: model<Doc>('StepUpClaim', claimSchema),
    tenants: model<Doc>('StepUpTenant', tenantSchema),
    audit: model<Record<string, unknown>>('StepUpAuditEvent', auditSchema),
  };
}

/**
 * The three stores on one mongoose connection (the host opens and closes it). Indexes are not built
 * automatically: call `ensureIndexes()` at deploy (or `passport-stepup ensure-indexes`).
 *
 * @example
 * const conn = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 }).asPromise();
 * const stores = createMongooseStores(conn, { layout: 'shared', now: clock });
 * await stores.ensureIndexes();
 * createStepUp({ ..., stores });
 */
export function createMongooseStores(conn: Connection, options: MongooseStoreOptions = {}): MongooseStores {
  const layout = options.layout ?? 'shared';
  if (layout !== 'shared' && layout !== 'database-per-tenant') throw new TypeError('createMongooseStores: layout must be "shared" or "database-per-tenant"');
  const prefix = options.databasePrefix ?? 'tenant_';
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(prefix)) throw new TypeError('createMongooseStores: databasePrefix must be 1-40 letters, digits, _ or -');
  const platformSlug = options.platformSlug ?? 'platform';
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!(Number.isInteger(timeoutMs) && timeoutMs > 0)) throw new TypeError('createMongooseStores: timeoutMs must be a positive whole number of ms');
  const run = runner(timeoutMs);
  const platform = models(conn);
  const perTenant = layout === 'database-per-tenant';

  const dbOf = (slug: string) => (perTenant && slug !== platformSlug ? conn.useDb(`${prefix}${slug}`, { useCache: true }) : conn);

  // Slugs never change, so a tenant id maps to one database for good; `fresh` re-reads the registry.
  const slugs = new Map<string, string>();
  const tenantSlug = async (tenantId: string, fresh = false): Promise<string | null> => {
    if (!fresh && slugs.has(tenantId)) return slugs.get(tenantId)!;
    const t = await tenants.findById(tenantId);
    if (!t) {
      slugs.delete(tenantId);
      return null;
    }
    slugs.set(tenantId, t.slug);
    return t.slug;
  };

  const tenantIndexes = async (slug: string) => {
    const m = models(dbOf(slug));
    await Promise.all([m.users.createIndexes(), m.claims.createIndexes(), m.audit.createIndexes()]);
  };

  const tenants = new MongooseTenantStore(platform.tenants, run, now, async (t) => {
    // A new tenant's database gets its indexes at once: its unique email must hold from the first user.
    if (perTenant && t.slug !== platformSlug) await tenantIndexes(t.slug);
  });
  if (perTenant) {
    const create = tenants.create.bind(tenants);
    tenants.create = async (input) => {
      if (input.slug !== platformSlug && `${prefix}${input.slug}`.length > 63) {
        throw new StepUpError('invalid_request', `The slug is too long for a database name (at most ${63 - prefix.length} characters).`);
      }
      return create(input);
    };
  }

  const users = new MongooseUserStore(
    async (tenantId, o) => {
      if (!perTenant) return platform;
      const slug = await tenantSlug(tenantId, o?.fresh);
      return slug === null ? null : models(dbOf(slug));
    },
    run,
    now,
  );
  // Events of an id the registry does not know stay in the platform database (still filtered by tenantId).
  const audit = new MongooseAuditStore(async (tenantId) => {
    if (!perTenant) return platform.audit;
    const slug = await tenantSlug(tenantId);
    return models(dbOf(slug ?? platformSlug)).audit;
  }, run);

  return {
    users,
    tenants,
    audit,
    // Exactly the keys `createStepUp({ stores })` takes: it refuses unknown ones.
    async ensureIndexes() {
      await Promise.all([platform.tenants.createIndexes(), platform.users.createIndexes(), platform.claims.createIndexes(), platform.audit.createIndexes()]);
      if (!perTenant) return;
      for (const t of await tenants.list()) if (t.slug !== platformSlug) await tenantIndexes(t.slug);
    },
    async dropTenantData(slug) {
      if (!SLUG.test(slug)) throw new TypeError('dropTenantData: not a tenant slug');
      if (slug === platformSlug) throw new StepUpError('forbidden', 'The platform tenant cannot be removed.');
      const t = await tenants.findBySlug(slug);
      // Data first, registry entry last: an interrupted removal is finished by running it again.
      if (perTenant) await dbOf(slug).dropDatabase();
      else if (t) await Promise.all([users.deleteTenant(t.id), audit.deleteTenant(t.id)]);
      if (t) {
        await tenants.delete(t.id);
        slugs.delete(t.id);
      }
    },
  };
}

export { MongooseUserStore } from './users';
export { MongooseTenantStore, MongooseAuditStore } from './tenants';
export { MongoStoreTimeoutError, patchToUpdate } from './common';
export { auditSchema, claimSchema, tenantSchema, userSchema } from './schemas';
