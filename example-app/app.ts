import { randomBytes } from 'node:crypto';
import path from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { Redis, type RedisOptions } from 'ioredis';
import mongoose from 'mongoose';
import { Passport } from 'passport';
import type { Server } from 'node:http';
import {
  createStepUp,
  MemoryAuditStore,
  MemoryTenantStore,
  MemoryUserStore,
  StepUpError,
  type StepUp,
  type StepUpOptions,
  type Logger,
  type Realtime,
} from '../index';
import { createMongooseStores } from '../mongoose';
import { DevOutbox, SmtpMailer, WebhookSmsSender } from '../lib/delivery';
import { sendError } from '../routes/http';
import { securityEventView } from '../index';
import { policyView } from '../lib/admin/policy';
import { generatePassword } from '../lib/crypto/codes';
import type { ExampleConfig } from './config';
import { SyncRunner, type Schedule } from './sync';
import { PAGES, assetsRouter, pagesRouter } from './pages/router';
import { outboxRouter } from './pages/outbox';

export interface ExampleApp {
  app: Express;
  stepUp: StepUp;
  realtime: Realtime;
  sync: SyncRunner;
  /** The dev outbox (mail and SMS), when no SMTP server / SMS gateway is configured. */
  outbox?: DevOutbox;
  redis?: Redis;
  /** The origins browsers may call from (and open sockets from). */
  origins: string[];
  /** Demo credentials created at start (printed once by server.ts). */
  demo: DemoAccount[];
  close(): Promise<void>;
  attach(server: Server): void;
}

export interface ExampleOptions {
  /** Injected clock for tests; the real app uses Date.now. */
  now?: () => number;
  logger?: Logger;
  /** Extra plugin options (tests: fast argon2, a smaller lockout). */
  stepUp?: Partial<StepUpOptions>;
  /** The simulated sync: step delay (default 400 ms), injected timer, records count. */
  sync?: { stepMs?: number; schedule?: Schedule; records?: () => number };
}

export interface DemoAccount {
  tenant: string;
  email: string;
  /** Absent for a superadmin whose password came from the environment. */
  password?: string;
  role: string;
}

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The origins the app answers on: APP_ORIGIN, or the host and port it listens on. */
export function originsOf(cfg: ExampleConfig): string[] {
  if (cfg.appOrigins.length) return cfg.appOrigins.map((o) => new URL(o).origin);
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  return [...new Set([`http://${host}:${cfg.port}`, `http://localhost:${cfg.port}`, `http://127.0.0.1:${cfg.port}`])];
}

/** The CSP the app's own pages satisfy: everything from this origin, the QR code as a data: image. */
function securityHeaders(production: boolean): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        // On plain http://127.0.0.1 this would send every asset to https: only behind TLS.
        ...(production ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    // Referer only to this app (never to other sites); Origin on POSTs is unaffected for fetch().
    referrerPolicy: { policy: 'same-origin' },
    strictTransportSecurity: production ? { maxAge: 31536000, includeSubDomains: true } : false,
  });
}

/** Same-origin check for the app's own state-changing routes (the plugin checks its own). */
function sameOrigin(origins: string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.get('origin');
    const site = req.get('sec-fetch-site');
    const bad = origin !== undefined ? !allowed.has(origin) : site !== undefined && site !== 'same-origin' && site !== 'none';
    if (bad) return sendError(res, new StepUpError('forbidden', 'Cross-site request refused.'));
    next();
  };
}

/**
 * Demo data: tenant `acme` with an admin and two users (DEMO_DATA=1, the default), and the superadmin
 * (STEPUP_SUPERADMIN_*, or in development a generated one). Passwords are returned to be printed once.
 */
async function seedDemo(stepUp: StepUp, cfg: ExampleConfig): Promise<DemoAccount[]> {
  const out: DemoAccount[] = [];
  if (cfg.superadminEmail && cfg.superadminPassword) {
    const r = await stepUp.bootstrapSuperadmin({ email: cfg.superadminEmail, password: cfg.superadminPassword });
    out.push({ tenant: r.tenant.slug, email: r.user.email, role: 'superadmin' });
  } else if (cfg.demoData && !cfg.production) {
    const password = generatePassword();
    const r = await stepUp.bootstrapSuperadmin({ email: 'root@platform.test', password });
    if (r.created.user) out.push({ tenant: r.tenant.slug, email: r.user.email, password, role: 'superadmin' });
  }
  if (cfg.demoData && !(await stepUp.stores.tenants.findBySlug('acme'))) {
    // Self-registration on, so testers can try /register (new accounts verify their address first).
    const acme = await stepUp.createTenant({ slug: 'acme', name: 'Acme Corp', policy: { selfRegistration: true } });
    for (const [email, name, role] of [
      ['admin@acme.test', 'Ada Admin', 'admin'],
      ['alice@acme.test', 'Alice Example', 'user'],
      ['bob@acme.test', 'Bob Example', 'user'],
    ] as const) {
      const { initialPassword } = await stepUp.createUser({ tenantId: acme.id, email, name, roles: [role] });
      out.push({ tenant: 'acme', email, password: initialPassword, role });
    }
  }
  return out;
}

async function connectRedis(url: string, options: RedisOptions, logger: Logger): Promise<Redis> {
  const client = new Redis(url, options);
  client.on('error', (err: Error) => logger.warn('redis error', { err: err.message }));
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('end', () => reject(new Error('REDIS_URL: could not connect')));
  });
  return client;
}

/** Builds the example app on embedded defaults or on the servers the config names. */
export async function createExampleApp(cfg: ExampleConfig, opts: ExampleOptions = {}): Promise<ExampleApp> {
  const logger = opts.logger ?? quiet;
  const now = opts.now ?? Date.now;
  let redis: Redis | undefined;
  if (cfg.redisUrl) {
    // Fail fast: a Redis outage answers 503 at once instead of queueing requests (README).
    redis = await connectRedis(cfg.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: false }, logger);
  }
  let mongo: mongoose.Connection | undefined;
  let stores: StepUpOptions['stores'];
  if (cfg.mongodbUri) {
    mongo = await mongoose.createConnection(cfg.mongodbUri, { serverSelectionTimeoutMS: 5000 }).asPromise();
    // The app's clock; a store call that MongoDB does not answer in 5 s is a 503 (README "MongoDB").
    const mongoStores = createMongooseStores(mongo, { layout: cfg.mongodbLayout, now, timeoutMs: 5000 });
    // The demo data below are the first writes and need the unique indexes (in production: a deploy step).
    await mongoStores.ensureIndexes();
    stores = mongoStores;
  } else {
    stores = { users: new MemoryUserStore(), tenants: new MemoryTenantStore(), audit: new MemoryAuditStore() };
  }

  // Mail and SMS: real servers when configured, the dev outbox otherwise (shown at /dev/outbox).
  const needOutbox = !cfg.smtpUrl || !cfg.smsWebhookUrl;
  const outbox = needOutbox && !cfg.production ? new DevOutbox({ capacity: 100, now }) : undefined;
  const mailer = cfg.smtpUrl ? new SmtpMailer({ url: cfg.smtpUrl, from: cfg.mailFrom, logger }) : outbox;
  const sms = cfg.smsWebhookUrl ? new WebhookSmsSender({ url: cfg.smsWebhookUrl, secret: cfg.smsWebhookSecret!, logger }) : outbox;

  const origins = originsOf(cfg);
  // The mails' links open this app's pages on its first origin (APP_ORIGIN's first entry, or the
  // address it listens on), with the token in the fragment: `<origin>/reset-password#token=...`.
  const linkTo = (page: string) => `${origins[0]}${PAGES[page]}`;
  const stepUp = createStepUp({
    issuer: 'passport-stepup demo',
    session: { secret: cfg.sessionSecret, secureCookie: cfg.production ? true : 'auto' },
    keys: cfg.keys,
    stores,
    redis,
    // Memory users are new at every boot (ids restart): sessions in Redis from an earlier boot must not
    // match them, so the key prefix is scoped to this boot. With MongoDB users, sessions survive restarts.
    redisPrefix: redis && !cfg.mongodbUri ? `stepup:boot-${randomBytes(6).toString('hex')}:` : undefined,
    allowedOrigins: origins,
    now,
    passport: new Passport(),
    logger,
    mailer,
    sms,
    // The plugin opens sockets for aal-2 sessions only by default; the demo's password-only accounts
    // may watch the simulated sync too, so it lowers that on purpose.
    realtime: { minAal: 1 },
    lifecycle: {
      links: { verifyEmail: linkTo('verify-email'), resetPassword: linkTo('reset-password'), forgotPassword: linkTo('forgot-password') },
    },
    ...opts.stepUp,
  });

  // Sockets on the plugin's session cookie, store, clock and origins; they close when their session ends
  // (logout, logout-all, MFA reset, password change, expiry): the dashboard's dot goes red.
  const realtime = stepUp.realtime;

  const sync = new SyncRunner({
    emit: (tenant, payload) => realtime.emitSyncStatus(tenant, payload),
    notify: (starter, note) => realtime.emitNotification(starter, note),
    now,
    stepMs: opts.sync?.stepMs,
    schedule: opts.sync?.schedule,
    records: opts.sync?.records,
    onError: (err) => logger.warn('sync status not delivered', { err: err.message }),
  });

  const app = express();
  app.disable('x-powered-by');
  if (cfg.production) app.set('trust proxy', 1);
  app.use(securityHeaders(cfg.production));
  // Static files before the session: no session read for a page's modules, stylesheet or icon.
  app.use(assetsRouter());
  app.use(stepUp.session);
  app.use('/auth', stepUp.router);
  app.use('/admin', stepUp.adminRouter);
  // The routes' OpenAPI 3.1 document (docs/openapi.json, generated from the schemas the routes validate with).
  app.get('/openapi.json', (_req, res) => res.sendFile(path.join(__dirname, '..', 'docs', 'openapi.json')));

  const api = express.Router();
  api.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  api.get('/profile', stepUp.requireAuth(), (req, res) => {
    res.json({ user: req.user, aal: req.session.mfa?.aal ?? 1 });
  });
  api.post('/sync/start', sameOrigin(origins), stepUp.requireAuth(), (req, res) => {
    const tenant = req.user!.tenant;
    if (!sync.start(tenant, { tenantId: req.user!.tenantId, userId: req.user!.id })) return sendError(res, new StepUpError('conflict', 'A sync is already running for this tenant.'));
    res.status(202).json({ status: 'started', tenant });
  });
  // The last sync's status, for a dashboard opened after (or during) a run.
  api.get('/sync/last', stepUp.requireAuth(), (req, res) => {
    res.json(sync.view(req.user!.tenant));
  });
  // The admin page's view of its own tenant (the admin API lists tenants to superadmins only).
  api.get('/tenant', stepUp.requireAuth({ aal: 2, roles: ['admin', 'superadmin'] }), (req, res, next) => {
    stepUp.stores.tenants
      .findById(req.user!.tenantId)
      .then((t) => (t ? res.json({ slug: t.slug, name: t.name, policy: policyView(t.policy) }) : sendError(res, new StepUpError('not_found'))))
      .catch(next);
  });
  // The signed-in user's own recent security events: the plugin's view (an admin's IP never shows).
  api.get('/security-events', stepUp.requireAuth(), (req, res, next) => {
    const u = req.user!;
    stepUp.stores.audit
      .list(u.tenantId, { limit: 20, userId: u.id })
      .then((events) => res.json({ events: events.map(securityEventView) }))
      .catch(next);
  });
  api.use((_req, res) => sendError(res, new StepUpError('not_found')));
  app.use('/api', api);

  if (outbox) app.use('/dev/outbox', outboxRouter(outbox, { smtp: Boolean(cfg.smtpUrl), smsGateway: Boolean(cfg.smsWebhookUrl), origins }));
  app.use(pagesRouter({ devOutbox: Boolean(outbox) }));
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    logger.error('unexpected error', { err: (err as Error)?.message });
    sendError(res, err);
  });

  const demo = await seedDemo(stepUp, cfg);

  return {
    app,
    stepUp,
    realtime,
    sync,
    outbox,
    redis,
    origins,
    demo,
    attach: (server) => realtime.attach(server, { path: '/ws' }),
    async close() {
      sync.stopAll();
      await stepUp.close().catch(() => undefined);
      if (redis) await redis.quit().catch(() => undefined);
      if (mongo) await mongo.close().catch(() => undefined);
    },
  };
}
