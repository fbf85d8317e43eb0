/**
 * The example app without a browser: configuration errors, embedded start with demo data, security
 * headers and pages, production mode, the dev outbox, error sentences. (The sync: example-app-sync.)
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import request from 'supertest';
import { ConfigError, loadConfig, type ExampleConfig } from '../../example-app/config';
import { createExampleApp, type ExampleApp } from '../../example-app/app';
import { PAGES } from '../../example-app/pages/router';
import { FAST_ARGON2 } from '../helpers/app';
import { ERROR_TABLE } from '../../index';
import { sign } from 'cookie-signature';
import { ApiError } from '../../example-app/public/api';
import { describeError, ERROR_SENTENCES } from '../../example-app/public/messages';

const KEYS = `k1:${'ab'.repeat(32)}`;
const SECRET = 'example-app-test-session-secret-0123456789';
const fast = { stepUp: { password: { argon2: FAST_ARGON2 } } };

describe('example app: configuration', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ REDIS_URL: 'http://localhost:6379' }, 'REDIS_URL'],
    [{ MONGODB_URI: 'not a url' }, 'MONGODB_URI'],
    [{ SMTP_URL: 'ftp://mail' }, 'SMTP_URL'],
    [{ MFA_ENCRYPTION_KEYS: 'k1:abcd' }, 'MFA_ENCRYPTION_KEYS'],
    [{ SESSION_SECRET: 'short' }, 'SESSION_SECRET'],
    [{ APP_ORIGIN: 'localhost:3000' }, 'APP_ORIGIN'],
    [{ DEMO_DATA: 'yes' }, 'DEMO_DATA'],
    [{ SMS_WEBHOOK_URL: 'https://sms.example/hook' }, 'SMS_WEBHOOK_SECRET'],
    [{ STEPUP_SUPERADMIN_EMAIL: 'root@example.com' }, 'STEPUP_SUPERADMIN_PASSWORD'],
    [{ NODE_ENV: 'production', SESSION_SECRET: SECRET, MFA_ENCRYPTION_KEYS: KEYS }, 'REDIS_URL'],
    [{ NODE_ENV: 'production', REDIS_URL: 'redis://r', SESSION_SECRET: SECRET, MFA_ENCRYPTION_KEYS: KEYS }, 'MONGODB_URI'],
    [{ NODE_ENV: 'production', REDIS_URL: 'redis://r', MONGODB_URI: 'mongodb://m/db', SESSION_SECRET: SECRET }, 'MFA_ENCRYPTION_KEYS'],
    [{ NODE_ENV: 'production', REDIS_URL: 'redis://r', MONGODB_URI: 'mongodb://m/db', MFA_ENCRYPTION_KEYS: KEYS }, 'SESSION_SECRET'],
  ])('%j is refused with a message naming %s', (env, variable) => {
    let err: unknown;
    try {
      loadConfig(env as NodeJS.ProcessEnv);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(variable);
  });

  it('embedded defaults: memory stores, generated key and secret, demo data on', () => {
    const cfg = loadConfig({});
    expect(cfg).toMatchObject({ port: 3000, host: '127.0.0.1', production: false, keysGenerated: true, sessionSecretGenerated: true, demoData: true });
    expect(cfg.redisUrl ?? cfg.mongodbUri ?? cfg.smtpUrl).toBeUndefined();
    expect(loadConfig({ MFA_ENCRYPTION_KEYS: `${KEYS},old:${'cd'.repeat(32)}` }).keys.map((k) => k.id)).toEqual(['k1', 'old']);
  });

  it('`npm start` with a bad variable stops with one line naming it', async () => {
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [require.resolve('tsx/cli'), path.join(__dirname, '../../example-app/server.ts')],
        { env: { ...process.env, PORT: 'nope', NODE_ENV: '' }, timeout: 20_000 },
        (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expect(out.code).toBe(1);
    expect(out.stderr.trim().split('\n').filter((l) => !/npm warn/i.test(l))).toEqual(['configuration error: PORT must be a whole number from 0 to 65535']);
  });
});

describe('example app: embedded start', () => {
  let ex: ExampleApp;
  beforeAll(async () => {
    ex = await createExampleApp(loadConfig({ SESSION_SECRET: SECRET, MFA_ENCRYPTION_KEYS: KEYS }), fast);
  });
  afterAll(() => ex.close());

  it('creates tenant acme with an admin and two users, and a development superadmin', async () => {
    const acme = ex.demo.filter((d) => d.tenant === 'acme');
    expect(acme.map((d) => [d.email, d.role])).toEqual([
      ['admin@acme.test', 'admin'],
      ['alice@acme.test', 'user'],
      ['bob@acme.test', 'user'],
    ]);
    expect(ex.demo.find((d) => d.role === 'superadmin')).toMatchObject({ tenant: 'platform', email: 'root@platform.test' });
    for (const d of ex.demo) expect(d.password).toMatch(/^\S{16,}$/);
    const alice = acme.find((d) => d.email === 'alice@acme.test')!;
    const res = await request(ex.app).post('/auth/login').send({ tenant: 'acme', email: alice.email, password: alice.password });
    expect(res.body).toMatchObject({ state: 'authenticated', aal: 1 });
    const admin = acme.find((d) => d.role === 'admin')!;
    const adm = await request(ex.app).post('/auth/login').send({ tenant: 'acme', email: admin.email, password: admin.password });
    expect(adm.body.state).toBe('enrollment_required');
  });

  it('DEMO_DATA=0 creates nothing', async () => {
    const empty = await createExampleApp(loadConfig({ DEMO_DATA: '0' }), fast);
    expect(empty.demo).toEqual([]);
    expect(await empty.stepUp.stores.tenants.list()).toEqual([]);
    await empty.close();
  });

  it('sets a CSP that allows only the app’s own scripts and styles, and its pages have nothing inline', async () => {
    for (const at of Object.values(PAGES)) {
      const res = await request(ex.app).get(at).expect(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      const csp = res.headers['content-security-policy'] as string;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:\/\//);
      expect(res.headers['referrer-policy']).toBe('same-origin');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(res.text).not.toMatch(/\sstyle=|\son[a-z]+=/i);
      expect(res.text).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    }
  });

  it('serves the browser modules transpiled, the realtime client included', async () => {
    for (const f of ['dashboard.js', 'realtime-client.js', 'api.js']) {
      const res = await request(ex.app).get(`/assets/${f}`).expect(200);
      expect(res.headers['content-type']).toMatch(/text\/javascript/);
      expect(res.text).not.toMatch(/:\s*(string|number|boolean)\b[,)=]/);
    }
    expect((await request(ex.app).get('/assets/dashboard.js')).text).toContain("from './realtime-client.js'");
    await request(ex.app).get('/assets/nope.js').expect(404);
    await request(ex.app).get('/assets/app.css').expect('content-type', /text\/css/);
  });

  it('pages load their modules from a content-hashed path cached for good, and no asset reads a session', async () => {
    const login = await request(ex.app).get('/login').expect(200);
    const base = /<script type="module" src="(\/assets\/v\/[0-9a-f]{16})\/login\.js"><\/script>/.exec(login.text)?.[1];
    expect(base).toBeDefined();
    expect(login.text).toContain(`href="${base}/app.css"`);
    const get = jest.spyOn(ex.stepUp.stores.sessions, 'get');
    // A cookie the server signed: had the request gone through the session middleware, the store would be read.
    const cookie = `sid=${encodeURIComponent(`s:${sign('a-session-id-that-is-long-enough-0123', SECRET)}`)}`;
    for (const f of ['login.js', 'passkeys.js', 'client/index.js', 'simplewebauthn/index.js', 'app.css']) {
      const hashed = await request(ex.app).get(`${base}/${f}`).set('Cookie', cookie).expect(200);
      expect([f, hashed.headers['cache-control']]).toEqual([f, 'public, max-age=31536000, immutable']);
      const plain = await request(ex.app).get(`/assets/${f}`).set('Cookie', cookie).expect(200);
      expect([f, plain.headers['cache-control'], plain.text]).toEqual([f, 'no-cache', hashed.text]);
    }
    // Another build's hash (a tab left open across a deploy) gets today's file, revalidated.
    expect((await request(ex.app).get('/assets/v/0000000000000000/login.js').expect(200)).headers['cache-control']).toBe('no-cache');
    // A file that is not there is a plain 404, never cached for good.
    const missing = await request(ex.app).get(`${base}/nope.js`).expect(404);
    expect(missing.headers['cache-control'] ?? '').not.toContain('immutable');
    expect(get).not.toHaveBeenCalled();
    get.mockRestore();
    // The passkey library is not part of a page's module graph: passkeys.js imports it when a passkey is used.
    const passkeys = (await request(ex.app).get(`${base}/passkeys.js`)).text;
    expect(passkeys).toMatch(/import\(['"]\.\/simplewebauthn\/index\.js['"]\)/);
    expect(passkeys).not.toMatch(/^\s*import\s[^(]*from\s*['"]\.\/simplewebauthn/m);
  });

  it('answers unknown addresses with a page for browsers and JSON for programs', async () => {
    const page = await request(ex.app).get('/no-such-page').set('accept', 'text/html').expect(404);
    expect(page.text).toContain('Page not found');
    const json = await request(ex.app).get('/no-such-page').set('accept', 'application/json').expect(404);
    expect(json.body.error).toBe('not_found');
  });

  it('guards the app routes', async () => {
    const res = await request(ex.app).post('/api/sync/start').set('content-type', 'application/json').send('{}');
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('unauthenticated');
    expect((await request(ex.app).get('/api/profile')).status).toBe(401);
    expect((await request(ex.app).get('/api/nothing-here')).body.error).toBe('not_found');
  });

  it('shows sent codes in the dev outbox, as a page and as JSON', async () => {
    const alice = ex.demo.find((d) => d.email === 'alice@acme.test')!;
    const a = request.agent(ex.app);
    await a.post('/auth/login').send({ tenant: 'acme', email: alice.email, password: alice.password }).expect(200);
    await a.post('/auth/mfa/email/enroll').send({}).expect(202);
    const json = await a.get('/dev/outbox').set('accept', 'application/json').expect(200);
    const msg = json.body.messages[0];
    expect(msg).toMatchObject({ channel: 'email', to: alice.email, code: expect.stringMatching(/^\d{6}$/) });
    const page = await a.get('/dev/outbox').set('accept', 'text/html').expect(200);
    expect(page.text).toContain(`data-code="${msg.code}"`);
    expect(page.headers['cache-control']).toBe('no-store');
  });
});

describe('example app: production mode', () => {
  it('has no dev outbox, sends HSTS and uses __Host- cookies', async () => {
    // Production settings on memory stores (the real production start refuses them; see the config tests).
    const cfg: ExampleConfig = { ...loadConfig({ SESSION_SECRET: SECRET, MFA_ENCRYPTION_KEYS: KEYS, DEMO_DATA: '0' }), production: true };
    const ex = await createExampleApp(cfg, fast);
    try {
      expect(ex.outbox).toBeUndefined();
      const res = await request(ex.app).get('/dev/outbox').set('accept', 'application/json');
      expect(res.status).toBe(404);
      const page = await request(ex.app).get('/login').expect(200);
      expect(page.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(page.headers['content-security-policy']).toContain('upgrade-insecure-requests');
      expect(page.text).not.toContain('/dev/outbox');
    } finally {
      await ex.close();
    }
  });
});

describe('example app: error sentences', () => {
  it('has a sentence for every code of the plugin’s error table, and never shows the code', () => {
    for (const [code, { status, message }] of Object.entries(ERROR_TABLE)) {
      expect(ERROR_SENTENCES[code]).toBeDefined();
      const text = describeError(new ApiError(status, code, { error: code, message }));
      expect(text).toMatch(/^[A-Z].*[.!]$/);
      // `unavailable` is also a word; codes like `invalid_code` must never show.
      if (code.includes('_')) expect(text).not.toContain(code);
    }
  });

  it('says when to try again after a lockout, and names a field that failed validation', () => {
    expect(describeError(new ApiError(423, 'account_locked', {}, 900))).toContain('try again in 15 minutes');
    expect(describeError(new ApiError(429, 'rate_limited', {}, 40))).toContain('in 40 seconds');
    expect(describeError(new ApiError(400, 'invalid_request', { message: 'Field "email" is invalid.' }))).toBe('The email address is not valid. Check it and try again.');
    expect(describeError(new ApiError(0, 'network', {}))).toContain('could not reach the server');
    expect(describeError(new Error('boom'))).toBe(ERROR_SENTENCES.internal_error);
    expect(describeError(new ApiError(409, 'conflict', {}), { conflict: 'Busy.' })).toBe('Busy.');
  });
});
