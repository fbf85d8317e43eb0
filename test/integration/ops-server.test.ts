/**
 * The example server's process side (issue 12 items 9, 11, 16):
 * - 9: no request is left hanging while the app is still being built (PORT=0: answered 503 +
 *   Retry-After; a fixed port: not listening yet, so refused at once), then served once attached.
 * - 11: SIGTERM under load: the server stops accepting, finishes what is in flight, closes sockets
 *   with 1001, closes Redis and exits 0, and no client sees a connection reset.
 * - 16: with users in memory, a session stored in Redis by an earlier boot matches nothing after a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import WebSocket from 'ws';
import { loadConfig } from '../../example-app/config';
import { startServer } from '../../example-app/server';
import { codeFor, FAST_ARGON2 } from '../helpers/app';
import { describeWithRedis, redisUrl } from '../helpers/services';
import { freePort } from '../helpers/private-redis';

const ROOT = `${__dirname}/../..`;


interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function call(url: string, opts: { method?: string; body?: unknown; cookie?: string; agent?: http.Agent; origin?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = http.request(
      url,
      {
        method: opts.method ?? 'GET',
        agent: opts.agent,
        headers: {
          ...(data ? { 'content-type': 'application/json' } : {}),
          ...(opts.cookie ? { cookie: opts.cookie } : {}),
          ...(opts.origin ? { origin: opts.origin } : {}),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const cookieOf = (a: Answer) => String((a.headers['set-cookie'] ?? [])[0] ?? '').split(';')[0]!;

/** Resolves with what `fn` resolves to, or rejects after `ms` (so nothing here can hang the suite). */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

const baseEnv = () => ({
  REDIS_URL: redisUrl(),
  SESSION_SECRET: randomBytes(32).toString('hex'),
  MFA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('hex')}`,
});

describeWithRedis('example server: ready before serving (item 9)', () => {
  it('PORT=0: a request sent while the app is still being built is answered 503 with Retry-After, then served', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached!: (url: string) => void;
    const atHook = new Promise<string>((r) => (reached = r));
    // The hook runs once the app is built and before it is attached; with PORT=0 the server already listens.
    const starting = startServer(loadConfig({ ...baseEnv(), PORT: '0', DEMO_DATA: '0' }), { stepUp: { password: { argon2: FAST_ARGON2 } } }, {
      beforeAttach: async (url) => {
        reached(url);
        await gate;
      },
    });
    let started = false;
    void starting.then(() => (started = true));
    const url = await atHook;
    const early = await within(2000, 'early request', call(`${url}/auth/session`));
    expect(early.status).toBe(503);
    expect(early.headers['retry-after']).toBe('1');
    expect(JSON.parse(early.body)).toEqual({ error: 'unavailable', message: expect.any(String) });
    expect(started).toBe(false);
    release();
    const r = await starting;
    const ok = await within(2000, 'request after start', call(`${r.url}/auth/session`));
    expect(ok.status).toBe(200);
    await r.close();
  });

  it('a fixed port: nothing listens until the app is attached (refused at once, never hung), then served', async () => {
    const port = await freePort();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let built!: () => void;
    const atHook = new Promise<void>((r) => (built = r));
    const starting = startServer(loadConfig({ ...baseEnv(), PORT: String(port), DEMO_DATA: '0' }), { stepUp: { password: { argon2: FAST_ARGON2 } } }, {
      beforeAttach: async () => {
        built();
        await gate;
      },
    });
    await atHook;
    const err = await within(2000, 'early request', call(`http://127.0.0.1:${port}/auth/session`).then(() => null, (e: NodeJS.ErrnoException) => e.code));
    expect(err).toBe('ECONNREFUSED');
    release();
    const r = await starting;
    expect((await within(2000, 'request after start', call(`${r.url}/auth/session`))).status).toBe(200);
    await r.close();
  });
});

describeWithRedis('example server: memory users scope Redis sessions to the boot (item 16)', () => {
  it('a session from an earlier boot does not match the user who now has its id', async () => {
    const env = { ...baseEnv(), PORT: '0' };
    const one = await startServer(loadConfig(env), { stepUp: { password: { argon2: FAST_ARGON2 } } });
    const alice = one.ex.demo.find((d) => d.email === 'alice@acme.test')!;
    const login = await call(`${one.url}/auth/login`, { method: 'POST', body: { tenant: 'acme', email: alice.email, password: alice.password } });
    expect(login.status).toBe(200);
    const cookie = cookieOf(login);
    expect(JSON.parse((await call(`${one.url}/auth/session`, { cookie })).body).state).toBe('authenticated');
    await one.close();

    // Same secrets and Redis, new boot: new users (ids start again), so the old session must be unknown.
    const two = await startServer(loadConfig(env), { stepUp: { password: { argon2: FAST_ARGON2 } } });
    const after = JSON.parse((await call(`${two.url}/auth/session`, { cookie })).body);
    expect(after.state).toBe('anonymous');
    expect((await call(`${two.url}/api/profile`, { cookie })).status).toBe(401);
    await two.close();
  });
});

/** The example server as a child process (node + tsx), its stdout collected. */
function spawnServer(env: Record<string, string>): { child: ChildProcess; out: () => string; exited: Promise<number | null>; waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'example-app/server.ts'], { cwd: ROOT, env: { ...process.env, MONGODB_URI: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: Array<() => void> = [];
  const feed = (c: Buffer) => {
    out += c.toString('utf8');
    waiters.splice(0).forEach((w) => w());
  };
  child.stdout!.on('data', feed);
  child.stderr!.on('data', feed);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    out: () => out,
    exited,
    waitFor(re, ms = 30_000) {
      return within(
        ms,
        `server output ${re}`,
        new Promise<RegExpExecArray>((resolve) => {
          const check = () => {
            const m = re.exec(out);
            if (m) resolve(m);
            else waiters.push(check);
          };
          check();
        }),
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n--- output ---\n${out}`);
      });
    },
  };
}

describeWithRedis('example server: SIGTERM under load (item 11)', () => {
  let proc: ReturnType<typeof spawnServer> | undefined;
  afterEach(() => {
    if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
  });

  it('stops accepting, finishes in-flight requests, closes sockets with 1001 and exits 0; no connection reset', async () => {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    proc = spawnServer({ ...baseEnv(), PORT: String(port), SHUTDOWN_DRAIN_MS: '10000', APP_ORIGIN: origin, WEB_CONCURRENCY: '1' });
    const m = await proc.waitFor(/alice@acme\.test\s+(\S+)/);
    const password = m[1]!;
    const login = await call(`${origin}/auth/login`, { method: 'POST', body: { tenant: 'acme', email: 'alice@acme.test', password } });
    expect(login.status).toBe(200);
    // Sockets need aal 2: enrol TOTP (the session then holds aal 2).
    const enrol = await call(`${origin}/auth/mfa/totp/enroll`, { method: 'POST', body: {}, cookie: cookieOf(login), origin });
    expect(enrol.status).toBe(200);
    const verified = await call(`${origin}/auth/mfa/totp/verify`, { method: 'POST', body: { code: codeFor(JSON.parse(enrol.body).secret as string, Date.now()) }, cookie: cookieOf(login), origin });
    expect(verified.status).toBe(200);
    const cookie = cookieOf(verified) || cookieOf(login);

    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { cookie, origin } });
    const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await within(5000, 'socket open', new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject))));

    // Load: 16 keep-alive loops of guarded requests and logins (the logins keep argon2 work in flight).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    let signalAt = Infinity;
    const ok: number[] = [];
    const afterSignal: number[] = [];
    const errors: string[] = [];
    let stop = false;
    let warmed!: () => void;
    const warm = new Promise<void>((resolve) => (warmed = resolve));
    const loop = async (i: number) => {
      while (!stop) {
        try {
          const r =
            i % 4 === 0
              ? await call(`${origin}/auth/login`, { method: 'POST', agent, body: { tenant: 'acme', email: 'alice@acme.test', password } })
              : await call(`${origin}/api/profile`, { agent, cookie });
          if (r.status !== 200) errors.push(`status ${r.status}`);
          ok.push(r.status);
          if (ok.length === 200) warmed();
          if (performance.now() > signalAt) afterSignal.push(r.status);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
          // Refused: the server no longer accepts, which is what it must do. Anything else is a failure.
          if (code !== 'ECONNREFUSED') errors.push(code);
          return;
        }
      }
    };
    const loops = Array.from({ length: 16 }, (_, i) => loop(i));
    await within(20_000, 'load warm-up', warm);
    signalAt = performance.now();
    proc.child.kill('SIGTERM');
    const code = await within(15_000, 'exit after SIGTERM', proc.exited);
    const stoppedIn = performance.now() - signalAt;
    stop = true;
    await Promise.all(loops);
    agent.destroy();

    expect(code).toBe(0);
    expect(stoppedIn).toBeLessThan(12_000);
    expect(errors).toEqual([]);
    expect(afterSignal.length).toBeGreaterThan(0); // requests in flight at SIGTERM were answered
    expect(await within(5000, 'socket close', wsClosed)).toBe(1001);
    expect(proc.out()).toMatch(/SIGTERM: draining/);
    // Nothing listens any more.
    expect(await call(`${origin}/auth/session`).then(() => 'answered', (e: NodeJS.ErrnoException) => e.code)).toBe('ECONNREFUSED');
  }, 60_000);
});
