import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, type ExampleConfig } from './config';
import { createExampleApp, type ExampleApp, type ExampleOptions } from './app';

export interface RunningExample {
  server: http.Server;
  ex: ExampleApp;
  /** `http://host:port` as browsers should call it. */
  url: string;
  close(): Promise<void>;
}

/**
 * Listens first (so port 0 picks a free port and the allowed origins name the real one), then builds
 * the app and attaches the WebSocket server. Tests start it in-process with an injected clock.
 */
export async function startServer(cfg: ExampleConfig, opts: ExampleOptions = {}): Promise<RunningExample> {
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let ex: ExampleApp;
  try {
    ex = await createExampleApp({ ...cfg, port }, opts);
  } catch (err) {
    server.close();
    throw err;
  }
  server.on('request', ex.app);
  ex.attach(server);
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  return {
    server,
    ex,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async close() {
      await ex.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/* eslint-disable no-console */
async function main(): Promise<void> {
  let cfg: ExampleConfig;
  try {
    cfg = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`configuration error: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  if (cfg.keysGenerated) console.warn('warning: MFA_ENCRYPTION_KEYS is not set; a random key was generated, so enrolled factors do not survive a restart');
  if (cfg.sessionSecretGenerated) console.warn('warning: SESSION_SECRET is not set; a random one was generated, so sessions do not survive a restart');
  const running = await startServer(cfg, {
    logger: {
      info: () => undefined,
      warn: (m) => console.warn(`[stepup] ${m}`),
      error: (m) => console.error(`[stepup] ${m}`),
    },
  });
  const { ex } = running;
  console.log(`passport-stepup example app on ${running.url}`);
  console.log(`stores: ${cfg.mongodbUri ? 'MongoDB' : 'memory'} users, ${cfg.redisUrl ? 'Redis' : 'memory'} sessions, ${cfg.smtpUrl ? 'SMTP' : 'dev outbox'} mail, ${cfg.smsWebhookUrl ? 'webhook' : 'dev outbox'} SMS`);
  if (ex.outbox) console.log(`dev outbox (mails and SMS sent): ${running.url}/dev/outbox`);
  if (ex.demo.length) {
    console.log('demo accounts (passwords are shown once, here):');
    for (const d of ex.demo) console.log(`  ${d.tenant.padEnd(9)} ${d.role.padEnd(10)} ${d.email.padEnd(20)} ${d.password ?? '(password from STEPUP_SUPERADMIN_PASSWORD)'}`);
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    running.close().finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`failed to start: ${err.message}`);
    process.exit(1);
  });
}
