/**
 * The example app on Redis (REDIS_URL): two app processes (in-process here) share sessions and
 * realtime events through one Redis, as DESIGN §6 says any process can serve any request and socket.
 */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import WebSocket from 'ws';
import { loadConfig } from '../../example-app/config';
import { startServer, type RunningExample } from '../../example-app/server';
import type { Schedule } from '../../example-app/sync';
import { FAST_ARGON2 } from '../helpers/app';
import { frameLog } from '../helpers/realtime-ws';
import { describeWithRedis, redisUrl } from '../helpers/services';

const ORIGIN = 'http://app.example.test';

describeWithRedis('example app on Redis: two processes, one Redis', () => {
  let a: RunningExample;
  let b: RunningExample;
  const queue: (() => void)[] = [];
  const schedule: Schedule = (fn) => {
    queue.push(fn);
    return () => undefined;
  };

  beforeAll(async () => {
    const env = {
      PORT: '0',
      REDIS_URL: redisUrl(),
      SESSION_SECRET: randomBytes(32).toString('hex'),
      MFA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('hex')}`,
      APP_ORIGIN: ORIGIN,
    };
    // One key prefix per run: other suites share this Redis.
    const stepUp = { password: { argon2: FAST_ARGON2 }, redisPrefix: `ex-${randomBytes(4).toString('hex')}:` };
    a = await startServer(loadConfig(env), { stepUp, sync: { schedule } });
    b = await startServer(loadConfig({ ...env, DEMO_DATA: '0' }), { stepUp, sync: { schedule } });
    await Promise.all([a.ex.realtime.ready(), b.ex.realtime.ready()]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('a session made on one process opens a socket on the other, which receives the other’s sync and closes at logout', async () => {
    const alice = a.ex.demo.find((d) => d.email === 'alice@acme.test')!;
    const login = await request(a.url).post('/auth/login').send({ tenant: 'acme', email: alice.email, password: alice.password }).expect(200);
    const cookie = String((login.headers['set-cookie'] as unknown as string[])[0]).split(';')[0]!;
    // The session lives in Redis: process B knows it.
    expect((await request(b.url).get('/auth/session').set('cookie', cookie)).body.state).toBe('authenticated');

    const ws = new WebSocket(`${b.url.replace('http', 'ws')}/ws`, { headers: { cookie, origin: ORIGIN } });
    const { frames, until } = frameLog(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'joinCompany', tenant: 'acme' }));
    await until((fs) => fs.some((f) => f.type === 'joinedCompany'));

    await request(a.url).post('/api/sync/start').set('cookie', cookie).set('origin', ORIGIN).set('content-type', 'application/json').send('{}').expect(202);
    while (queue.length) queue.shift()!();
    await until((fs) => fs.some((f) => f.status === 'completed'));
    expect(frames.filter((f) => f.type === 'syncStatus').map((f) => f.progress)).toEqual([0, 10, 30, 55, 75, 90, 100]);

    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await request(a.url).post('/auth/logout').set('cookie', cookie).set('origin', ORIGIN).expect(204);
    expect(await closed).toBe(4401);
    expect((await request(b.url).get('/auth/session').set('cookie', cookie)).body.state).toBe('anonymous');
  });
});
