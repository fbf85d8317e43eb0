/**
 * The example app's simulated sync: the runner alone (timer driven by hand), then over the real
 * WebSocket of an app started on a free port: started, one status per stage, completed; 409 while it
 * runs; the last status kept for tabs opened later; a notification to whoever started it.
 */
import request from 'supertest';
import WebSocket from 'ws';
import { loadConfig } from '../../example-app/config';
import { startServer, type RunningExample } from '../../example-app/server';
import { SYNC_STAGES, SYNC_STEPS, SyncRunner, type Schedule, type SyncPayload } from '../../example-app/sync';
import { FAST_ARGON2 } from '../helpers/app';
import { frameLog } from '../helpers/realtime-ws';

const KEYS = `k1:${'ab'.repeat(32)}`;
const SECRET = 'example-app-test-session-secret-0123456789';
const fast = { stepUp: { password: { argon2: FAST_ARGON2 } } };

/** A timer the test runs by hand: nothing sleeps. */
function manualTimer() {
  const queue: (() => void)[] = [];
  const schedule: Schedule = (fn) => {
    queue.push(fn);
    return () => {
      const i = queue.indexOf(fn);
      if (i >= 0) queue.splice(i, 1);
    };
  };
  return { schedule, queue, step: () => queue.shift()?.() };
}

describe('SyncRunner', () => {
  it('runs one sync per tenant, emits in order, and stops cleanly', () => {
    const timer = manualTimer();
    const sent: [string, SyncPayload][] = [];
    const runner = new SyncRunner({ emit: (t, p) => sent.push([t, p]), schedule: timer.schedule, records: () => 7 });
    expect(runner.start('a')).toBe(true);
    expect(runner.start('a')).toBe(false);
    expect(runner.start('b')).toBe(true);
    runner.stopAll();
    expect(runner.isRunning('a')).toBe(false);
    expect(timer.queue.length).toBe(0);
    expect(runner.start('a')).toBe(true);
    while (timer.queue.length) timer.step();
    expect(sent.filter(([t]) => t === 'a').map(([, p]) => p.status)).toEqual(['started', 'started', ...SYNC_STEPS.map((s) => s.status)]);
    expect(sent[sent.length - 1]![1]).toMatchObject({ status: 'completed', progress: 100, recordsImported: 7 });
  });

  it('lasts 10-20 s by default, in named stages; keeps the last status; notifies whoever started it', () => {
    const timer = manualTimer();
    const delays: number[] = [];
    const schedule: Schedule = (fn, ms) => (delays.push(ms), timer.schedule(fn, ms));
    const notes: unknown[] = [];
    const runner = new SyncRunner({ emit: () => undefined, schedule, records: () => 9, now: () => Date.parse('2026-03-01T12:00:00Z'), notify: (who, n) => notes.push([who, n]) });
    expect(runner.lastStatus('a')).toBeNull();
    runner.start('a', { tenantId: 't1', userId: 'u1' });
    expect(runner.lastStatus('a')).toMatchObject({ status: 'started', stage: 0, stages: SYNC_STAGES });
    timer.step();
    timer.step();
    expect(runner.lastStatus('a')).toMatchObject({ status: 'progress', stage: 1, message: SYNC_STAGES[1] });
    expect(notes).toEqual([]);
    while (timer.queue.length) timer.step();
    const total = delays.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(10_000);
    expect(total).toBeLessThanOrEqual(20_000);
    expect(runner.lastStatus('a')).toEqual(expect.objectContaining({ status: 'completed', recordsImported: 9, at: '2026-03-01T12:00:00.000Z' }));
    expect(notes).toEqual([[{ tenantId: 't1', userId: 'u1' }, { level: 'success', title: 'Sync finished', message: '9 records imported for a.' }]]);
  });

  it('reports an emit that fails instead of throwing', async () => {
    const errors: string[] = [];
    const runner = new SyncRunner({ emit: () => Promise.reject(new Error('redis down')), schedule: manualTimer().schedule, onError: (e) => errors.push(e.message) });
    runner.start('a');
    await new Promise((r) => setImmediate(r));
    expect(errors).toEqual(['redis down']);
  });
});

describe('example app: simulated sync over the WebSocket', () => {
  let running: RunningExample;
  const timer = manualTimer();
  let cookie = '';

  beforeAll(async () => {
    const cfg = loadConfig({ PORT: '0', SESSION_SECRET: SECRET, MFA_ENCRYPTION_KEYS: KEYS });
    running = await startServer(cfg, { ...fast, sync: { schedule: timer.schedule, records: () => 321 } });
    const alice = running.ex.demo.find((d) => d.email === 'alice@acme.test')!;
    const res = await request(running.url).post('/auth/login').send({ tenant: 'acme', email: alice.email, password: alice.password }).expect(200);
    cookie = String((res.headers['set-cookie'] as unknown as string[])[0]).split(';')[0]!;
  });
  afterAll(() => running.close());

  const openSocket = async (origin = running.url): Promise<{ ws: WebSocket } & ReturnType<typeof frameLog>> => {
    const ws = new WebSocket(`${running.url.replace('http', 'ws')}/ws`, { headers: { cookie, origin } });
    const log = frameLog(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'joinCompany', tenant: 'acme' }));
    await log.until((fs) => fs.some((f) => f.type === 'joinedCompany'));
    return { ws, ...log };
  };

  it('refuses a socket from another origin', async () => {
    const ws = new WebSocket(`${running.url.replace('http', 'ws')}/ws`, { headers: { cookie, origin: 'https://evil.example' } });
    const status = await new Promise<number | undefined>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode)));
    expect(status).toBe(403);
  });

  it('emits started, one progress per stage, then completed with recordsImported; 409 while it runs; notifies the starter', async () => {
    const { ws, frames, until } = await openSocket();
    const start = () => request(running.url).post('/api/sync/start').set('cookie', cookie).set('origin', running.url).set('content-type', 'application/json').send('{}');
    const first = await start();
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ status: 'started', tenant: 'acme' });
    const again = await start();
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('conflict');

    while (timer.queue.length) {
      timer.step();
      if (timer.queue.length) expect((await start()).status).toBe(409);
    }
    await until((fs) => fs.some((f) => f.status === 'completed'));
    const sync = frames.filter((f) => f.type === 'syncStatus') as unknown as (SyncPayload & { tenant: string })[];
    expect(sync.map((f) => [f.status, f.progress])).toEqual([['started', 0], ...SYNC_STEPS.map((s) => [s.status, s.progress])]);
    expect(sync.every((f) => f.tenant === 'acme' && typeof f.message === 'string')).toBe(true);
    // Each progress status names its stage, in order.
    expect(sync.filter((f) => f.status === 'progress').map((f) => f.message)).toEqual(SYNC_STAGES);
    expect(sync[sync.length - 1]!.recordsImported).toBe(321);
    await until((fs) => fs.some((f) => f.type === 'notification'));
    expect(frames.find((f) => f.type === 'notification')).toMatchObject({ level: 'success', title: 'Sync finished', message: '321 records imported for acme.' });
    // A tab opened now reads the result.
    const last = await request(running.url).get('/api/sync/last').set('cookie', cookie).expect(200);
    expect(last.body).toMatchObject({ stages: SYNC_STAGES, last: { status: 'completed', recordsImported: 321 } });
    // Done: a new run may start.
    expect((await start()).status).toBe(202);
    while (timer.queue.length) timer.step();
    ws.close();
  });

  it('refuses a cross-site start', async () => {
    const res = await request(running.url).post('/api/sync/start').set('cookie', cookie).set('origin', 'https://evil.example').set('content-type', 'application/json').send('{}');
    expect(res.status).toBe(403);
  });

  it('closes the socket when the session logs out', async () => {
    const { ws } = await openSocket();
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await request(running.url).post('/auth/logout').set('cookie', cookie).set('origin', running.url).expect(204);
    expect(await closed).toBe(4401);
  });
});
