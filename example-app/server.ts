import cluster from 'node:cluster';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, type ExampleConfig } from './config';
import { createExampleApp, type ExampleApp, type ExampleOptions } from './app';

export interface RunningExample {
  server: http.Server;
  ex: ExampleApp;
  /** `http://host:port` as browsers should call it. */
  url: string;
  /** Immediate stop (tests): every connection is cut. */
  close(): Promise<void>;
  /**
   * Graceful stop (SIGTERM): stop accepting, let requests in flight finish (at most `drainMs`, default
   * 10 s), close sockets with 1001 (going away: clients reconnect elsewhere), then close Redis and
   * MongoDB. Connections kept alive are answered with `Connection: close` meanwhile, so none is reset.
   */
  shutdown(options?: { drainMs?: number }): Promise<void>;
}

export interface ServerHooks {
  /** Runs after the app is built and before it is attached (tests: hold the start to probe it). */
  beforeAttach?: (url: string) => Promise<void>;
}

const DEFAULT_DRAIN_MS = 10_000;

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** 503 with Retry-After for a request that comes before the app is ready (only with PORT=0, see below). */
function notReady(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1', Connection: 'close' });
  res.end(JSON.stringify({ error: 'unavailable', message: 'The server is starting; try again in a moment.' }));
}

/**
 * Builds the app, then listens: no connection is accepted before the app and its WebSocket server are
 * attached (so under node:cluster a worker gets no connection before it can serve it).
 * With PORT=0 (tests) the port must be known before the app is built (the allowed origins name it):
 * then the server listens first and answers 503 + Retry-After until the app is attached, never a hang.
 */
export async function startServer(cfg: ExampleConfig, opts: ExampleOptions = {}, hooks: ServerHooks = {}): Promise<RunningExample> {
  const server = http.createServer();
  let handler: http.RequestListener = notReady;
  let draining = false;
  const onRequest: http.RequestListener = (req, res) => {
    // While draining, every answer closes its connection, so clients stop reusing it before it goes.
    if (draining) res.setHeader('Connection', 'close');
    if (cluster.isWorker) res.setHeader('X-Worker', String(cluster.worker!.id));
    handler(req, res);
  };
  server.on('request', onRequest);
  const onEarlyUpgrade = (_req: http.IncomingMessage, socket: net.Socket) => {
    socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  };

  const early = cfg.port === 0;
  let port = cfg.port;
  if (early) {
    server.on('upgrade', onEarlyUpgrade);
    await listen(server, 0, cfg.host);
    port = (server.address() as AddressInfo).port;
  }
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let ex: ExampleApp;
  try {
    ex = await createExampleApp({ ...cfg, port }, opts);
    await hooks.beforeAttach?.(url);
  } catch (err) {
    server.close();
    throw err;
  }
  handler = ex.app;
  server.off('upgrade', onEarlyUpgrade);
  ex.attach(server);
  if (!early) {
    try {
      await listen(server, cfg.port, cfg.host);
    } catch (err) {
      await ex.close();
      throw err;
    }
  }

  let stopping: Promise<void> | undefined;
  return {
    server,
    ex,
    url,
    async close() {
      await ex.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    shutdown({ drainMs = DEFAULT_DRAIN_MS } = {}) {
      stopping ??= (async () => {
        draining = true;
        // net.Server#close stops accepting and calls back once every connection has ended. (http's
        // close would also cut idle keep-alive connections at once, racing a client that is just
        // sending its next request on one: that client would see a reset.)
        const drained = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
        // Sockets go now with 1001 (their clients reconnect to another process); no new upgrade is taken.
        const sockets = ex.realtime.close().catch(() => undefined);
        // Connections still idle after a short grace are not in use: those can go without a race.
        const grace = setTimeout(() => server.closeIdleConnections(), Math.min(1000, drainMs / 4));
        const cut = setTimeout(() => server.closeAllConnections(), drainMs);
        await Promise.all([drained, sockets]);
        clearTimeout(grace);
        clearTimeout(cut);
        await ex.close();
      })();
      return stopping;
    },
  };
}

/** Workers wanted: WEB_CONCURRENCY (default 1). */
export function workerCount(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.WEB_CONCURRENCY;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new ConfigError('WEB_CONCURRENCY must be a whole number from 1 to 64');
  return n;
}

async function main(): Promise<void> {
  let cfg: ExampleConfig;
  try {
    cfg = loadConfig();
    if (cluster.isPrimary && workerCount() > 1) {
      const { runPrimary } = await import('./cluster');
      return runPrimary(cfg, workerCount());
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`configuration error: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const worker = cluster.isWorker ? `worker ${cluster.worker!.id}: ` : '';
  if (!cluster.isWorker) {
    if (cfg.keysGenerated) console.warn('warning: MFA_ENCRYPTION_KEYS is not set; a random key was generated, so enrolled factors do not survive a restart');
    if (cfg.sessionSecretGenerated) console.warn('warning: SESSION_SECRET is not set; a random one was generated, so sessions do not survive a restart');
  }
  const running = await startServer(cfg, {
    logger: {
      info: () => undefined,
      warn: (m) => console.warn(`[stepup] ${worker}${m}`),
      error: (m) => console.error(`[stepup] ${worker}${m}`),
    },
  });
  const { ex } = running;
  console.log(`${worker}passport-stepup example app on ${running.url}`);
  if (!cluster.isWorker || cfg.demoData) {
    console.log(`stores: ${cfg.mongodbUri ? 'MongoDB' : 'memory'} users, ${cfg.redisUrl ? 'Redis' : 'memory'} sessions, ${cfg.smtpUrl ? 'SMTP' : 'dev outbox'} mail, ${cfg.smsWebhookUrl ? 'webhook' : 'dev outbox'} SMS`);
    if (ex.outbox) console.log(`dev outbox (mails and SMS sent): ${running.url}/dev/outbox`);
  }
  if (ex.demo.length) {
    console.log('demo accounts (passwords are shown once, here):');
    for (const d of ex.demo) console.log(`  ${d.tenant.padEnd(9)} ${d.role.padEnd(10)} ${d.email.padEnd(20)} ${d.password ?? '(password from STEPUP_SUPERADMIN_PASSWORD)'}`);
  }
  const drainMs = process.env.SHUTDOWN_DRAIN_MS ? Number(process.env.SHUTDOWN_DRAIN_MS) : DEFAULT_DRAIN_MS;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${worker}${signal}: draining (at most ${drainMs} ms)`);
    running.shutdown({ drainMs: Number.isFinite(drainMs) && drainMs >= 0 ? drainMs : DEFAULT_DRAIN_MS }).then(
      () => process.exit(0),
      (err: Error) => {
        console.error(`${worker}shutdown failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Under node:cluster the primary asks for a graceful stop by message (signals may not reach workers).
  if (cluster.isWorker) process.on('message', (m) => m === 'shutdown' && stop('shutdown'));
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`failed to start: ${err.message}`);
    process.exit(1);
  });
}
