import express, { type Express } from 'express';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { Passport } from 'passport';
import type { Server } from 'node:http';
import { createStepUp, createMongooseStores, MemoryAuditStore, MemoryTenantStore, MemoryUserStore, type StepUp } from '../lib';
import type { ExampleConfig } from './config';

export interface ExampleApp {
  app: Express;
  stepUp: StepUp;
  redis?: Redis;
  /** Demo credentials created at start (printed once by server.ts). */
  demo: { tenant: string; email: string; password: string; role: string }[];
  close(): Promise<void>;
  attach(server: Server): void;
}

export interface ExampleOptions {
  /** Injected clock for tests; the real app uses Date.now. */
  now?: () => number;
  logger?: { info: (m: string, f?: object) => void; warn: (m: string, f?: object) => void; error: (m: string, f?: object) => void };
}

/** Builds the example app on embedded defaults or on the servers the config names. */
export async function createExampleApp(cfg: ExampleConfig, opts: ExampleOptions = {}): Promise<ExampleApp> {
  let redis: Redis | undefined;
  if (cfg.redisUrl) {
    redis = new Redis(cfg.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: false });
    redis.on('error', (err: Error) => opts.logger?.warn('redis error', { err: err.message }));
    await new Promise<void>((resolve, reject) => {
      redis!.once('ready', resolve);
      redis!.once('end', () => reject(new Error('REDIS_URL: could not connect')));
    });
  }
  let stores: { users: MemoryUserStore | ReturnType<typeof createMongooseStores>['users']; tenants: MemoryTenantStore | ReturnType<typeof createMongooseStores>['tenants']; audit: MemoryAuditStore | ReturnType<typeof createMongooseStores>['audit'] };
  let mongo: mongoose.Connection | undefined;
  if (cfg.mongodbUri) {
    mongo = await mongoose.createConnection(cfg.mongodbUri, { serverSelectionTimeoutMS: 5000 }).asPromise();
    stores = createMongooseStores(mongo);
  } else {
    stores = { users: new MemoryUserStore(), tenants: new MemoryTenantStore(), audit: new MemoryAuditStore() };
  }
  const origin = cfg.appOrigins.length ? cfg.appOrigins : [`http://${cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host}:${cfg.port}`, `http://localhost:${cfg.port}`];

  const stepUp = createStepUp({
    issuer: 'passport-stepup demo',
    session: { secret: cfg.sessionSecret, secureCookie: cfg.production ? true : 'auto' },
    keys: cfg.keys,
    stores,
    redis,
    allowedOrigins: origin,
    now: opts.now,
    passport: new Passport(),
    logger: opts.logger,
  });

  const app = express();
  app.disable('x-powered-by');
  app.use(stepUp.session);
  app.use('/auth', stepUp.router);
  app.use('/admin', stepUp.adminRouter);
  app.get('/api/profile', stepUp.requireAuth(), (req, res) => {
    res.json({ user: req.user, session: req.session.mfa?.aal });
  });

  const demo: ExampleApp['demo'] = [];
  if (cfg.demoData && !(await stores.tenants.findBySlug('acme'))) {
    const acme = await stepUp.createTenant({ slug: 'acme', name: 'Acme Corp' });
    for (const [email, role] of [
      ['admin@acme.test', 'admin'],
      ['alice@acme.test', 'user'],
      ['bob@acme.test', 'user'],
    ] as const) {
      const { initialPassword } = await stepUp.createUser({ tenantId: acme.id, email, roles: [role] });
      demo.push({ tenant: 'acme', email, password: initialPassword!, role });
    }
  }

  return {
    app,
    stepUp,
    redis,
    demo,
    attach: () => undefined,
    async close() {
      if (redis) await redis.quit().catch(() => undefined);
      if (mongo) await mongo.close().catch(() => undefined);
    },
  };
}
