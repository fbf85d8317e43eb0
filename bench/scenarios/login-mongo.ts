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
import { clientIp, post, throughput } from './login';

const PASSWORD = 'bench password 123';


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
    // As in scenario 3: 4 argon2id computations at once (UV_THREADPOOL_SIZE=5), like the raw loop.
    password: { concurrency: 4 },
  });
  const app = express();
  app.set('trust proxy', 'loopback');
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
  const { port, child } = await start(store, { ...env, BENCH_USERS: String(users), BENCH_TOTP_SEED: seed, UV_THREADPOOL_SIZE: '5' });
  try {
    const one = async (i: number): Promise<boolean> => {
      if (i >= users) return false;
      const email = `user${i}@acme.test`;
      // Each login its own client address (the server trusts X-Forwarded-For from loopback), as in scenario 3.
      const ip = clientIp(i + 1);
      const pending = await post(port, '/auth/login', { tenant: 'acme', email, password: PASSWORD }, undefined, ip);
      if (pending.status !== 200) return false;
      const code = hotp(decodeSecret(benchTotpSecret(seed, email)), stepAt(Date.now()));
      return (await post(port, '/auth/mfa/challenge', { method: 'totp', code }, pending.cookie, ip)).status === 200;
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
    // The login-against-argon2id target is scenario 3's (interleaved rounds); here the stores are compared.
    record({ scenario: sc, metric: 'password + TOTP logins, memory stores, 4 in flight', value: memory, unit: 'ops/s', baseline: 'argon2id verify', baselineValue: argon.perSec, better: 'higher' });
    record({ scenario: sc, metric: 'password + TOTP logins, mongoose stores, 4 in flight', value: mongo, unit: 'ops/s', baseline: 'memory stores', baselineValue: memory, better: 'higher' });
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
