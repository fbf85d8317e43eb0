import { randomBytes } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';

// The MongoDB the suites use: MONGODB_URI (a real MongoDB, Atlas, a replica set) or the private FerretDB
// global-setup.js starts. Nothing here depends on FerretDB. Each test file works in databases of its own
// (`stepup_<label>_<random>...`), so files run in parallel on one server and drop what they made.

const CI = process.env.CI === 'true' || process.env.CI === '1';

export const mongoUri = (): string => process.env.MONGODB_URI ?? '';

/** `describe` with a MongoDB; without one a loud skip, or under CI=true a failing suite. */
export function describeWithMongo(name: string, fn: () => void): void {
  if (mongoUri()) {
    describe(name, fn);
    return;
  }
  if (CI) {
    describe(name, () => {
      it('needs MongoDB', () => {
        throw new Error('MongoDB is not available (MONGODB_URI, or ferretdb for the private server) and CI=true: this suite must run in CI');
      });
    });
    return;
  }
  console.warn(`\n!!! SKIPPED "${name}": MongoDB is not available (set MONGODB_URI, or install ferretdb: see .ci/run) !!!\n`);
  describe.skip(name, fn);
}

/** A fresh name prefix for one test file's databases (MongoDB names: at most 63 characters). */
export function dbPrefix(label: string): string {
  return `stepup_${label.replace(/[^a-z0-9]/gi, '').slice(0, 16)}_${randomBytes(4).toString('hex')}`;
}

/** A connection whose default database is `<prefix>`; closed and cleaned by `dropDatabases`. */
export async function connect(dbName: string, opts: { uri?: string; serverSelectionTimeoutMS?: number } = {}): Promise<Connection> {
  return mongoose.createConnection(opts.uri ?? mongoUri(), { dbName, serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 5000 }).asPromise();
}

/** Drops every database whose name starts with `prefix` (a file's own), then closes the connection. */
export async function dropDatabases(conn: Connection | undefined, prefix: string): Promise<void> {
  if (!conn) return;
  try {
    const { databases } = await conn.db!.admin().listDatabases({ nameOnly: true });
    for (const d of databases) if (d.name.startsWith(prefix)) await conn.useDb(d.name).dropDatabase();
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** MONGODB_URI with its database replaced by `dbName` (hosts and query string kept). */
export function uriWithDb(dbName: string, uri = mongoUri()): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)\/?[^?]*(\?.*)?$/.exec(uri);
  if (!m) throw new Error('MONGODB_URI is not a mongodb:// URI');
  return `${m[1]}/${dbName}${m[2] ?? ''}`;
}
