/**
 * Issue 12 item 8 (the ephemeral store and realtime side): every RedisEphemeralStore call and every
 * realtime PUBLISH races a deadline. A private redis-server is frozen with SIGSTOP: calls fail within
 * the deadline (plus a small margin, on the real clock) with an error the routes classify as a store
 * outage, and work again by themselves after SIGCONT.
 */
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { RedisDeadlineError, RedisEphemeralStore } from '../../lib/stores/ephemeral';
import { createRedisBus } from '../../lib/realtime/bus';
import { describeWithRedis } from '../helpers/services';
import { freePort, startRedis } from '../helpers/private-redis';

const DEADLINE_MS = 300;
const MARGIN_MS = 1500; // generous: CI shares two cores with other suites



async function timed<T>(p: Promise<T>): Promise<{ ms: number; result: T | undefined; error: unknown }> {
  const t0 = performance.now();
  try {
    const result = await p;
    return { ms: performance.now() - t0, result, error: undefined };
  } catch (error) {
    return { ms: performance.now() - t0, result: undefined, error };
  }
}

describeWithRedis('Redis deadlines: SIGSTOP / SIGCONT on a private redis-server', () => {
  let child: ChildProcess;
  let redis: Redis;
  let frozen = false;

  beforeAll(async () => {
    const port = await freePort();
    child = await startRedis(port);
    // The client a host would pass: fail fast, no queue while disconnected (README).
    redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    redis.on('error', () => undefined);
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  });
  afterEach(() => {
    if (frozen) child.kill('SIGCONT');
    frozen = false;
  });
  afterAll(async () => {
    redis?.disconnect();
    if (child && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
  });

  const freeze = () => {
    child.kill('SIGSTOP');
    frozen = true;
  };
  const thaw = () => {
    child.kill('SIGCONT');
    frozen = false;
  };

  it('every kind of ephemeral call fails within the deadline while Redis is frozen, and recovers after SIGCONT', async () => {
    const store = new RedisEphemeralStore(redis, { prefix: 'test:deadline:', timeoutMs: DEADLINE_MS });
    await store.set('k', 'v', 60_000);
    freeze();
    const now = Date.now();
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['get', () => store.get('k')],
      ['set', () => store.set('k', 'w', 60_000)],
      ['take', () => store.take('k')],
      ['incr', () => store.incr('n', 60_000)],
      ['del', () => store.del('k', 'n')],
      ['sadd', () => store.sadd('s', 'a', 60_000)],
      ['smembers', () => store.smembers('s')],
      ['slidingAdd', () => store.slidingAdd('log', 'm', now, 60_000, 3)],
      ['slidingRange', () => store.slidingRange('log', now, 60_000)],
      ['slidingRemove', () => store.slidingRemove('log', 'm')],
    ];
    const results = await Promise.all(calls.map(([name, fn]) => timed(fn()).then((r) => ({ name, ...r }))));
    for (const r of results) {
      expect({ name: r.name, error: r.error }).toEqual({ name: r.name, error: expect.any(RedisDeadlineError) });
      // Classified as an outage by routes/http.ts (code ETIMEDOUT), never a 500 or a hang.
      expect((r.error as RedisDeadlineError).code).toBe('ETIMEDOUT');
      expect((r.error as Error).name).toBe('RedisDeadlineError');
      expect((r.error as Error).message).not.toMatch(/test:deadline|\bk\b/); // no key in the message
      expect(r.ms).toBeGreaterThanOrEqual(DEADLINE_MS - 20);
      expect(r.ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    }
    thaw();
    // Recovers by itself: the same store and client answer again.
    const back = await timed(store.incr('recovered', 60_000));
    expect(back.error).toBeUndefined();
    expect(back.result).toBe(1);
    expect((await store.slidingAdd('log2', 'm', now, 60_000, 3)).admitted).toBe(true);
  });

  it('a realtime PUBLISH fails within the deadline while Redis is frozen, and delivers again after SIGCONT', async () => {
    const got: string[] = [];
    let arrived!: () => void;
    const after = new Promise<void>((resolve) => (arrived = resolve));
    const room = (_room: string, frame: Buffer) => {
      got.push(frame.toString('utf8'));
      if (frame.toString('utf8') === 'after') arrived();
    };
    const bus = createRedisBus(redis, 'test:deadline:bus', { room, control: () => undefined }, { info: () => undefined, warn: () => undefined, error: () => undefined }, { timeoutMs: DEADLINE_MS });
    await bus.ready();
    freeze();
    const r = await timed(bus.publishRoom('r', 'while-frozen'));
    expect(r.error).toBeInstanceOf(RedisDeadlineError);
    expect(r.ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    thaw();
    await bus.publishRoom('r', 'after');
    await Promise.race([after, new Promise((_, reject) => setTimeout(() => reject(new Error('no delivery after SIGCONT')), 5000).unref())]);
    expect(got).toContain('after');
    await bus.close();
  });
});
