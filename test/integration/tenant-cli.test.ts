import { execFile } from 'node:child_process';
import path from 'node:path';
import { main, parseArgs, CliUsageError, type CliStores } from '../../lib/cli';
import { MemoryAuditStore, MemoryTenantStore, MemoryUserStore } from '../../lib/stores/memory';
import { FAST_ARGON2 } from '../helpers/app';

// The operator CLI. Argument parsing and the command flow run here on memory stores injected in
// place of MongoDB (none is available on this machine); the bin script is run once for real.

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

describe('passport-stepup CLI: commands', () => {
  const stores = { users: new MemoryUserStore(), tenants: new MemoryTenantStore(), audit: new MemoryAuditStore() };
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
