import { randomBytes } from 'node:crypto';
import { parseArgs as parseNodeArgs } from 'node:util';
import mongoose from 'mongoose';
import { bootstrapSuperadmin, provisionTenant } from './admin/actions';
import type { StepUpOptions } from './config';
import { createContext } from './context';
import { StepUpError } from './errors';
import { createMongooseStores, type MongooseLayout } from './stores/mongoose';
import type { StoreSet } from './stores/ports';

/**
 * `passport-stepup`: operator commands against the app's configured stores (MongoDB via MONGODB_URI).
 *
 *   passport-stepup create-tenant --slug acme --name Acme --admin-email admin@acme.test [--admin-name N] [--mfa-required]
 *   passport-stepup create-superadmin --email root@example.com --password-env STEPUP_SUPERADMIN_PASSWORD
 *   passport-stepup ensure-indexes
 *   passport-stepup remove-tenant --slug acme --confirm acme
 *
 * Passwords are never taken on the command line (shell history, `ps`): only from a named variable.
 * The layout (STEPUP_MONGODB_LAYOUT, STEPUP_MONGODB_DATABASE_PREFIX) must be the app's.
 */
export const USAGE = `usage:
  passport-stepup create-tenant --slug <slug> --name <name> --admin-email <email> [--admin-name <name>] [--mfa-required]
  passport-stepup create-superadmin --email <email> --password-env <VARIABLE>
  passport-stepup ensure-indexes
  passport-stepup remove-tenant --slug <slug> --confirm <slug again>   (deletes its users and audit trail)
environment:
  MONGODB_URI                     the app's MongoDB (required: the CLI writes where the app reads)
  STEPUP_MONGODB_LAYOUT           shared (default) or database-per-tenant: the app's layout
  STEPUP_MONGODB_DATABASE_PREFIX  per-tenant database prefix (default tenant_)`;

export type CliCommand =
  | { command: 'help' }
  | { command: 'create-tenant'; slug: string; name: string; adminEmail: string; adminName?: string; mfaRequired: boolean }
  | { command: 'create-superadmin'; email: string; passwordEnv: string }
  | { command: 'ensure-indexes' }
  | { command: 'remove-tenant'; slug: string };

export class CliUsageError extends Error {}

const SPECS = {
  'create-tenant': {
    slug: { type: 'string' },
    name: { type: 'string' },
    'admin-email': { type: 'string' },
    'admin-name': { type: 'string' },
    'mfa-required': { type: 'boolean' },
  },
  'create-superadmin': { email: { type: 'string' }, 'password-env': { type: 'string' } },
  'ensure-indexes': {},
  'remove-tenant': { slug: { type: 'string' }, confirm: { type: 'string' } },
} as const;
type CommandName = keyof typeof SPECS;
const isCommand = (c: string): c is CommandName => Object.prototype.hasOwnProperty.call(SPECS, c);

/** Parses argv (without `node` and the script); throws CliUsageError with a one-line reason. */
export function parseArgs(argv: readonly string[]): CliCommand {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') return { command: 'help' };
  if (!isCommand(command)) throw new CliUsageError(`unknown command "${command}"`);
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseNodeArgs({ args: [...rest], options: SPECS[command], strict: true, allowPositionals: false }).values as typeof values;
  } catch (err) {
    throw new CliUsageError((err as Error).message.split('\n')[0]!);
  }
  const need = (k: string): string => {
    const v = values[k];
    if (typeof v !== 'string' || v.trim() === '') throw new CliUsageError(`--${k} is required`);
    return v.trim();
  };
  if (command === 'ensure-indexes') return { command };
  if (command === 'remove-tenant') {
    const slug = need('slug');
    // Typed confirmation: the slug twice, so a slip of history or a pasted line cannot drop a tenant.
    if (values.confirm !== slug) throw new CliUsageError('--confirm must repeat the slug exactly: removing a tenant deletes its users and audit trail');
    return { command, slug };
  }
  if (command === 'create-tenant') {
    const adminName = typeof values['admin-name'] === 'string' ? values['admin-name'] : undefined;
    return { command, slug: need('slug'), name: need('name'), adminEmail: need('admin-email'), adminName, mfaRequired: values['mfa-required'] === true };
  }
  const passwordEnv = need('password-env');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(passwordEnv)) throw new CliUsageError('--password-env takes the NAME of an environment variable');
  return { command, email: need('email'), passwordEnv };
}

export interface CliStores {
  stores: StoreSet;
  close(): Promise<void>;
}

export interface MongoLayoutOptions {
  layout: MongooseLayout;
  databasePrefix?: string;
}

export interface CliDeps {
  /** Opens the stores for a MongoDB URI (default: mongoose adapters; tests inject memory ones). */
  openStores?: (uri: string, layout: MongoLayoutOptions) => Promise<CliStores>;
  /** Extra context options (tests pass cheap argon2 parameters). */
  options?: Partial<StepUpOptions>;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

async function openMongo(uri: string, layout: MongoLayoutOptions): Promise<CliStores> {
  const conn = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 10_000 }).asPromise();
  // Operator commands may wait longer than a request: an index build on a large collection takes time.
  const stores = createMongooseStores(conn, { ...layout, timeoutMs: 60_000 });
  return { stores, close: () => conn.close() };
}

// The CLI creates accounts and removes tenants; it holds no sessions, so there are none to end here.
const NO_SESSIONS = { destroy: (_sid: string, callback?: (err?: unknown) => void) => callback?.() };

function layoutOf(env: NodeJS.ProcessEnv): MongoLayoutOptions {
  const layout = env.STEPUP_MONGODB_LAYOUT || 'shared';
  if (layout !== 'shared' && layout !== 'database-per-tenant') throw new CliUsageError('STEPUP_MONGODB_LAYOUT must be shared or database-per-tenant');
  return { layout, databasePrefix: env.STEPUP_MONGODB_DATABASE_PREFIX || undefined };
}

/** Runs one command; resolves to the process exit code (0 ok, 1 failed, 2 usage). */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, deps: CliDeps = {}): Promise<number> {
  const out = deps.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = deps.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  let cmd: CliCommand;
  let layout: MongoLayoutOptions;
  try {
    cmd = parseArgs(argv);
    layout = layoutOf(env);
  } catch (e) {
    if (!(e instanceof CliUsageError)) throw e;
    err(`passport-stepup: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (cmd.command === 'help') {
    out(USAGE);
    return 0;
  }
  const uri = env.MONGODB_URI;
  if (!uri) {
    err(
      'passport-stepup: MONGODB_URI is not set. The CLI writes tenants and users to the MongoDB your app uses; ' +
        "the in-memory stores live inside one app process and a CLI cannot reach them (use the app's admin API or its bootstrap instead).",
    );
    return 1;
  }
  let password: string | undefined;
  if (cmd.command === 'create-superadmin') {
    password = env[cmd.passwordEnv];
    if (!password) {
      err(`passport-stepup: the environment variable ${cmd.passwordEnv} is empty or not set`);
      return 1;
    }
  }

  let opened: CliStores | undefined;
  try {
    opened = await (deps.openStores ?? openMongo)(uri, layout);
    const { stores } = opened;
    if (cmd.command === 'ensure-indexes') {
      await stores.ensureIndexes?.();
      out(JSON.stringify({ indexes: 'ok', layout: layout.layout }));
      return 0;
    }
    // The first writes of a deployment: the unique indexes must exist before them (idempotent).
    await stores.ensureIndexes?.();
    const ctx = createContext({
      issuer: 'passport-stepup-cli',
      // Only hashing happens here: throwaway secrets, nothing is sealed or signed with them.
      session: { secret: randomBytes(32).toString('hex') },
      keys: [{ id: 'cli', key: randomBytes(32) }],
      stores: opened.stores,
      logger: { info: () => undefined, warn: (m) => err(`warning: ${m}`), error: (m) => err(`error: ${m}`) },
      ...(deps.options ?? {}),
    }, NO_SESSIONS);
    if (cmd.command === 'create-tenant') {
      const r = await provisionTenant(ctx, null, null, {
        slug: cmd.slug,
        name: cmd.name,
        policy: cmd.mfaRequired ? { mfaRequired: true } : undefined,
        admin: { email: cmd.adminEmail, name: cmd.adminName },
      });
      out(JSON.stringify({ tenant: { id: r.tenant.id, slug: r.tenant.slug, name: r.tenant.name }, admin: { id: r.admin.id, email: r.admin.email }, initialPassword: r.initialPassword }, null, 2));
      return 0;
    }
    if (cmd.command === 'remove-tenant') {
      if (!stores.dropTenantData) throw new Error('these stores cannot remove a tenant');
      const tenant = await stores.tenants.findBySlug(cmd.slug);
      await stores.dropTenantData(cmd.slug);
      // Audited where it survives the removal: the platform tenant's trail (else the shared trail under the old id).
      const platform = await stores.tenants.findBySlug('platform');
      await ctx.record(null, {
        tenantId: platform?.id ?? tenant?.id ?? cmd.slug,
        userId: null,
        actorId: null,
        type: 'tenant_removed',
        details: { slug: cmd.slug, tenantId: tenant?.id ?? null, via: 'cli', found: Boolean(tenant) },
      });
      out(JSON.stringify({ removed: cmd.slug, found: Boolean(tenant) }));
      return 0;
    }
    const r = await bootstrapSuperadmin(ctx, { email: cmd.email, password: password! });
    out(JSON.stringify({ tenant: r.tenant.slug, user: r.user, created: r.created }, null, 2));
    return 0;
  } catch (e) {
    const message = e instanceof StepUpError || e instanceof TypeError ? e.message : (e as Error)?.message ?? String(e);
    // A URI can carry credentials: never echo it.
    err(`passport-stepup: ${message.split(uri).join('<MONGODB_URI>')}`);
    return 1;
  } finally {
    await opened?.close().catch(() => undefined);
  }
}
