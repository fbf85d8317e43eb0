/**
 * The example app with WEB_CONCURRENCY=2 (node:cluster, example-app/cluster.ts) on one port, sharing
 * Redis and MongoDB (issue 14): the primary generates the secrets once for both workers; a login
 * started on one worker finishes on the other (seen by the X-Worker header); a sync started on either
 * reaches sockets on both; SIGTERM stops both workers and the primary exits 0, sockets closed with 1001.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import WebSocket from 'ws';
import { codeFor } from '../helpers/app';
import { dbPrefix, describeWithMongo, uriWithDb } from '../helpers/mongo';
import { redisUrl } from '../helpers/services';
import { freePort } from '../helpers/private-redis';

const ROOT = `${__dirname}/../..`;


interface Answer {
  status: number;
  worker: string;
  json: Record<string, unknown>;
  cookie?: string;
}

/** Conditions re-checked whenever something arrives (server output, socket frames): no polling. */
const checks = new Set<() => void>();
const poke = () => checks.forEach((c) => c());
function when(cond: () => boolean, ms: number, what: string): Promise<void> {
  let check!: () => void;
  const p = new Promise<void>((resolve) => {
    check = () => cond() && resolve();
    checks.add(check);
    check();
  });
  return within(ms, what, p).finally(() => checks.delete(check));
}

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

describeWithMongo('example app on 2 workers (node:cluster), one Redis, one MongoDB', () => {
  if (!redisUrl()) return;
  let child: ChildProcess;
  let out = '';
  let exited: Promise<number | null>;
  let origin = '';
  let cookie = '';
  const sockets: WebSocket[] = [];

  function call(method: string, path: string, body?: unknown, agent?: http.Agent): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        origin + path,
        { method, agent: agent ?? false, headers: { origin, ...(cookie ? { cookie } : {}), ...(data ? { 'content-type': 'application/json' } : {}) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            const set = (res.headers['set-cookie'] ?? []).find((c) => c.startsWith('sid='));
            if (set) cookie = set.split(';')[0]!;
            resolve({ status: res.statusCode!, worker: String(res.headers['x-worker']), json: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  /** Runs `fn` on a kept-alive connection that the primary handed to a worker other than `not`. */
  async function onOtherWorker<T>(not: string, fn: (agent: http.Agent) => Promise<T>): Promise<{ worker: string; value: T }> {
    for (let i = 0; i < 20; i++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const probe = await call('GET', '/auth/session', undefined, agent);
        if (probe.worker !== not) return { worker: probe.worker, value: await fn(agent) };
      } finally {
        agent.destroy();
      }
    }
    throw new Error('the primary never handed a connection to another worker');
  }

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    // No SESSION_SECRET / MFA_ENCRYPTION_KEYS: the primary must generate them once for both workers.
    const env = { ...process.env, SESSION_SECRET: '', MFA_ENCRYPTION_KEYS: '', PORT: String(port), APP_ORIGIN: origin, WEB_CONCURRENCY: '2', REDIS_URL: redisUrl(), MONGODB_URI: uriWithDb(dbPrefix('opscluster')) };
    child = spawn(process.execPath, ['--import', 'tsx', 'example-app/server.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => ((out += c.toString('utf8')), poke()));
    child.stderr!.on('data', (c: Buffer) => ((out += c.toString('utf8')), poke()));
    exited = new Promise((resolve) => child.once('exit', (code) => (resolve(code), poke())));
    // The seeding worker prints the demo accounts after it listens: wait for both lines.
    await when(() => (/2 worker\(s\) listening/.test(out) && /alice@acme\.test\s+\S+/.test(out)) || child.exitCode !== null, 60_000, 'two workers listening').catch((e: Error) => {
      throw new Error(`${e.message}\n${out}`);
    });
    if (child.exitCode !== null) throw new Error(`server exited:\n${out}`);
  }, 90_000);
  afterAll(() => {
    for (const s of sockets) s.terminate();
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  let secret = '';
  let backup: string[] = [];

  it('a login started on one worker finishes on the other', async () => {
    const password = /alice@acme\.test\s+(\S+)/.exec(out)![1]!;
    const first = await call('POST', '/auth/login', { tenant: 'acme', email: 'alice@acme.test', password });
    expect(first.json.state).toBe('authenticated');
    // Enrol TOTP on whichever worker, confirm it on the other one.
    const enrol = await call('POST', '/auth/mfa/totp/enroll', {});
    expect(enrol.status).toBe(200);
    secret = enrol.json.secret as string;
    const verified = await onOtherWorker(enrol.worker, (agent) => call('POST', '/auth/mfa/totp/verify', { code: codeFor(secret, Date.now()) }, agent));
    expect(verified.value.status).toBe(200);
    backup = verified.value.json.backupCodes as string[];
    expect(backup).toHaveLength(10);
    await call('POST', '/auth/logout');

    const pending = await call('POST', '/auth/login', { tenant: 'acme', email: 'alice@acme.test', password });
    expect(pending.json.state).toBe('mfa_required');
    const done = await onOtherWorker(pending.worker, (agent) => call('POST', '/auth/mfa/challenge', { method: 'backup_code', code: backup[0] }, agent));
    expect(done.worker).not.toBe(pending.worker);
    expect(done.value.status).toBe(200);
    expect(done.value.json).toMatchObject({ state: 'authenticated', aal: 2 });
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await call('GET', '/api/profile');
      expect(r.status).toBe(200);
      seen.add(r.worker);
    }
    expect(seen.size).toBe(2); // both workers know the session
  });

  it('a sync started on one worker reaches sockets held by both', async () => {
    const frames: Array<Array<Record<string, unknown>>> = [];
    for (let i = 0; i < 4; i++) {
      const ws = new WebSocket(`${origin.replace('http', 'ws')}/ws`, { headers: { cookie, origin } });
      sockets.push(ws);
      const mine: Array<Record<string, unknown>> = [];
      frames.push(mine);
      ws.on('message', (d) => (mine.push(JSON.parse(String(d)) as Record<string, unknown>), poke()));
      await within(5000, 'socket open', new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject))));
      ws.send(JSON.stringify({ type: 'joinCompany', tenant: 'acme' }));
    }
    const until = (cond: () => boolean, what: string) => when(cond, 10_000, what);
    await until(() => frames.every((f) => f.some((m) => m.type === 'joinedCompany')), 'joined');
    const started = await call('POST', '/api/sync/start');
    expect(started.status).toBe(202);
    // Round-robin put the 4 sockets on both workers; every one gets the other worker's events too.
    await until(() => frames.every((f) => f.some((m) => m.type === 'syncStatus')), 'syncStatus on every socket');
  });

  it('SIGTERM: both workers drain, sockets close with 1001, the primary exits 0', async () => {
    const closes = sockets.map((s) => new Promise<number>((resolve) => s.once('close', (code) => resolve(code))));
    child.kill('SIGTERM');
    expect(await within(20_000, 'primary exit', exited)).toBe(0);
    expect(await within(5000, 'sockets closed', Promise.all(closes))).toEqual([1001, 1001, 1001, 1001]);
    expect(out).toMatch(/stopping 2 worker/);
  });
});
