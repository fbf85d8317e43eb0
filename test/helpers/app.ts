import express, { type Express } from 'express';
import { Redis } from 'ioredis';
import { Passport } from 'passport';
import request from 'supertest';
import { randomBytes } from 'node:crypto';
import { createStepUp, createMemoryStores, type MemoryTenantStore, type MemoryUserStore, type MemoryAuditStore, type StepUp, type StepUpOptions } from '../../index';
import { hotp, decodeSecret, stepAt } from '../../lib/factors/totp';
import type { Role, TenantPolicy } from '../../lib/types';

export const T0 = Date.parse('2026-03-01T12:00:00.000Z');

/** The one clock of a test app: tests move it instead of sleeping. */
export class TestClock {
  t = T0;
  now = (): number => this.t;
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

export const TEST_KEY = { id: 'k1', key: randomBytes(32) };
export const SESSION_SECRET = 'test-session-secret-that-is-long-enough-0123456789';
export const FAST_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

export interface TestApp {
  app: Express;
  stepUp: StepUp;
  clock: TestClock;
  redis?: Redis;
  users: MemoryUserStore;
  tenants: MemoryTenantStore;
  audit: MemoryAuditStore;
  close(): Promise<void>;
}

export function newRedis(url = process.env.REDIS_URL!): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false });
  r.on('error', () => undefined);
  return r;
}

/** A client that records the name of every command it sends (a script is one); `sent` is emptied by the test. */
export function recordingRedis(): { redis: Redis; sent: string[] } {
  const redis = newRedis();
  const sent: string[] = [];
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((cmd: { name: string }, ...rest: unknown[]) => {
    sent.push(cmd.name.toUpperCase());
    return (send as (...a: unknown[]) => unknown)(cmd, ...rest);
  }) as typeof redis.sendCommand;
  return { redis, sent };
}

/** An Express app with the plugin mounted the way the README says, on real Redis when `redis` is true. */
export function buildApp(opts: { redis?: boolean | Redis; overrides?: Partial<StepUpOptions>; clock?: TestClock } = {}): TestApp {
  const clock = opts.clock ?? new TestClock();
  // The stores stamp records on the app's clock too (one clock).
  const { users, tenants, audit } = createMemoryStores({ now: clock.now });
  const redis = opts.redis === true ? newRedis() : opts.redis || undefined;
  const stepUp = createStepUp({
    issuer: 'ExampleCo',
    session: { secret: SESSION_SECRET },
    keys: [TEST_KEY],
    stores: { users, tenants, audit },
    redis,
    redisPrefix: `test:${randomBytes(6).toString('hex')}:`,
    now: clock.now,
    passport: new Passport(),
    password: { argon2: FAST_ARGON2 },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    ...(opts.overrides ?? {}),
  });
  const app = express();
  app.use(stepUp.session);
  app.use('/auth', stepUp.router);
  app.use('/admin', stepUp.adminRouter);
  app.get('/api/profile', stepUp.requireAuth(), (req, res) => {
    res.json({ user: req.user });
  });
  app.get('/api/secure', stepUp.requireAuth({ aal: 2 }), (_req, res) => {
    res.json({ ok: true });
  });
  app.post('/api/danger', stepUp.requireStepUp(), (_req, res) => {
    res.json({ ok: true });
  });
  return {
    app,
    stepUp,
    clock,
    redis: redis || undefined,
    users,
    tenants,
    audit,
    async close() {
      if (opts.redis === true && redis) await redis.quit().catch(() => undefined);
    },
  };
}

export async function seedTenant(t: TestApp, slug = 'acme', policy: Partial<TenantPolicy> = {}) {
  return t.stepUp.createTenant({ slug, name: slug.toUpperCase(), policy });
}

export async function seedUser(t: TestApp, tenantId: string, email = 'alice@example.com', password = 'correct horse battery staple', roles: Role[] = ['user']) {
  const { user } = await t.stepUp.createUser({ tenantId, email, password, roles });
  return { user, password };
}

/** A supertest agent keeps cookies like a browser would. */
export function agent(t: TestApp) {
  return request.agent(t.app);
}

/** The code an authenticator app shows for a base32 secret at the app's clock (+ step offset). */
export function codeFor(secret: string, nowMs: number, stepOffset = 0): string {
  return hotp(decodeSecret(secret), stepAt(nowMs) + stepOffset);
}

export function sidOf(res: { headers: Record<string, unknown> }, name = 'sid'): string | undefined {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? (raw as string[]) : raw ? [String(raw)] : [];
  for (const c of list) {
    const m = new RegExp(`^${name}=([^;]*)`).exec(c);
    if (m) return decodeURIComponent(m[1]!);
  }
  return undefined;
}

/** Logs in with the password and enrols TOTP; returns the secret and the backup codes. */
export async function enrolTotp(t: TestApp, a: ReturnType<typeof agent>): Promise<{ secret: string; backupCodes: string[] }> {
  const enrol = await a.post('/auth/mfa/totp/enroll').send({}).expect(200);
  const secret = enrol.body.secret as string;
  const verify = await a.post('/auth/mfa/totp/verify').send({ code: codeFor(secret, t.clock.now()) }).expect(200);
  return { secret, backupCodes: verify.body.backupCodes as string[] };
}

export function expectError(res: { status: number; body: { error?: string } }, code: string, status?: number): void {
  expect(res.body.error).toBe(code);
  if (status !== undefined) expect(res.status).toBe(status);
}

/** The token of an emailed link (`#token=...`) or of a mail that shows it on its own line. */
export const LINK_TOKEN = /(?:#token=|^\s+)([A-Za-z0-9_-]{43})\s*$/m;

/** What a client can compare between two answers: status, body, header names, whether a cookie was set. */
export function responseShape(r: { status: number; body: unknown; headers: Record<string, unknown> }) {
  return {
    status: r.status,
    body: r.body,
    cookie: r.headers['set-cookie'] ?? null,
    headers: Object.keys(r.headers).filter((h) => !['date', 'etag', 'content-length'].includes(h)).sort(),
  };
}
