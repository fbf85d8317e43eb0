import { StepUpError } from '../../lib/errors';
import { AttemptLimiter } from '../../lib/limits/attempts';
import { MemoryEphemeralStore } from '../../lib/stores/ephemeral';

const T0 = Date.UTC(2030, 0, 1);
const opts = { maxFailures: 10, lockSeconds: 900, windowSeconds: 86400, lockedError: 'account_locked' as const };

function setup() {
  let now = T0;
  const clock = { now: () => now, advance: (s: number) => (now += s * 1000) };
  const store = new MemoryEphemeralStore(clock.now);
  return { clock, store, limiter: new AttemptLimiter(store, clock.now, 'mfa', opts) };
}

async function code(p: Promise<unknown>): Promise<string | null> {
  return p.then(
    () => null,
    (e: unknown) => (e instanceof StepUpError ? e.code : `other: ${String(e)}`),
  );
}

describe('MemoryEphemeralStore', () => {
  it('take is atomic: of two parallel takes only one sees the value', async () => {
    // Guarded by take() reading and deleting in the same tick (no await between them).
    const store = new MemoryEphemeralStore(() => T0);
    await store.set('k', 'v', 60_000);
    const got = await Promise.all([store.take('k'), store.take('k'), store.take('k')]);
    expect(got.filter((v) => v === 'v')).toHaveLength(1);
  });

  it('incr is atomic under parallel callers and keeps the first TTL', async () => {
    let now = T0;
    const store = new MemoryEphemeralStore(() => now);
    const ns = await Promise.all(Array.from({ length: 50 }, () => store.incr('c', 1000)));
    expect(new Set(ns).size).toBe(50);
    now += 999;
    expect(await store.incr('c', 1000)).toBe(51);
    now += 1;
    expect(await store.incr('c', 1000)).toBe(1);
  });

  it('expires on the injected clock', async () => {
    let now = T0;
    const store = new MemoryEphemeralStore(() => now);
    await store.set('k', 'v', 1000);
    await store.sadd('s', 'a', 1000);
    now += 1000;
    expect(await store.get('k')).toBeNull();
    expect(await store.smembers('s')).toEqual([]);
  });
});

describe('AttemptLimiter', () => {
  it('locks after maxFailures, answers the locked error with Retry-After, and lifts on the clock', async () => {
    const { limiter, clock } = setup();
    for (let i = 1; i <= 10; i++) {
      const n = await limiter.reserve('u');
      expect(n).toBe(i);
      expect(await limiter.failed('u', n)).toBe(i === 10);
    }
    const err = await limiter.reserve('u').catch((e: StepUpError) => e);
    expect(err).toBeInstanceOf(StepUpError);
    expect((err as StepUpError).code).toBe('account_locked');
    expect((err as StepUpError).retryAfterSeconds).toBe(900);
    clock.advance(899);
    expect(await code(limiter.reserve('u'))).toBe('account_locked');
    clock.advance(1);
    expect(await limiter.reserve('u')).toBe(1);
  });

  it('a success resets the counter; keys are independent', async () => {
    const { limiter } = setup();
    for (let i = 0; i < 9; i++) await limiter.failed('a', await limiter.reserve('a'));
    for (let i = 0; i < 5; i++) await limiter.failed('b', await limiter.reserve('b'));
    await limiter.reserve('a');
    await limiter.succeeded('a');
    expect(await limiter.reserve('a')).toBe(1);
    expect(await limiter.reserve('b')).toBe(6);
  });

  it('parallel attempts never get more than maxFailures processed', async () => {
    const { limiter } = setup();
    const results = await Promise.all(Array.from({ length: 100 }, () => limiter.reserve('u').then((n) => limiter.failed('u', n).then(() => 'processed'), (e: StepUpError) => e.code)));
    expect(results.filter((r) => r === 'processed')).toHaveLength(10);
    expect(results.filter((r) => r === 'account_locked')).toHaveLength(90);
  });

  it('an attempt that passed the lock check before the lock was set is still refused (ATK-04 d)', async () => {
    // A straggler reads "not locked", then ten other failures lock the key, then the straggler
    // counts. Guarded by the counter not being reset when the lock is set (attempts.ts lock()).
    const { store, clock } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let first = true;
    const gated = Object.create(store) as MemoryEphemeralStore;
    gated.incr = async (key: string, ttl: number) => {
      if (first) {
        first = false;
        await gate;
      }
      return store.incr(key, ttl);
    };
    const limiter = new AttemptLimiter(gated, clock.now, 'mfa', opts);
    const straggler = code(limiter.reserve('u'));
    await new Promise((r) => setImmediate(r));
    let processed = 0;
    for (let i = 0; i < 10; i++) {
      const n = await limiter.reserve('u');
      processed++;
      await limiter.failed('u', n);
    }
    release();
    expect(await straggler).toBe('account_locked');
    expect(processed).toBe(10);
  });

  it('hit() counts failures without reserving (per-IP caps)', async () => {
    const { limiter } = setup();
    for (let i = 1; i < 10; i++) expect(await limiter.hit('ip')).toBe(false);
    expect(await limiter.hit('ip')).toBe(true);
    expect(await code(limiter.assertOpen('ip'))).toBe('account_locked');
  });
});
