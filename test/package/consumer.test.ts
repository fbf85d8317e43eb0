/**
 * The package as a consumer gets it: `npm pack` output installed into a temporary folder (the tarball
 * extracted as npm would, its dependencies and the peers linked from this repository's node_modules:
 * never the network), then (a) the README quick start as an ES-module TypeScript app compiled with
 * `tsc --strict` and `skipLibCheck: false` (only the @types packages the README names) on Express 5,
 * and (b) a CommonJS JavaScript app on Express 4, each signing in over HTTP.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, watch, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';

const repo = path.resolve(__dirname, '..', '..');
const nm = path.join(repo, 'node_modules');
const tsc = path.join(nm, 'typescript', 'bin', 'tsc');
const PASSWORD = 'correct horse battery staple';

let dir: string;
let tarball: string;
const children: ChildProcess[] = [];

function link(target: string, at: string): void {
  mkdirSync(path.dirname(at), { recursive: true });
  symlinkSync(target, at, 'dir');
}

/** node_modules for one app: the packed package, its declared dependencies, and the peers given. */
function install(app: string, peers: Record<string, string>): void {
  const pkgDir = path.join(app, 'node_modules', 'passport-stepup');
  mkdirSync(pkgDir, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', pkgDir, '--strip-components=1']);
  const manifest = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  // Only what the manifest declares: a dependency missing from package.json fails to load here.
  for (const dep of Object.keys(manifest.dependencies)) link(path.join(nm, dep), path.join(app, 'node_modules', dep));
  for (const [name, from] of Object.entries(peers)) link(path.join(nm, from), path.join(app, 'node_modules', name));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts `node <file>` in `cwd` on a free port; resolves once it prints "listening on http://localhost:<port>". */
async function start(cwd: string, file: string): Promise<{ port: number; output: () => string }> {
  const port = await freePort();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd, env: { ...process.env, PORT: String(port), ALICE_PASSWORD: PASSWORD, NODE_ENV: 'test' }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 20 s:\n${out}`)), 20_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes(`listening on http://localhost:${port}`)) {
        clearTimeout(timer);
        resolve({ port, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${out}`));
    });
  });
}

/** Logs in without `tenant` (defaultTenant), then reads the guarded route and the session with the cookie. */
async function signIn(port: number): Promise<{ profile: unknown; session: unknown }> {
  const base = `http://localhost:${port}`;
  const wrong = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'alice@acme.test', password: 'not the password' }) });
  expect(wrong.status).toBe(401);
  const anonymous = await fetch(`${base}/api/profile`);
  expect(anonymous.status).toBe(401);
  const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'alice@acme.test', password: PASSWORD }) });
  expect(login.status).toBe(200);
  expect(await login.json()).toMatchObject({ state: 'authenticated', aal: 1, user: { email: 'alice@acme.test', tenant: 'acme' } });
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const profile = await fetch(`${base}/api/profile`, { headers: { cookie } });
  expect(profile.status).toBe(200);
  const session = await fetch(`${base}/auth/session`, { headers: { cookie } });
  return { profile: await profile.json(), session: await session.json() };
}

/**
 * Under `npm test` (scripts/test.js), dist/ is written by the type check's own program, beside the
 * suite: wait for it to end (STEPUP_BUILD_STAMP holds its exit code). Run alone, build here.
 */
async function built(): Promise<void> {
  const stamp = process.env.STEPUP_BUILD_STAMP;
  if (!stamp) {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: repo, stdio: 'pipe' });
    return;
  }
  const read = (): { code: number } | undefined => (existsSync(stamp) ? (JSON.parse(readFileSync(stamp, 'utf8')) as { code: number }) : undefined);
  const outcome = await new Promise<{ code: number }>((resolve) => {
    const look = () => {
      const found = read();
      if (found) {
        watcher.close();
        resolve(found);
      }
    };
    const watcher = watch(path.dirname(stamp), look);
    look(); // it may be there already
  });
  if (outcome.code !== 0) throw new Error('the type check and build (scripts/check-and-build.js) failed: its errors are printed at the end of npm test');
}

beforeAll(async () => {
  // One build and one pack for the whole file (the slow part).
  await built();
  dir = mkdtempSync(path.join(tmpdir(), 'stepup-consumer-'));
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: repo, encoding: 'utf8' })) as { filename: string }[];
  tarball = path.join(dir, packed[0]!.filename);
}, 300_000);

afterAll(() => {
  for (const c of children) c.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships the entry points, declaration maps and docs, and no tests', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/index.d.ts.map', 'dist/mongoose.js', 'dist/testing.js', 'dist/client/index.js', 'dist/client/index.d.ts', 'dist/client/package.json', 'README.md', 'CHANGELOG.md', 'docs/OPTIONS.md', 'docs/openapi.json']) {
      expect(files).toContain(`package/${f}`);
    }
    expect(files.filter((f) => /^package\/(test|bench|example-app)\//.test(f))).toEqual([]);
  });

  it('(a) ESM TypeScript, Express 5: the README quick start compiles with tsc --strict, skipLibCheck false, and signs in', async () => {
    const app = path.join(dir, 'esm');
    install(app, {
      express: 'express',
      'express-session': 'express-session',
      passport: 'passport',
      '@types/express': '@types/express',
      '@types/express-session': '@types/express-session',
      '@types/passport': '@types/passport',
      '@types/node': '@types/node',
    });
    const readme = readFileSync(path.join(dir, 'esm', 'node_modules', 'passport-stepup', 'README.md'), 'utf8');
    const block = /<!-- quick-start -->\s*```ts\n([\s\S]*?)```\s*<!-- \/quick-start -->/.exec(readme);
    expect(block).not.toBeNull();
    const extra = [
      // Types a consumer relies on, checked by the compiler: req.user.tenant, req.session.mfa, response types.
      "import type { LoginResponse, SessionView, StepUpUser, MfaSession, StepUpOptions } from 'passport-stepup';",
      "const typed = (u: Express.User): StepUpUser => u; void typed;",
      "const state = (m: MfaSession | undefined): string | undefined => m?.state; void state;",
      "const login = (r: LoginResponse): string => r.state; void login;",
      "const view = (r: SessionView): string => r.state; void view;",
      "const opts: Pick<StepUpOptions, 'defaultTenant'> = { defaultTenant: 'acme' }; void opts;",
    ].join('\n');
    writeFileSync(path.join(app, 'app.ts'), `${block![1]}\n${extra}\n`);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'esm-consumer', private: true, type: 'module' }));
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out', rootDir: '.' },
        files: ['app.ts'],
      }),
    );
    try {
      execFileSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      throw new Error(`tsc failed:\n${(err as { stdout?: string }).stdout ?? ''}`);
    }
    const { port } = await start(app, 'out/app.js');
    const { profile, session } = await signIn(port);
    expect(profile).toEqual({ email: 'alice@acme.test', tenant: 'acme', aal: 1 });
    expect(session).toMatchObject({ state: 'authenticated', aal: 1 });
  }, 120_000);

  it('(b) CommonJS JavaScript, Express 4: requires the package, refuses deep imports, signs in', async () => {
    const app = path.join(dir, 'cjs');
    install(app, { express: 'express4', 'express-session': 'express-session', passport: 'passport' });
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'cjs-consumer', private: true }));
    writeFileSync(
      path.join(app, 'app.js'),
      `'use strict';
const express = require('express');
const { createStepUp, createMemoryStores, StepUpError, sendError } = require('passport-stepup');
if (typeof StepUpError !== 'function' || typeof sendError !== 'function') throw new Error('public helpers missing');
let deep = 'exported';
try { require('passport-stepup/dist/lib/config'); } catch (e) { deep = e.code; }
console.log('deep import: ' + deep);
console.log('mongoose loaded: ' + Object.keys(require.cache).some((f) => f.includes('/mongoose/')));

(async () => {
  const stepUp = createStepUp({
    issuer: 'Acme',
    session: { secret: require('node:crypto').randomBytes(32).toString('hex') },
    keys: [{ id: 'k1', key: require('node:crypto').randomBytes(32) }],
    stores: createMemoryStores(),
    defaultTenant: 'acme',
  });
  const tenant = await stepUp.createTenant({ slug: 'acme', name: 'Acme' });
  await stepUp.createUser({ tenantId: tenant.id, email: 'alice@acme.test', password: process.env.ALICE_PASSWORD });
  const app = express();
  app.use(stepUp.session);
  app.use('/auth', stepUp.router);
  app.get('/api/profile', stepUp.requireAuth(), (req, res) => res.json({ email: req.user.email, tenant: req.user.tenant, aal: req.session.mfa.aal }));
  app.use(stepUp.errorHandler);
  app.listen(Number(process.env.PORT), () => console.log('listening on http://localhost:' + process.env.PORT));
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    expect(existsSync(path.join(app, 'node_modules', 'express', 'package.json'))).toBe(true);
    const { port, output } = await start(app, 'app.js');
    expect(output()).toContain('deep import: ERR_PACKAGE_PATH_NOT_EXPORTED');
    expect(output()).toContain('mongoose loaded: false');
    const { profile } = await signIn(port);
    expect(profile).toEqual({ email: 'alice@acme.test', tenant: 'acme', aal: 1 });
  }, 120_000);
});
