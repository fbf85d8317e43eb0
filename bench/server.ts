// A benchmark server in its own process, so the load generator does not share its event loop.
// Usage: tsx bench/server.ts <bare|session|plugin> ; prints one JSON line {port, cookie?, pendingCookies?}.
import { internalContextOf } from '../testing';
import express from 'express';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { Redis } from 'ioredis';
import { Passport } from 'passport';
import { createStepUp, MemoryAuditStore, MemoryTenantStore, MemoryUserStore } from '../index';
import { hotp, decodeSecret, stepAt } from '../lib/factors/totp';
import { benchTotpSecret } from './lib';
import { totpAad } from '../lib/auth/verifiers';

const variant = process.argv[2] ?? 'bare';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'bench-session-secret-0123456789abcdef0123456789';
// The same user object the plugin keeps in the session (UUID ids), so both baselines carry the same data.
const USER = { id: '532f4d27-534a-487c-ba34-099ff6390f18', tenantId: 'e43d9ae7-0c4d-4232-af02-af3c1d9716cb', tenant: 'acme', email: 'user0@acme.test', roles: ['user'] as const };

function mainThreadCpuMicros(): number | null {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return null;
  }
}

function listen(app: express.Express): Promise<{ server: http.Server; port: number }> {
  // CPU time this process has spent (µs), for CPU-per-request figures that waiting does not inflate.
  // `main`: the main thread's share (Linux /proc, 10 ms ticks); the rest is argon2's and GC's threads.
  app.get('/bench/cpu', (_req, res) => {
    const u = process.cpuUsage();
    res.json({ cpu: u.user + u.system, main: mainThreadCpuMicros() });
  });
  return new Promise((resolve) => {
    const server = http.createServer(app);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

function cookieOf(res: Response): string {
  const raw = res.headers.getSetCookie?.() ?? [];
  return raw.map((c) => c.split(';')[0]).join('; ');
}

async function post(port: number, path: string, body: unknown, cookie?: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
}

async function bare(): Promise<void> {
  const app = express();
  app.get('/guarded', (_req, res) => {
    res.json({ user: USER });
  });
  const { port } = await listen(app);
  console.log(JSON.stringify({ port }));
}

async function sessionBaseline(): Promise<void> {
  const redis = new Redis(redisUrl);
  const counted = countCommands(redis);
  const passport = new Passport();
  passport.serializeUser((u, done) => done(null, u));
  passport.deserializeUser((u: Express.User, done) => done(null, u));
  const app = express();
  app.use(session({ secret: SECRET, store: new RedisStore({ client: redis, prefix: `bench:${randomBytes(4).toString('hex')}:` }), resave: false, saveUninitialized: false, name: 'sid', cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: 43200 * 1000 } }));
  app.use(passport.session());
  app.get('/bench/redis', (_req, res) => {
    res.json(counted());
  });
  app.post('/login', (req, res, next) => req.login({ ...USER, roles: [...USER.roles] }, (err) => (err ? next(err) : res.json({ ok: true }))));
  app.get('/guarded', (req, res) => {
    if (!req.isAuthenticated()) return res.status(401).end();
    res.json({ user: req.user });
  });
  const { port } = await listen(app);
  const cookie = cookieOf(await post(port, '/login', {}));
  console.log(JSON.stringify({ port, cookie }));
}

/**
 * Counts the commands this process sends to Redis, by name (a script counts once: one round trip),
 * read by the bench at `GET /bench/redis`. `INFO commandstats` would also count the commands a script
 * runs inside Redis; this counts what the client asks for.
 */
function countCommands(redis: Redis): () => Record<string, number> {
  const counts: Record<string, number> = {};
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((cmd: { name: string }, ...rest: unknown[]) => {
    const name = cmd.name.toLowerCase();
    counts[name] = (counts[name] ?? 0) + 1;
    return (send as (...a: unknown[]) => unknown)(cmd, ...rest);
  }) as typeof redis.sendCommand;
  return () => ({ ...counts });
}

async function plugin(): Promise<void> {
  const redis = new Redis(redisUrl);
  const counted = countCommands(redis);
  const users = new MemoryUserStore();
  const tenants = new MemoryTenantStore();
  const stepUp = createStepUp({
    issuer: 'bench',
    session: { secret: SECRET },
    keys: [{ id: 'k1', key: randomBytes(32) }],
    stores: { users, tenants, audit: new MemoryAuditStore() },
    redis,
    redisPrefix: `bench:${randomBytes(4).toString('hex')}:`,
    passport: new Passport(),
    lockout: { maxFailures: 10, lockSeconds: 900 },
    // Generous password budgets for the login throughput scenarios; BENCH_PASSWORD_LIMITS=default keeps the
    // plugin's own (scenario 4: an attack meets what a deployment gets).
    ...(process.env.BENCH_PASSWORD_LIMITS === 'default' ? {} : { passwordLimits: { perAccount: 100, perIp: 100000, lockSeconds: 60 } }),
    // BENCH_SHIELD / BENCH_PASSWORD: JSON options for the shield and the argon2 queue (scenarios 3, 4).
    ...(process.env.BENCH_SHIELD ? { shield: JSON.parse(process.env.BENCH_SHIELD) as object } : {}),
    ...(process.env.BENCH_PASSWORD ? { password: JSON.parse(process.env.BENCH_PASSWORD) as object } : {}),
  });
  const app = express();
  // The load generator gives each simulated client its own address in X-Forwarded-For.
  app.set('trust proxy', 'loopback');
  app.get('/bench/redis', (_req, res) => {
    res.json(counted());
  });
  app.use(stepUp.session);
  app.use('/auth', stepUp.router);
  app.get('/guarded', stepUp.requireAuth({ aal: 2 }), (req, res) => {
    res.json({ user: req.user });
  });
  const tenant = await stepUp.createTenant({ slug: 'acme', name: 'Acme' });
  const seed = process.env.BENCH_TOTP_SEED ?? 'bench-default-seed';
  const secrets: Record<string, string> = {};
  const count = Number(process.env.BENCH_USERS ?? 2);
  for (let i = 0; i < count; i++) {
    const email = `user${i}@acme.test`;
    const { user } = await stepUp.createUser({ tenantId: tenant.id, email, password: 'bench password 123' });
    const secret = benchTotpSecret(seed, email);
    secrets[email] = secret;
    await users.update(tenant.id, user.id, { mfa: { totp: { secret: internalContextOf(stepUp).box.seal(secret, totpAad(user)), enrolledAt: new Date(), lastStep: -1 } } });
  }
  const { port } = await listen(app);
  // The guarded-request user: logged in with password + TOTP.
  const login = await post(port, '/auth/login', { tenant: 'acme', email: 'user0@acme.test', password: 'bench password 123' });
  const pendingCookie = cookieOf(login);
  const code = hotp(decodeSecret(secrets['user0@acme.test']!), stepAt(Date.now()));
  const done = await post(port, '/auth/mfa/challenge', { method: 'totp', code }, pendingCookie);
  console.log(JSON.stringify({ port, cookie: cookieOf(done), users: count, status: done.status }));
}

const run = { bare, session: sessionBaseline, plugin }[variant];
if (!run) {
  console.error(`unknown variant ${variant}`);
  process.exit(2);
}
run().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
