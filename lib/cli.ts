import { randomBytes } from 'node:crypto';
import { parseArgs as parseNodeArgs } from 'node:util';
import mongoose from 'mongoose';
import { bootstrapSuperadmin, provisionTenant } from './admin/actions';
import type { StepUpOptions } from './config';
import { createContext } from './context';
import { StepUpError } from './errors';
import { createMongooseStores } from './stores/mongoose';
import type { AuditStore, TenantStore, UserStore } from './stores/ports';

/**
 * `passport-stepup`: operator commands against the app's configured stores (MongoDB via MONGODB_URI).
 *
 *   passport-stepup create-tenant --slug acme --name Acme --admin-email admin@acme.test [--admin-name N] [--mfa-required]
 *   passport-stepup create-superadmin --email root@example.com --password-env STEPUP_SUPERADMIN_PASSWORD
 *
 * Passwords are never taken on the command line (shell history, `ps`): only from a named variable.
 */
export const USAGE = `usage:
  passport-stepup create-tenant --slug <slug> --name <name> --admin-email <email> [--admin-name <name>] [--mfa-required]
  passport-stepup create-superadmin --email <email> --password-env <VARIABLE>
environment:
  MONGODB_URI   the app's MongoDB (required: the CLI writes where the app reads)`;

export type CliCommand =
  | { command: 'help' }
  | { command: 'create-tenant'; slug: string; name: string; adminEmail: string; adminName?: string; mfaRequired: boolean }
  | { command: 'create-superadmin'; email: string; passwordEnv: string };

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
} as const;

/** Parses argv (without `node` and the script); throws CliUsageError with a one-line reason. */
export function parseArgs(argv: readonly string[]): CliCommand {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') return { command: 'help' };
  if (command !== 'create-tenant' && command !== 'create-superadmin') throw new CliUsageError(`unknown command "${command}"`);
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
  if (command === 'create-tenant') {
    const adminName = typeof values['admin-name'] === 'string' ? values['admin-name'] : undefined;
    return { command, slug: need('slug'), name: need('name'), adminEmail: need('admin-email'), adminName, mfaRequired: values['mfa-required'] === true };
  }
  const passwordEnv = need('password-env');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(passwordEnv)) throw new CliUsageError('--password-env takes the NAME of an environment variable');
  return { command, email: need('email'), passwordEnv };
}

export interface CliStores {
  stores: { users: UserStore; tenants: TenantStore; audit: AuditStore };
  close(): Promise<void>;
}

export interface CliDeps {
  /** Opens the stores for a MongoDB URI (default: mongoose adapters; tests inject memory ones). */
  openStores?: (uri: string) => Promise<CliStores>;
  /** Extra context options (tests pass cheap argon2 parameters). */
  options?: Partial<StepUpOptions>;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

async function openMongo(uri: string): Promise<CliStores> {
  const conn = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 10_000 }).asPromise();
  const stores = createMongooseStores(conn);
  // The unique indexes must exist before the first insert, or a duplicate would slip through.
  await Promise.all([stores.users.model.init(), stores.tenants.model.init(), stores.audit.model.init()]);
  return { stores, close: () => conn.close() };
}

/** Runs one command; resolves to the process exit code (0 ok, 1 failed, 2 usage). */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, deps: CliDeps = {}): Promise<number> {
  const out = deps.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = deps.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  let cmd: CliCommand;
  try {
    cmd = parseArgs(argv);
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
    opened = await (deps.openStores ?? openMongo)(uri);
    const ctx = createContext({
      issuer: 'passport-stepup-cli',
      // Only hashing happens here: throwaway secrets, nothing is sealed or signed with them.
      session: { secret: randomBytes(32).toString('hex') },
      keys: [{ id: 'cli', key: randomBytes(32) }],
      stores: opened.stores,
      logger: { info: () => undefined, warn: (m) => err(`warning: ${m}`), error: (m) => err(`error: ${m}`) },
      ...(deps.options ?? {}),
    });
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
