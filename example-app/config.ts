import { randomBytes } from 'node:crypto';

/** The example app's settings, read from the environment (the only place in the project that does). */
export interface ExampleConfig {
  port: number;
  host: string;
  production: boolean;
  sessionSecret: string;
  sessionSecretGenerated: boolean;
  redisUrl?: string;
  mongodbUri?: string;
  /** STEPUP_MONGODB_LAYOUT: `shared` (default) or `database-per-tenant` (the CLI reads the same variable). */
  mongodbLayout: 'shared' | 'database-per-tenant';
  smtpUrl?: string;
  mailFrom: string;
  smsWebhookUrl?: string;
  smsWebhookSecret?: string;
  keys: { id: string; key: Buffer }[];
  keysGenerated: boolean;
  appOrigins: string[];
  superadminEmail?: string;
  superadminPassword?: string;
  demoData: boolean;
}

export class ConfigError extends Error {}

function url(name: string, v: string | undefined, protocols: string[]): string | undefined {
  if (v === undefined || v === '') return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(u.protocol)) throw new ConfigError(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  return v;
}

function mongoLayout(v: string | undefined): 'shared' | 'database-per-tenant' {
  if (v === undefined || v === '' || v === 'shared') return 'shared';
  if (v === 'database-per-tenant') return v;
  throw new ConfigError('STEPUP_MONGODB_LAYOUT must be shared or database-per-tenant');
}

/** Parses the environment; a bad value throws a ConfigError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ExampleConfig {
  const production = env.NODE_ENV === 'production';
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('PORT must be a whole number from 0 to 65535');
  const host = env.HOST || '127.0.0.1';

  let keys: { id: string; key: Buffer }[] = [];
  const rawKeys = env.MFA_ENCRYPTION_KEYS;
  if (rawKeys) {
    for (const part of rawKeys.split(',')) {
      const m = /^([A-Za-z0-9_-]{1,32}):([0-9a-fA-F]{64})$/.exec(part.trim());
      if (!m) throw new ConfigError('MFA_ENCRYPTION_KEYS must be id:hex64[,id:hex64...] (64 hex characters = 32 bytes per key)');
      keys.push({ id: m[1]!, key: Buffer.from(m[2]!, 'hex') });
    }
  }
  const keysGenerated = keys.length === 0;
  if (keysGenerated) keys = [{ id: 'dev', key: randomBytes(32) }];

  const sessionSecretGenerated = !env.SESSION_SECRET;
  const sessionSecret = env.SESSION_SECRET || randomBytes(32).toString('hex');
  if (sessionSecret.length < 32) throw new ConfigError('SESSION_SECRET must be at least 32 characters');

  const appOrigins = (env.APP_ORIGIN || '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const o of appOrigins) url('APP_ORIGIN', o, ['http:', 'https:']);

  const demo = env.DEMO_DATA ?? '1';
  if (!['0', '1', 'true', 'false'].includes(demo)) throw new ConfigError('DEMO_DATA must be 0 or 1');

  const cfg: ExampleConfig = {
    port,
    host,
    production,
    sessionSecret,
    sessionSecretGenerated,
    redisUrl: url('REDIS_URL', env.REDIS_URL, ['redis:', 'rediss:']),
    mongodbUri: url('MONGODB_URI', env.MONGODB_URI, ['mongodb:', 'mongodb+srv:']),
    mongodbLayout: mongoLayout(env.STEPUP_MONGODB_LAYOUT),
    smtpUrl: url('SMTP_URL', env.SMTP_URL, ['smtp:', 'smtps:']),
    mailFrom: env.MAIL_FROM || 'passport-stepup <no-reply@localhost>',
    smsWebhookUrl: url('SMS_WEBHOOK_URL', env.SMS_WEBHOOK_URL, ['http:', 'https:']),
    smsWebhookSecret: env.SMS_WEBHOOK_SECRET || undefined,
    keys,
    keysGenerated,
    appOrigins,
    superadminEmail: env.STEPUP_SUPERADMIN_EMAIL || undefined,
    superadminPassword: env.STEPUP_SUPERADMIN_PASSWORD || undefined,
    demoData: demo === '1' || demo === 'true',
  };
  if (cfg.smsWebhookUrl && !cfg.smsWebhookSecret) throw new ConfigError('SMS_WEBHOOK_SECRET is required with SMS_WEBHOOK_URL');
  if (Boolean(cfg.superadminEmail) !== Boolean(cfg.superadminPassword)) {
    throw new ConfigError('STEPUP_SUPERADMIN_EMAIL and STEPUP_SUPERADMIN_PASSWORD go together');
  }
  if (production) {
    if (!cfg.redisUrl) throw new ConfigError('REDIS_URL is required with NODE_ENV=production (memory sessions are for development)');
    if (!cfg.mongodbUri) throw new ConfigError('MONGODB_URI is required with NODE_ENV=production (memory users are for development)');
    if (keysGenerated) throw new ConfigError('MFA_ENCRYPTION_KEYS is required with NODE_ENV=production');
    if (sessionSecretGenerated) throw new ConfigError('SESSION_SECRET is required with NODE_ENV=production');
  }
  return cfg;
}
