/**
 * One contract for every EphemeralStore: memory, a single Redis and a Redis Cluster run the same cases,
 * so the limiter primitive (lib/limits/window.ts) behaves the same on all of them. Times are passed in
 * (the injected clock); nothing here waits on the real clock.
 */
import { randomBytes } from 'node:crypto';
import type { EphemeralStore } from '../../lib/stores/ephemeral';

export interface ContractBackend {
  /** A fresh, empty store (e.g. a new key prefix) for each case. */
  store(): EphemeralStore;
  /** Remaining TTL of a key in ms as the backend sees it (null: no TTL or no key). Optional. */
  ttlMs?(key: string): Promise<number | null>;
}

const T = Date.UTC(2030, 0, 1, 12);
const MIN = 60_000;
const HOUR = 3_600_000;

export function ephemeralStoreContract(name: string, backend: () => ContractBackend): void {
  describe(`EphemeralStore contract: ${name}`, () => {
    let s: EphemeralStore;
    let b: ContractBackend;
    beforeEach(() => {
      b = backend();
      s = b.store();
    });

    it('get / set / del / take; take is atomic under parallel callers', async () => {
      expect(await s.get('k')).toBeNull();
      await s.set('k', 'v', MIN);
      expect(await s.get('k')).toBe('v');
      const got = await Promise.all(Array.from({ length: 10 }, () => s.take('k')));
      expect(got.filter((v) => v === 'v')).toHaveLength(1);
      expect(await s.get('k')).toBeNull();
      // del of keys that live in different cluster slots (no hash tag): one call, every key gone.
      const keys = Array.from({ length: 8 }, (_, i) => `multi:${i}:${randomBytes(3).toString('hex')}`);
      for (const k of keys) await s.set(k, 'x', MIN);
      await s.del(...keys);
      for (const k of keys) expect(await s.get(k)).toBeNull();
      await s.del();
    });

    it('batch: sets, dels, sadd, srem, then the read, over keys of several cluster slots', async () => {
      const tag = randomBytes(3).toString('hex');
      await s.set(`old:${tag}`, 'x', MIN);
      await s.sadd(`idx:${tag}`, 'old', MIN);
      await s.set(`mark:${tag}`, '42', MIN);
      const read = await s.batch({ set: [[`new:${tag}`, 'rec', MIN]], del: [`old:${tag}`], sadd: [[`idx:${tag}`, 'new', HOUR]], srem: [[`idx:${tag}`, 'old']], get: `mark:${tag}` });
      expect(read).toBe('42');
      expect(await s.get(`new:${tag}`)).toBe('rec');
      expect(await s.get(`old:${tag}`)).toBeNull();
      expect(await s.smembers(`idx:${tag}`)).toEqual(['new']);
      expect(await s.batch({ get: `none:${tag}` })).toBeNull();
      expect(await s.batch({})).toBeNull();
      if (b.ttlMs) {
        const setTtl = await b.ttlMs(`idx:${tag}`);
        expect(setTtl!).toBeGreaterThan(MIN); // the sadd renewed the set's TTL to an hour
        expect(setTtl!).toBeLessThanOrEqual(HOUR);
      }
    });

    it('incr: a fixed window counter, atomic, negative steps never create it', async () => {
      const n = await Promise.all(Array.from({ length: 30 }, () => s.incr('c', MIN)));
      expect([...n].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(await s.incr('c', MIN, -1)).toBe(29);
      expect(await s.incr('c', MIN, 5)).toBe(34);
      expect(await s.incr('gone', MIN, -1)).toBe(0);
      expect(await s.get('gone')).toBeNull();
      if (b.ttlMs) {
        const ttl = await b.ttlMs('c');
        expect(ttl).not.toBeNull();
        expect(ttl!).toBeGreaterThan(0);
        expect(ttl!).toBeLessThanOrEqual(MIN);
      }
    });

    it('sadd / srem / smembers', async () => {
      await s.sadd('set', 'a', MIN);
      await s.sadd('set', 'b', MIN);
      await s.sadd('set', 'a', MIN);
      expect((await s.smembers('set')).sort()).toEqual(['a', 'b']);
      await s.srem('set', 'a');
      expect(await s.smembers('set')).toEqual(['b']);
      expect(await s.smembers('none')).toEqual([]);
      if (b.ttlMs) expect(await b.ttlMs('set')).toBeGreaterThan(0);
    });

    it('slidingAdd admits exactly `limit` of parallel callers and stores no refused entry', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s.slidingAdd('log', `m${i}`, T, HOUR, 3)));
      expect(results.filter((r) => r.admitted)).toHaveLength(3);
      expect(results.filter((r) => r.admitted).map((r) => r.rank).sort()).toEqual([0, 1, 2]);
      for (const r of results.filter((x) => !x.admitted)) {
        expect(r.rank).toBe(3);
        expect(r.retryAfterMs).toBe(HOUR);
      }
      expect(await s.slidingRange('log', T, HOUR)).toHaveLength(3);
      if (b.ttlMs) expect(await b.ttlMs('log')).toBeGreaterThan(0);
    });

    it('slidingAdd slides: the wait is until the entry that frees a place leaves the window (at exactly +window)', async () => {
      expect(await s.slidingAdd('log', 'a', T, HOUR, 2)).toEqual({ admitted: true, rank: 0, oldestMs: T, retryAfterMs: 0 });
      expect(await s.slidingAdd('log', 'b', T + 10 * MIN, HOUR, 2)).toEqual({ admitted: true, rank: 1, oldestMs: T, retryAfterMs: 0 });
      expect(await s.slidingAdd('log', 'c', T + 20 * MIN, HOUR, 2)).toEqual({ admitted: false, rank: 2, oldestMs: T, retryAfterMs: 40 * MIN });
      // With more entries than the limit (a smaller limit than they were added under), the wait is for
      // the entry at position n - limit.
      expect((await s.slidingAdd('log', 'c', T + 20 * MIN, HOUR, 1)).retryAfterMs).toBe(50 * MIN);
      expect((await s.slidingAdd('log', 'c', T + HOUR - 1, HOUR, 2)).retryAfterMs).toBe(1);
      const r = await s.slidingAdd('log', 'c', T + HOUR, HOUR, 2);
      expect(r).toEqual({ admitted: true, rank: 1, oldestMs: T + 10 * MIN, retryAfterMs: 0 });
      expect(await s.slidingRange('log', T + HOUR, HOUR)).toEqual([
        { member: 'b', atMs: T + 10 * MIN },
        { member: 'c', atMs: T + HOUR },
      ]);
    });

    it('slidingAdd with a minimum gap (cooldown) is checked in the same step', async () => {
      const first = await Promise.all(Array.from({ length: 10 }, (_, i) => s.slidingAdd('cd', `m${i}`, T, HOUR, 3, MIN)));
      expect(first.filter((r) => r.admitted)).toHaveLength(1);
      expect(first.filter((r) => !r.admitted).every((r) => r.retryAfterMs === MIN)).toBe(true);
      expect((await s.slidingAdd('cd', 'x', T + 45_000, HOUR, 3, MIN)).retryAfterMs).toBe(15_000);
      expect((await s.slidingAdd('cd', 'y', T + MIN, HOUR, 3, MIN)).admitted).toBe(true);
    });

    it('slidingRemove takes an entry back; slidingRange lists oldest first and drops stale entries', async () => {
      await s.slidingAdd('log', 'late', T + 2, HOUR, 10);
      await s.slidingAdd('log', 'early', T, HOUR, 10);
      await s.slidingAdd('log', 'mid', T + 1, HOUR, 10);
      expect((await s.slidingRange('log', T + 2, HOUR)).map((e) => e.member)).toEqual(['early', 'mid', 'late']);
      await s.slidingRemove('log', 'mid');
      await s.slidingRemove('log', 'absent');
      expect((await s.slidingRange('log', T + 2, HOUR)).map((e) => e.member)).toEqual(['early', 'late']);
      expect((await s.slidingRange('log', T + HOUR + 1, HOUR)).map((e) => e.member)).toEqual(['late']);
      expect(await s.slidingRange('none', T, HOUR)).toEqual([]);
    });

    it('a limit of 0 admits nothing; another key has its own log', async () => {
      expect((await s.slidingAdd('z', 'a', T, HOUR, 0)).admitted).toBe(false);
      expect(await s.slidingRange('z', T, HOUR)).toEqual([]);
      await s.slidingAdd('one', 'a', T, HOUR, 1);
      expect((await s.slidingAdd('two', 'a', T, HOUR, 1)).admitted).toBe(true);
      expect((await s.slidingAdd('{tag}:x', 'a', T, HOUR, 1)).admitted).toBe(true);
      expect((await s.slidingAdd('{tag}:y', 'a', T, HOUR, 1)).admitted).toBe(true);
    });
  });
}
