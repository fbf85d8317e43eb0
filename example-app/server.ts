import http from 'node:http';
import { ConfigError, loadConfig } from './config';
import { createExampleApp } from './app';

/* eslint-disable no-console */
async function main(): Promise<void> {
  let cfg;
  try {
    cfg = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`configuration error: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const ex = await createExampleApp(cfg, {
    logger: {
      info: () => undefined,
      warn: (m) => console.warn(`[stepup] ${m}`),
      error: (m) => console.error(`[stepup] ${m}`),
    },
  });
  if (cfg.keysGenerated) console.warn('warning: MFA_ENCRYPTION_KEYS is not set; a random key was generated, so enrolled factors do not survive a restart');
  if (cfg.sessionSecretGenerated) console.warn('warning: SESSION_SECRET is not set; a random one was generated');
  const server = http.createServer(ex.app);
  ex.attach(server);
  server.listen(cfg.port, cfg.host, () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
    console.log(`passport-stepup example app on http://${cfg.host}:${port}`);
    console.log(`stores: ${cfg.mongodbUri ? 'MongoDB' : 'memory'} users, ${cfg.redisUrl ? 'Redis' : 'memory'} sessions, ${cfg.smtpUrl ? 'SMTP' : 'dev outbox'} mail`);
    if (ex.demo.length) {
      console.log('demo tenant "acme" (these passwords are shown once):');
      for (const d of ex.demo) console.log(`  ${d.role.padEnd(5)} ${d.email.padEnd(18)} ${d.password}`);
    }
  });
  const stop = () => {
    server.close();
    ex.close().finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: Error) => {
  console.error(`failed to start: ${err.message}`);
  process.exit(1);
});
