// Realtime benchmark server (its own process). Prints one JSON line {port, floorPort, cookie}, then
// answers `POST /bench/emit?n=K` (K broadcasts through stepUp.realtime, CPU measured around each)
// and `POST /bench/floor?n=K` (the same frame pre-built once and written to N raw sockets), and
// `POST /bench/ws-send?n=K` (the same payload through ws.send to the floor's sockets).
import { internalContextOf } from '../testing';
import express from 'express';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Passport } from 'passport';
import { WebSocketServer, WebSocket } from 'ws';
import * as wsModule from 'ws';

// ws's frame builder (public at runtime as `ws.Sender.frame`, absent from its type definitions).
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, o: Record<string, unknown>): Buffer[] } };
import { createStepUp, MemoryAuditStore, MemoryTenantStore, MemoryUserStore } from '../index';
import { generateTotpSecret, hotp, decodeSecret, stepAt } from '../lib/factors/totp';
import { totpAad } from '../lib/auth/verifiers';

const SECRET = 'bench-session-secret-0123456789abcdef0123456789';
const ORIGIN = 'http://bench.local';
const useRedis = process.env.BENCH_REDIS === '1';
const sharedPrefix = process.env.BENCH_PREFIX ?? `bench:${randomBytes(4).toString('hex')}:`;

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function main(): Promise<void> {
  const redis = useRedis ? new Redis(process.env.REDIS_URL!) : undefined;
  const users = new MemoryUserStore();
  const tenants = new MemoryTenantStore();
  const key = process.env.BENCH_KEY ? Buffer.from(process.env.BENCH_KEY, 'hex') : randomBytes(32);
  const stepUp = createStepUp({
    issuer: 'bench',
    session: { secret: SECRET },
    keys: [{ id: 'k1', key }],
    stores: { users, tenants, audit: new MemoryAuditStore() },
    redis,
    redisPrefix: sharedPrefix,
    passport: new Passport(),
    allowedOrigins: [ORIGIN],
    realtime: { maxConnectionsPerUser: 10_000, maxMessagesPerMinute: 1000, revalidateIntervalMs: 600_000, heartbeatIntervalMs: 600_000 },
  });
  const app = express();
  app.use(stepUp.session);
  app.use('/auth', stepUp.router);
  const samples: number[] = [];
  app.post('/bench/emit', async (req, res) => {
    const n = Number(req.query.n ?? 1);
    for (let i = 0; i < n; i++) {
      const c0 = cpuMicros();
      await stepUp.realtime.emitSyncStatus('acme', { status: 'progress', progress: 50, message: `sent ${Date.now()}` });
      samples.push(cpuMicros() - c0);
      await new Promise((r) => setImmediate(r));
    }
    res.json({ cpuMicros: samples.splice(0) });
  });
  app.get('/bench/rss', (_req, res) => {
    (globalThis as { gc?: () => void }).gc?.();
    res.json({ rss: process.memoryUsage().rss });
  });

  // The floor: a bare ws server whose sockets get one pre-built frame each, written straight to TCP.
  const floorServer = http.createServer();
  const floorWss = new WebSocketServer({ server: floorServer, perMessageDeflate: false });
  const floorSockets = new Set<WebSocket>();
  floorWss.on('connection', (ws) => {
    floorSockets.add(ws);
    ws.on('close', () => floorSockets.delete(ws));
  });
  /** `POST path?n=K`: K broadcasts of one payload (encoded once each) to the floor's sockets, CPU of each. */
  const baseline = (path: string, send: (payload: Buffer) => void) =>
    app.post(path, async (req, res) => {
      const n = Number(req.query.n ?? 1);
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const c0 = cpuMicros();
        send(Buffer.from(JSON.stringify({ type: 'syncStatus', tenant: 'acme', status: 'progress', progress: 50, message: `sent ${Date.now()}`, at: Date.now() })));
        out.push(cpuMicros() - c0);
        await new Promise((r) => setImmediate(r));
      }
      res.json({ cpuMicros: out });
    });
  baseline('/bench/floor', (payload) => {
    const frame = Buffer.concat(Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false }));
    for (const ws of floorSockets) (ws as unknown as { _socket: import('node:net').Socket })._socket.write(frame);
  });
  // ws's public API alone: ws frames the payload and writes header and payload with one writev. What the
  // plugin's broadcast costs beyond this is its own.
  baseline('/bench/ws-send', (payload) => {
    for (const ws of floorSockets) ws.send(payload, { binary: false });
  });

  let tenant = await tenants.findBySlug('acme');
  tenant ??= await stepUp.createTenant({ slug: 'acme', name: 'Acme' });
  const { user } = await stepUp.createUser({ tenantId: tenant.id, email: 'rt@acme.test', password: 'bench password 123' });
  const totp = generateTotpSecret();
  await users.update(tenant.id, user.id, { mfa: { totp: { secret: internalContextOf(stepUp).box.seal(totp, totpAad(user)), enrolledAt: new Date(), lastStep: -1 } } });

  const server = http.createServer(app);
  stepUp.realtime.attach(server, { path: '/ws' });
  await stepUp.realtime.ready();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => floorServer.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const post = (path: string, body: unknown, cookie?: string) =>
    fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: ORIGIN, ...(cookie ? { cookie } : {}) }, body: JSON.stringify(body) });
  const cookieOf = (r: Response) => (r.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
  const login = await post('/auth/login', { tenant: 'acme', email: 'rt@acme.test', password: 'bench password 123' });
  const done = await post('/auth/mfa/challenge', { method: 'totp', code: hotp(decodeSecret(totp), stepAt(Date.now())) }, cookieOf(login));
  console.log(JSON.stringify({ port, floorPort: (floorServer.address() as { port: number }).port, cookie: cookieOf(done), origin: ORIGIN, status: done.status }));
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
