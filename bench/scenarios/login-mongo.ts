/**
 * Scenario 7: full logins (password + TOTP challenge) with the users in MongoDB (mongoose stores) beside
 * the same logins on the memory stores, both as ratios to raw argon2id verifications in the same run.
 * MongoDB: MONGODB_URI, or a private FerretDB (test/helpers/ferretdb.js) when the binary is there.
 * The app runs in a child process (`tsx bench/scenarios/login-mongo.ts serve <memory|mongo>`), like scenario 3.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import readline from 'node:readline';
import { randomBytes } from 'node:crypto';
import { verify, hash } from '@node-rs/argon2';
import express from 'express';
import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import { Passport } from 'passport';
import { ARGON2ID, OWASP_ARGON2 } from '../../lib/crypto/passwords';
import { hotp, decodeSecret, stepAt } from '../../lib/factors/totp';
import { totpAad } from '../../lib/auth/verifiers';
import { createMemoryStores } from '../../lib/stores/memory';
import { createMongooseStores } from '../../lib/stores/mongoose';
import { createStepUp } from '../../index';
import { internalContextOf } from '../../testing';
import { benchTotpSecret, newBenchSeed, record } from '../lib';

const PASSWORD = 'bench password 123';
const cookieOf = (res: Response) => (res.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
const post = (port: number, path: string, body: unknown, cookie?: string) =>
  fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify(body) });

async function throughput(seconds: number, concurrency: number, fn: (i: number) => Promise<boolean>): Promise<{ perSec: number; failures: number }> {
  const until = Date.now() + seconds * 1000;
  let done = 0;
  let failures = 0;
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until && failures <= 1000) {
        if (await fn(next++)) done++;
        else failures++;
      }
    }),
  );
  return { perSec: done / ((Date.now() - t0) / 1000), failures };
}

/** The child: the plugin on Redis sessions with memory or mongoose stores, `users` users with TOTP. */
async function serve(store: string): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL!);
  let conn: mongoose.Connection | undefined;
  let stores;
  if (store === 'mongo') {
    conn = await mongoose.createConnection(process.env.MONGODB_URI!, { dbName: process.env.BENCH_MONGO_DB, serverSelectionTimeoutMS: 5000 }).asPromise();
    stores = createMongooseStores(conn);
    await stores.ensureIndexes();
  } else {
    stores = createMemoryStores();
  }
  const stepUp = createStepUp({
    issuer: 'bench',
    session: { secret: 'bench-session-secret-0123456789abcdef0123456789' },
    keys: [{ id: 'k1', key: randomBytes(32) }],
    stores,
    redis,
    redisPrefix: `bench:${randomBytes(4).toString('hex')}:`,
    passport: new Passport(),
    lockout: { maxFailures: 10, lockSeconds: 900 },
    passwordLimits: { perAccount: 100, perIp: 100000, lockSeconds: 60 },
  });
  const app = express();
  app.use(stepUp.session);
  app.use('/auth', stepUp.router);
  const tenant = await stepUp.createTenant({ slug: 'acme', name: 'Acme' });
  const seed = process.env.BENCH_TOTP_SEED!;
  const count = Number(process.env.BENCH_USERS);
  // One argon2id hash for all (seeding is not measured); secrets sealed the way enrolment seals them.
  const { user: first } = await stepUp.createUser({ tenantId: tenant.id, email: 'user0@acme.test', password: PASSWORD });
  for (let i = 0; i < count; i++) {
    const email = `user${i}@acme.test`;
    const user = i === 0 ? first : await stores.users.create({ tenantId: tenant.id, email, roles: ['user'], passwordHash: first.passwordHash, emailVerifiedAt: new Date() });
    const sealed = internalContextOf(stepUp).box.seal(benchTotpSecret(seed, email), totpAad(user));
    await stores.users.update(tenant.id, user.id, { mfa: { totp: { secret: sealed, enrolledAt: new Date(), lastStep: -1 } } });
  }
  const server = http.createServer(app).listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as { port: number }).port })));
  process.on('SIGTERM', () => {
    server.close();
    void redis.quit();
    void conn?.close();
    process.exit(0);
  });
}

async function start(store: string, env: Record<string, string>): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, 'serve', store], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = readline.createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`login-mongo server (${store}) exited with ${code}`)));
  });
  rl.close();
  return { port: (JSON.parse(line) as { port: number }).port, child };
}

async function logins(store: string, env: Record<string, string>, seed: string, seconds: number, users: number): Promise<number> {
  const { port, child } = await start(store, { ...env, BENCH_USERS: String(users), BENCH_TOTP_SEED: seed });
  try {
    const one = async (i: number): Promise<boolean> => {
      if (i >= users) return false;
      const email = `user${i}@acme.test`;
      const pending = await post(port, '/auth/login', { tenant: 'acme', email, password: PASSWORD });
      if (pending.status !== 200) return false;
      const code = hotp(decodeSecret(benchTotpSecret(seed, email)), stepAt(Date.now()));
      return (await post(port, '/auth/mfa/challenge', { method: 'totp', code }, cookieOf(pending))).status === 200;
    };
    if (!(await one(0))) throw new Error(`a ${store} login failed`);
    const r = await throughput(seconds, 4, (i) => one(i + 1));
    if (r.failures > 0 && users <= r.perSec * seconds) console.warn(`scenario 7 (${store}) ran out of users (${users})`);
    return r.perSec;
  } finally {
    child.kill('SIGTERM');
  }
}

export async function fullLoginMongo(redisUrl: string, seconds: number, users: number): Promise<void> {
  let ferret: { uri: string; stop(): Promise<void> } | undefined;
  let uri = process.env.MONGODB_URI;
  if (!uri) {
    const { startFerretdb } = require('../../test/helpers/ferretdb') as typeof import('../../test/helpers/ferretdb');
    ferret = await startFerretdb();
    uri = ferret.uri;
  }
  const dbName = `stepup_bench_${randomBytes(4).toString('hex')}`;
  try {
    const stored = await hash(PASSWORD, { algorithm: ARGON2ID, ...OWASP_ARGON2 });
    await throughput(1, 4, async () => verify(stored, PASSWORD));
    const argon = await throughput(seconds, 4, async () => verify(stored, PASSWORD));
    const seed = newBenchSeed();
    const memory = await logins('memory', { REDIS_URL: redisUrl }, seed, seconds, users);
    const mongo = await logins('mongo', { REDIS_URL: redisUrl, MONGODB_URI: uri, BENCH_MONGO_DB: dbName }, seed, seconds, users);
    const sc = `7 full login on MongoDB${ferret ? ' (FerretDB)' : ''}`;
    record({ scenario: sc, metric: 'argon2id verify (OWASP params), 4 in flight', value: argon.perSec, unit: 'ops/s', baseline: null, baselineValue: null, better: 'higher' });
    record({ scenario: sc, metric: 'password + TOTP logins, memory stores, 4 in flight', value: memory, unit: 'ops/s', baseline: 'argon2id verify', baselineValue: argon.perSec, better: 'higher', target: '>= 0.9', met: memory / argon.perSec >= 0.9 });
    record({ scenario: sc, metric: 'password + TOTP logins, mongoose stores, 4 in flight', value: mongo, unit: 'ops/s', baseline: 'argon2id verify', baselineValue: argon.perSec, better: 'higher' });
  } finally {
    const conn = await mongoose.createConnection(uri, { dbName, serverSelectionTimeoutMS: 5000 }).asPromise().catch(() => undefined);
    await conn?.dropDatabase().catch(() => undefined);
    await conn?.close();
    await ferret?.stop();
  }
}

if (require.main === module && process.argv[2] === 'serve') {
  serve(process.argv[3] ?? 'memory').catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
}
