/**
 * Two "processes" (two HTTP servers, two realtime instances, separate Redis connections) sharing one Redis:
 * the same connect-redis 8.1 session store and one pub/sub channel. Any process can authenticate any socket,
 * an emit anywhere reaches sockets everywhere with exactly one PUBLISH, and closing a session anywhere
 * closes its sockets everywhere (MFA-15, MFA-17, MFA-63).
 */
import Redis from 'ioredis';
import { RedisStore } from 'connect-redis';
import { describeWithRedis, redisUrl } from '../helpers/services';
import { startRealtimeApp, destroySession, type RealtimeTestApp } from '../helpers/realtime-app';
import { openSocket, refusedStatus, withTimeout, type TestSocket } from '../helpers/realtime-ws';

const PREFIX = `stepup-test:rt-redis:${process.pid}:${Date.now()}:`;
const CHANNEL = `${PREFIX}rt:bus`;
const SENTINEL = `${PREFIX}rt:sentinel`;

describeWithRedis('realtime across processes (Redis pub/sub, connect-redis store)', () => {
  const clients: Redis[] = [];
  const client = (): Redis => {
    const c = new Redis(redisUrl(), { lazyConnect: false, maxRetriesPerRequest: 2 });
    clients.push(c);
    return c;
  };
  let a: RealtimeTestApp;
  let b: RealtimeTestApp;
  let storeA: RedisStore;
  let busA: Redis;
  let busB: Redis;
  let counter: Redis;
  let probe: Redis;
  /** Messages seen on the realtime channel, and sentinel waiters. */
  let published = 0;
  const sentinelWaiters = new Map<string, () => void>();
  const sockets: TestSocket[] = [];

  /** All PUBLISHes sent before this call have been counted once it resolves (Redis orders them). */
  async function flushCounter(): Promise<void> {
    const token = String(Math.random());
    const seen = new Promise<void>((resolve) => sentinelWaiters.set(token, resolve));
    await probe.publish(SENTINEL, token);
    await withTimeout(seen, 5000, 'sentinel');
  }

  async function open(app: RealtimeTestApp, cookie: string): Promise<TestSocket> {
    const s = await openSocket(app.wsUrl, { cookie });
    sockets.push(s);
    await s.next('joined');
    return s;
  }

  beforeAll(async () => {
    storeA = new RedisStore({ client: client(), prefix: `${PREFIX}sess:` });
    const storeB = new RedisStore({ client: client(), prefix: `${PREFIX}sess:` });
    busA = client();
    busB = client();
    probe = client();
    counter = client();
    counter.on('message', (channel: string, message: string) => {
      if (channel === CHANNEL) published += 1;
      else sentinelWaiters.get(message)?.();
    });
    await counter.subscribe(CHANNEL, SENTINEL);
    const realtime = { channelPrefix: `${PREFIX}rt:`, revalidateIntervalMs: 60_000 };
    a = await startRealtimeApp({ store: storeA, realtime: { ...realtime, redis: busA } });
    b = await startRealtimeApp({ store: storeB, realtime: { ...realtime, redis: busB } });
  });

  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close().catch(() => undefined)));
    await a?.close();
    await b?.close();
    await new Promise<void>((resolve) => storeA.clear(() => resolve()));
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  });

  it('a session created through A authenticates a socket on B; a pending one is refused there', async () => {
    const full = await a.login({ userId: 'r1', tenantId: 't1', tenant: 'acme' });
    const s = await open(b, full.cookie);
    expect(s.received[0]).toEqual({ type: 'joined', userId: 'r1' });
    const pending = await a.login({ state: 'mfa_required', userId: 'r1' });
    expect(await refusedStatus(b.wsUrl, { cookie: pending.cookie })).toBe(401);
    await s.close();
  });

  it('an emit on A reaches sockets on A and B with exactly one PUBLISH', async () => {
    const l1 = await a.login({ userId: 'r2', tenantId: 't1', tenant: 'acme' });
    const l2 = await a.login({ userId: 'r3', tenantId: 't1', tenant: 'acme' });
    const onA = await open(a, l1.cookie);
    const onB = await open(b, l2.cookie);
    for (const s of [onA, onB]) {
      s.send({ type: 'joinCompany', tenant: 'acme' });
      await s.next('joinedCompany');
    }
    await flushCounter();
    const before = published;
    await a.realtime.emitSyncStatus('acme', { status: 'started', message: 'import' });
    expect(await onB.next('syncStatus')).toMatchObject({ tenant: 'acme', status: 'started', message: 'import' });
    expect(await onA.next('syncStatus')).toMatchObject({ tenant: 'acme', status: 'started' });
    await flushCounter();
    expect(published - before).toBe(1);

    await b.realtime.emitNotification({ tenantId: 't1', userId: 'r2' }, { level: 'info', title: 'From B', message: 'hi' });
    expect(await onA.next('notification')).toMatchObject({ title: 'From B' });
    await flushCounter();
    expect(published - before).toBe(2);
    await Promise.all([onA.close(), onB.close()]);
  });

  it('closeSessions on A closes the socket held on B with 4401 (one PUBLISH)', async () => {
    const login = await a.login({ userId: 'r4', tenantId: 't1', tenant: 'acme' });
    const s = await open(b, login.cookie);
    await flushCounter();
    const before = published;
    await a.realtime.closeSessions([login.sid]);
    expect((await withTimeout(s.closed, 5000, 'close')).code).toBe(4401);
    await flushCounter();
    expect(published - before).toBe(1);
  });

  it('logout through A destroys the Redis session and closes the socket on B; the cookie is refused after', async () => {
    const login = await a.login({ userId: 'r5', tenantId: 't1', tenant: 'acme' });
    const s = await open(b, login.cookie);
    await a.logout(login);
    expect((await withTimeout(s.closed, 5000, 'close')).code).toBe(4401);
    expect(await refusedStatus(b.wsUrl, { cookie: login.cookie })).toBe(401);
  });

  it('closeUser on B closes that user\'s sockets on A and B', async () => {
    const l1 = await a.login({ userId: 'r6', tenantId: 't1', tenant: 'acme' });
    const l2 = await b.login({ userId: 'r6', tenantId: 't1', tenant: 'acme' });
    const s1 = await open(a, l1.cookie);
    const s2 = await open(b, l2.cookie);
    await b.realtime.closeUser('t1', 'r6');
    expect((await withTimeout(s1.closed, 5000, 'close on A')).code).toBe(4401);
    expect((await withTimeout(s2.closed, 5000, 'close on B')).code).toBe(4401);
  });

  it('revalidation on B closes a socket whose session was destroyed in Redis', async () => {
    const login = await a.login({ userId: 'r7', tenantId: 't1', tenant: 'acme' });
    const s = await open(b, login.cookie);
    await destroySession(storeA, login.sid);
    await b.realtime.revalidate();
    expect((await withTimeout(s.closed, 5000, 'close')).code).toBe(4401);
  });

  it('garbage on the channel is dropped and delivery goes on', async () => {
    const login = await a.login({ userId: 'r8', tenantId: 't1', tenant: 'acme' });
    const s = await open(b, login.cookie);
    await probe.publish(CHANNEL, 'not json');
    await probe.publish(CHANNEL, JSON.stringify({ v: 1, t: 'room', room: 5 }));
    await a.realtime.emitNotification('r8', { level: 'info', title: 'still here', message: '' });
    expect(await s.next('notification')).toMatchObject({ title: 'still here' });
    await s.close();
  });

  it('close() on B sends 1001 and quits only its own subscriber, not the caller\'s client', async () => {
    const login = await a.login({ userId: 'r9', tenantId: 't1', tenant: 'acme' });
    const s = await open(b, login.cookie);
    await b.realtime.close();
    expect((await withTimeout(s.closed, 5000, 'close')).code).toBe(1001);
    expect(await busB.ping()).toBe('PONG');
    // A still delivers to its own sockets.
    const onA = await open(a, login.cookie);
    await a.realtime.emitNotification('r9', { level: 'info', title: 'A lives', message: '' });
    expect(await onA.next('notification')).toMatchObject({ title: 'A lives' });
    await onA.close();
  });
});
