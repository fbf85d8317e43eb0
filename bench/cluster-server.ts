// The guarded-request server on N node:cluster workers sharing one port and one Redis (issue 14).
// Usage: WORKERS=<n> REDIS_URL=... tsx bench/cluster-server.ts ; prints one JSON line {port, control, cookie}.
// The primary answers GET /stats on the control port: per worker {pid, cpuUs, served} (asked over IPC),
// so the scenario can report throughput per CPU-second of the workers and how evenly requests spread.
import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import express from 'express';
import { Redis } from 'ioredis';
import { Passport } from 'passport';
import { createStepUp, MemoryAuditStore, MemoryTenantStore, MemoryUserStore } from '../index';
import { decodeSecret, hotp, stepAt } from '../lib/factors/totp';
import { freePort } from './lib';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'bench-session-secret-0123456789abcdef0123456789';
const PASSWORD = 'bench password 123';

type Stats = { pid: number; cpuUs: number; served: number };

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

async function post(base: string, path: string, body: unknown, cookie?: string): Promise<{ status: number; json: Record<string, unknown>; cookie: string }> {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify(body) });
  const set = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown>, cookie: set || cookie || '' };
}

async function worker(): Promise<void> {
  const redis = new Redis(redisUrl);
  const users = new MemoryUserStore();
  const stepUp = createStepUp({
    issuer: 'bench',
    session: { secret: SECRET },
    keys: [{ id: 'k1', key: Buffer.from(process.env.BENCH_KEY!, 'hex') }],
    stores: { users, tenants: new MemoryTenantStore(), audit: new MemoryAuditStore() },
    redis,
    redisPrefix: process.env.BENCH_PREFIX!,
    passport: new Passport(),
  });
  let served = 0;
  const app = express();
  app.use(stepUp.session);
  app.use('/auth', stepUp.router);
  app.get('/guarded', stepUp.requireAuth({ aal: 2 }), (req, res) => {
    served++;
    res.json({ user: req.user });
  });
  process.on('message', (m: { t?: string }) => {
    if (m?.t !== 'stats') return;
    const u = process.cpuUsage();
    process.send!({ t: 'stats', stats: { pid: process.pid, cpuUs: u.user + u.system, served } satisfies Stats });
  });
  // The shared port (connections handed round-robin by the primary) ...
  await listen(http.createServer(app), Number(process.env.BENCH_PORT));
  if (cluster.worker!.id !== 1) return;
  // ... and, for the first worker only, a private one to log the bench user in with its own users
  // (users live in this worker's memory; the session it makes lives in Redis, for every worker).
  const own = http.createServer(app);
  const base = `http://127.0.0.1:${await listen(own, 0)}`;
  const tenant = await stepUp.createTenant({ slug: 'acme', name: 'Acme' });
  await stepUp.createUser({ tenantId: tenant.id, email: 'user0@acme.test', password: PASSWORD });
  const login = await post(base, '/auth/login', { tenant: 'acme', email: 'user0@acme.test', password: PASSWORD });
  const enrol = await post(base, '/auth/mfa/totp/enroll', {}, login.cookie);
  const code = hotp(decodeSecret(enrol.json.secret as string), stepAt(Date.now()));
  const verified = await post(base, '/auth/mfa/totp/verify', { code }, enrol.cookie);
  if (verified.status !== 200) throw new Error(`bench login failed: ${verified.status}`);
  own.close();
  process.send!({ t: 'cookie', cookie: verified.cookie });
}

async function primary(): Promise<void> {
  const n = Number(process.env.WORKERS ?? 1);
  const port = await freePort();
  const env = { BENCH_PORT: String(port), BENCH_PREFIX: `bench:${randomBytes(4).toString('hex')}:`, BENCH_KEY: randomBytes(32).toString('hex') };
  const workers: Worker[] = [];
  let cookie = '';
  const gotCookie = new Promise<void>((resolve) =>
    cluster.on('message', (_w, m: { t?: string; cookie?: string }) => {
      if (m?.t === 'cookie') {
        cookie = m.cookie!;
        resolve();
      }
    }),
  );
  for (let i = 0; i < n; i++) workers.push(cluster.fork(env));
  await Promise.all(workers.map((w) => new Promise<void>((resolve) => w.once('listening', () => resolve()))));
  await gotCookie;
  const stats = () =>
    Promise.all(
      workers.map(
        (w) =>
          new Promise<Stats>((resolve) => {
            const on = (m: { t?: string; stats?: Stats }) => {
              if (m?.t !== 'stats') return;
              w.off('message', on);
              resolve(m.stats!);
            };
            w.on('message', on);
            w.send({ t: 'stats' });
          }),
      ),
    );
  const control = http.createServer((req, res) => {
    if (req.url !== '/stats') return void res.writeHead(404).end();
    stats().then((s) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(s)));
  });
  console.log(JSON.stringify({ port, control: await listen(control, 0), cookie, workers: n }));
  const stop = () => {
    for (const w of workers) w.process.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

(cluster.isPrimary ? primary() : worker()).catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
