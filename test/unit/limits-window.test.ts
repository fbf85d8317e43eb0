/**
 * The one limiter primitive (lib/limits/window.ts) on the memory store, plus the EphemeralStore contract
 * on memory (the same contract runs on a single Redis and on a Redis Cluster in
 * test/integration/cluster-ephemeral.test.ts).
 */
import { admitAll, FixedWindow, retrySeconds, SlidingWindow } from '../../lib/limits/window';
import { MemoryEphemeralStore } from '../../lib/stores/ephemeral';
import { ephemeralStoreContract } from '../helpers/ephemeral-contract';

const T0 = Date.UTC(2030, 0, 1);

function setup() {
  let now = T0;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  return { clock, store: new MemoryEphemeralStore(clock.now) };
}

ephemeralStoreContract('memory', () => {
  const { store } = setup();
  return { store: () => store };
});

describe('MemoryEphemeralStore expiry on the injected clock', () => {
  it('a sliding log and a counter expire with the clock (the TTL is the window, in ms)', async () => {
    const { clock, store } = setup();
    await store.slidingAdd('log', 'a', clock.now(), 1000, 5);
    await store.incr('n', 1000);
    clock.advance(999);
    expect(await store.slidingRange('log', clock.now(), 1000)).toHaveLength(1);
    expect(await store.incr('n', 1000)).toBe(2);
    clock.advance(1);
    expect(await store.slidingRange('log', clock.now(), 1000)).toEqual([]);
    expect(await store.incr('n', 1000)).toBe(1);
  });
});

describe('FixedWindow', () => {
  it('counts in a window that starts with the first hit, can undo, and resets', async () => {
    const { clock, store } = setup();
    const w = new FixedWindow(store, 60_000);
    expect(await w.hit('k')).toBe(1);
    clock.advance(30_000);
    expect(await w.hit('k')).toBe(2);
    expect(await w.undo('k')).toBe(1);
    clock.advance(30_000);
    expect(await w.hit('k')).toBe(1); // the first window ended at +60 s
    await w.reset('k');
    expect(await w.undo('k')).toBe(0);
    expect(() => new FixedWindow(store, 0)).toThrow(TypeError);
  });
});

describe('SlidingWindow', () => {
  it('admits up to the limit per sliding window, with a cooldown, and a release gives the place back', async () => {
    const { clock, store } = setup();
    const w = new SlidingWindow(store, clock.now, { windowMs: 3_600_000, limit: 2, minGapMs: 60_000 });
    const a = await w.admit('u');
    expect(a.admitted).toBe(true);
    const cd = await w.admit('u');
    expect(cd).toEqual({ admitted: false, retryAfterMs: 60_000, rank: 1 });
    clock.advance(60_000);
    const b = await w.admit('u');
    expect(b.admitted).toBe(true);
    clock.advance(60_000);
    const full = await w.admit('u');
    expect(full.admitted).toBe(false);
    expect(!full.admitted && retrySeconds(full.retryAfterMs)).toBe(3600 - 120);
    if (b.admitted) await w.release(b.entry);
    expect((await w.admit('u')).admitted).toBe(true);
    expect(await w.entries('u')).toHaveLength(2);
    expect(() => new SlidingWindow(store, clock.now, { windowMs: 0, limit: 1 })).toThrow(TypeError);
  });

  it('admitAll: a refusal by a later window releases the earlier ones; release() undoes all', async () => {
    const { clock, store } = setup();
    const user = new SlidingWindow(store, clock.now, { windowMs: 3_600_000, limit: 3 });
    const ip = new SlidingWindow(store, clock.now, { windowMs: 3_600_000, limit: 1 });
    const first = await admitAll([[user, 'u1'], [ip, 'ip']], clock.now());
    expect(first.admitted).toBe(true);
    const refused = await admitAll([[user, 'u2'], [ip, 'ip']], clock.now());
    expect(refused).toEqual({ admitted: false, retryAfterMs: 3_600_000 });
    expect(await user.entries('u2')).toEqual([]);
    if (first.admitted) await first.taken.release();
    expect(await user.entries('u1')).toEqual([]);
    expect(await ip.entries('ip')).toEqual([]);
    expect((await admitAll([[user, 'u2'], [ip, 'ip']], clock.now())).admitted).toBe(true);
  });

  it('retrySeconds rounds up and is at least 1', () => {
    expect(retrySeconds(1)).toBe(1);
    expect(retrySeconds(1000)).toBe(1);
    expect(retrySeconds(1001)).toBe(2);
    expect(retrySeconds(0)).toBe(1);
  });
});
