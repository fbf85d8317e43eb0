import { execFile } from 'node:child_process';
import path from 'node:path';
import type { Connection } from 'mongoose';
import { main, parseArgs, CliUsageError, type CliStores } from '../../lib/cli';
import { createMemoryStores } from '../../lib/stores/memory';
import { createMongooseStores, tenantDatabaseName } from '../../lib/stores/mongoose';
import { FAST_ARGON2 } from '../helpers/app';
import { connect, dbPrefix, describeWithMongo, dropDatabases, uriWithDb } from '../helpers/mongo';

// The operator CLI: argument parsing; the command flow on memory stores (fast, every branch); then every
// command against the MongoDB the suites use (MONGODB_URI or the private FerretDB), in both layouts, and
// the bin script for real.

describe('passport-stepup CLI: arguments', () => {
  it('parses create-tenant', () => {
    expect(parseArgs(['create-tenant', '--slug', 'acme', '--name', 'Acme Inc', '--admin-email', 'a@acme.test'])).toEqual({
      command: 'create-tenant',
      slug: 'acme',
      name: 'Acme Inc',
      adminEmail: 'a@acme.test',
      adminName: undefined,
      mfaRequired: false,
    });
    expect(parseArgs(['create-tenant', '--slug=acme', '--name=Acme', '--admin-email=a@acme.test', '--admin-name', 'Ann', '--mfa-required'])).toMatchObject({
      adminName: 'Ann',
      mfaRequired: true,
    });
  });

  it('parses create-superadmin and takes the password only from a named variable', () => {
    expect(parseArgs(['create-superadmin', '--email', 'root@x.test', '--password-env', 'ROOT_PW'])).toEqual({ command: 'create-superadmin', email: 'root@x.test', passwordEnv: 'ROOT_PW' });
    expect(() => parseArgs(['create-superadmin', '--email', 'root@x.test', '--password', 'hunter2'])).toThrow(CliUsageError);
    expect(() => parseArgs(['create-superadmin', '--email', 'root@x.test', '--password-env', 'hunter2 is my password'])).toThrow(/NAME of an environment variable/);
  });

  it('refuses unknown commands, unknown or missing options and positionals', () => {
    expect(parseArgs([])).toEqual({ command: 'help' });
    expect(parseArgs(['--help'])).toEqual({ command: 'help' });
    for (const argv of [
      ['drop-tenant'],
      ['remove-tenant', '--slug', 'acme'],
      ['remove-tenant', '--slug', 'acme', '--confirm', 'acme2'],
      ['remove-tenant', '--slug', 'acme', '--confirm', 'ACME'],
      ['ensure-indexes', '--force'],
      ['create-tenant', '--slug', 'acme', '--name', 'Acme'],
      ['create-tenant', '--slug', 'acme', '--name', 'Acme', '--admin-email', 'a@acme.test', '--tenant-id', 'x'],
      ['create-tenant', 'acme', '--slug', 'acme', '--name', 'Acme', '--admin-email', 'a@acme.test'],
      ['create-tenant', '--slug', '', '--name', 'Acme', '--admin-email', 'a@acme.test'],
      ['create-superadmin', '--password-env', 'PW'],
    ]) {
      expect(() => parseArgs(argv)).toThrow(CliUsageError);
    }
  });
});

describe('passport-stepup CLI: index and removal arguments', () => {
  it('parses ensure-indexes and remove-tenant with its typed confirmation', () => {
    expect(parseArgs(['ensure-indexes'])).toEqual({ command: 'ensure-indexes' });
    expect(parseArgs(['remove-tenant', '--slug', 'acme', '--confirm', 'acme'])).toEqual({ command: 'remove-tenant', slug: 'acme' });
    expect(() => parseArgs(['remove-tenant', '--slug', 'acme', '--confirm', 'acme '])).toThrow(/--confirm must repeat the slug/);
  });
});

describe('passport-stepup CLI: commands', () => {
  const stores = createMemoryStores();
  const opened: string[] = [];
  let closed = 0;
  const openStores = async (uri: string): Promise<CliStores> => {
    opened.push(uri);
    return { stores, close: async () => void closed++ };
  };

  async function run(argv: string[], env: NodeJS.ProcessEnv = { MONGODB_URI: 'mongodb://db.test/app' }) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, env, { openStores, options: { password: { argon2: FAST_ARGON2 } }, out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('creates a tenant and its first admin, printing the initial password once', async () => {
    const r = await run(['create-tenant', '--slug', 'acme', '--name', 'Acme', '--admin-email', 'Boss@Acme.test', '--mfa-required']);
    expect(r).toMatchObject({ code: 0, err: '' });
    const printed = JSON.parse(r.out);
    expect(printed).toMatchObject({ tenant: { slug: 'acme', name: 'Acme' }, admin: { email: 'boss@acme.test' }, initialPassword: expect.stringMatching(/^[A-Za-z0-9]{20}$/) });
    const tenant = (await stores.tenants.findBySlug('acme'))!;
    expect(tenant.policy.mfaRequired).toBe(true);
    expect((await stores.users.findByEmail(tenant.id, 'boss@acme.test'))!.roles).toEqual(['admin']);
    expect((await stores.audit.list(tenant.id, { limit: 10 })).map((e) => e.type).sort()).toEqual(['tenant_created', 'user_provisioned']);
    expect(opened).toContain('mongodb://db.test/app');
    expect(closed).toBeGreaterThan(0);

    const dup = await run(['create-tenant', '--slug', 'acme', '--name', 'Acme', '--admin-email', 'x@acme.test']);
    expect(dup.code).toBe(1);
    expect(dup.err).toMatch(/slug exists/);
    const reserved = await run(['create-tenant', '--slug', 'platform', '--name', 'P', '--admin-email', 'x@x.test']);
    expect(reserved.code).toBe(1);
    expect(reserved.err).toMatch(/reserved/);
    expect(await stores.tenants.findBySlug('platform')).toBeNull();
    const bad = await run(['create-tenant', '--slug', 'Not_A_Slug', '--name', 'X', '--admin-email', 'x@x.test']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/slug/);
  });

  it('creates the superadmin idempotently, from a password in the environment', async () => {
    const env = { MONGODB_URI: 'mongodb://db.test/app', ROOT_PW: 'a long root password' };
    const first = await run(['create-superadmin', '--email', 'root@platform.test', '--password-env', 'ROOT_PW'], env);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({ tenant: 'platform', user: { email: 'root@platform.test' }, created: { tenant: true, user: true } });
    expect(first.out + first.err).not.toContain('a long root password');
    const second = await run(['create-superadmin', '--email', 'root@platform.test', '--password-env', 'ROOT_PW'], { ...env, ROOT_PW: 'another long password' });
    expect(JSON.parse(second.out).created).toEqual({ tenant: false, user: false });
    const platform = (await stores.tenants.findBySlug('platform'))!;
    expect(await stores.users.list(platform.id, { limit: 10 })).toHaveLength(1);

    const missing = await run(['create-superadmin', '--email', 'root@platform.test', '--password-env', 'NOPE'], env);
    expect(missing).toMatchObject({ code: 1, out: '' });
    expect(missing.err).toMatch(/NOPE is empty or not set/);
  });

  it('explains that memory stores make no sense without MONGODB_URI, and never echoes the URI', async () => {
    const r = await run(['create-tenant', '--slug', 'x', '--name', 'X', '--admin-email', 'x@x.test'], {});
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/MONGODB_URI is not set/);
    expect(r.err).toMatch(/in-memory stores/);

    const uri = 'mongodb://user:s3cret@db.test/app';
    const failing = await main(['create-tenant', '--slug', 'y', '--name', 'Y', '--admin-email', 'y@y.test'], { MONGODB_URI: uri }, {
      openStores: async () => {
        throw new Error(`could not connect to ${uri}`);
      },
      out: () => undefined,
      err: (l) => expect(l).not.toContain('s3cret'),
    });
    expect(failing).toBe(1);
  });

  it('prints usage with exit code 2 for a usage error', async () => {
    const r = await run(['create-tenant', '--slug', 'acme']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--name is required[\s\S]*usage:/);
  });
});

const PREFIX = dbPrefix('cli');

describeWithMongo('passport-stepup CLI on MongoDB', () => {
  let conn: Connection;
  beforeAll(async () => {
    conn = await connect(`${PREFIX}_probe`);
  });
  afterAll(() => dropDatabases(conn, PREFIX));

  async function cli(argv: string[], env: NodeJS.ProcessEnv) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, env, { options: { password: { argon2: FAST_ARGON2 } }, out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  for (const layout of ['shared', 'database-per-tenant'] as const) {
    it(`${layout}: create-superadmin, create-tenant, ensure-indexes and remove-tenant write where the app reads`, async () => {
      const db = `${PREFIX}_${layout === 'shared' ? 's' : 'p'}`;
      const env = { MONGODB_URI: uriWithDb(db), STEPUP_MONGODB_LAYOUT: layout, STEPUP_MONGODB_DATABASE_PREFIX: `${db}_`, ROOT_PW: 'a long root password' };
      const appDb = conn.useDb(db, { useCache: true });
      const app = createMongooseStores(appDb, { layout, databasePrefix: `${db}_` });
      const databaseName = (slug: string) => tenantDatabaseName(appDb, { layout, databasePrefix: `${db}_` }, slug);

      expect(await cli(['ensure-indexes'], env)).toMatchObject({ code: 0, out: JSON.stringify({ indexes: 'ok', layout }) });
      const indexes = (await conn.useDb(db).collection('users').indexes()).map((i) => [i.key, Boolean(i.unique)]);
      expect(indexes).toContainEqual([{ tenantId: 1, email: 1 }, true]);

      const root = await cli(['create-superadmin', '--email', 'root@platform.test', '--password-env', 'ROOT_PW'], env);
      expect(root).toMatchObject({ code: 0, err: '' });
      expect(JSON.parse(root.out).created).toEqual({ tenant: true, user: true });
      const made = await cli(['create-tenant', '--slug', 'acme', '--name', 'Acme', '--admin-email', 'Boss@Acme.test'], env);
      expect(made).toMatchObject({ code: 0, err: '' });
      expect((await cli(['create-tenant', '--slug', 'acme', '--name', 'Acme', '--admin-email', 'x@acme.test'], env)).err).toMatch(/slug exists/);

      // The app's stores (same layout) see what the CLI wrote, in the databases the layout says.
      const acme = (await app.tenants.findBySlug('acme'))!;
      const platform = (await app.tenants.findBySlug('platform'))!;
      const boss = (await app.users.findByEmail(acme.id, 'boss@acme.test'))!;
      expect(boss.roles).toEqual(['admin']);
      expect(boss.passwordHash).toMatch(/^\$argon2id\$/);
      expect((await app.users.list(platform.id, { limit: 5 })).map((u) => u.roles)).toEqual([['superadmin']]);
      expect(await conn.useDb(databaseName('acme')).collection('users').countDocuments({ tenantId: acme.id })).toBe(1);
      expect(databaseName('acme')).toBe(layout === 'shared' ? db : `${db}_acme`);

      // Removal: a typed confirmation, then the data and the registry entry go; audited on the platform trail.
      expect((await cli(['remove-tenant', '--slug', 'acme'], env)).code).toBe(2);
      expect((await cli(['remove-tenant', '--slug', 'platform', '--confirm', 'platform'], env)).code).toBe(1);
      const removed = await cli(['remove-tenant', '--slug', 'acme', '--confirm', 'acme'], env);
      expect(removed).toMatchObject({ code: 0, out: JSON.stringify({ removed: 'acme', found: true }) });
      expect(await app.tenants.findBySlug('acme')).toBeNull();
      expect(await conn.useDb(databaseName('acme')).collection('users').countDocuments({ tenantId: acme.id })).toBe(0);
      expect((await app.users.list(platform.id, { limit: 5 })).length).toBe(1);
      const trail = await app.audit.list(platform.id, { limit: 10 });
      expect(trail[0]).toMatchObject({ type: 'tenant_removed', details: { slug: 'acme', tenantId: acme.id, via: 'cli' } });
      if (layout === 'database-per-tenant') {
        const { databases } = await conn.db!.admin().listDatabases({ nameOnly: true });
        expect(databases.map((d) => d.name)).not.toContain(`${db}_acme`);
      }
    });
  }

  it('bin/passport-stepup.js ensure-indexes runs against the server', async () => {
    const bin = path.join(__dirname, '..', '..', 'bin', 'passport-stepup.js');
    const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [bin, 'ensure-indexes'], { env: { ...process.env, MONGODB_URI: uriWithDb(`${PREFIX}_bin`) }, timeout: 60_000 }, (error, stdout) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout }),
      );
    });
    expect(r).toEqual({ code: 0, stdout: `${JSON.stringify({ indexes: 'ok', layout: 'shared' })}\n` });
    expect((await conn.useDb(`${PREFIX}_bin`).collection('tenants').indexes()).some((i) => i.unique && i.key.slug === 1)).toBe(true);
  });
});

describe('bin/passport-stepup.js', () => {
  const bin = path.join(__dirname, '..', '..', 'bin', 'passport-stepup.js');
  const exec = (args: string[], env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [bin, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });

  it('runs from a checkout (tsx) and fails clearly without MONGODB_URI', async () => {
    const { MONGODB_URI: _drop, ...env } = process.env;
    const help = await exec(['--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/create-superadmin --email/);
    const r = await exec(['create-tenant', '--slug', 'acme', '--name', 'Acme', '--admin-email', 'a@acme.test'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/MONGODB_URI is not set/);
  });
});
