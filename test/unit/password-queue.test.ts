import { PasswordHasher, PasswordQueue, libuvPoolSize } from '../../lib/crypto/passwords';
import { StepUpError } from '../../lib/errors';
import { availableParallelism } from 'node:os';

const FAST = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

/** A task that finishes when the test says so. */
function gated() {
  let release!: () => void;
  let fail!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => ((release = res), (fail = rej)));
  return { done, release: () => release(), fail: (e: Error) => fail(e) };
}

describe('PasswordQueue (bounded argon2id)', () => {
  it('runs at most `concurrency` at once, hands slots over in arrival order, and refuses past `maxQueued` with 503', async () => {
    const q = new PasswordQueue({ concurrency: 2, maxQueued: 2 });
    const gates = Array.from({ length: 4 }, gated);
    const started: number[] = [];
    const runs = gates.map((g, i) => q.run(async () => (started.push(i), g.done)));
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(q.stats).toEqual({ active: 2, queued: 2 });
    const refused = await q.run(async () => 'never').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StepUpError);
    expect((refused as StepUpError).code).toBe('unavailable');
    expect((refused as StepUpError).retryAfterSeconds).toBe(1);
    gates[1]!.release();
    await runs[1];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    // A failing computation frees its slot too.
    gates[0]!.fail(new Error('boom'));
    await expect(runs[0]).rejects.toThrow('boom');
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2, 3]);
    gates[2]!.release();
    gates[3]!.release();
    await Promise.all([runs[2], runs[3]]);
    expect(q.stats).toEqual({ active: 0, queued: 0 });
  });

  it('maxQueued 0: only what can run now is accepted', async () => {
    const q = new PasswordQueue({ concurrency: 1, maxQueued: 0 });
    const g = gated();
    const run = q.run(() => g.done);
    await expect(q.run(async () => 1)).rejects.toMatchObject({ code: 'unavailable' });
    g.release();
    await run;
    await expect(q.run(async () => 2)).resolves.toBe(2);
  });

  it('by default leaves one libuv thread and one CPU for other work', () => {
    expect(new PasswordQueue().concurrency).toBe(Math.max(1, Math.min(libuvPoolSize() - 1, availableParallelism() - 1)));
    expect(() => new PasswordQueue({ concurrency: 0 })).toThrow(TypeError);
    expect(() => new PasswordQueue({ maxQueued: -1 })).toThrow(TypeError);
  });

  it('the hasher sends hash, verify and the dummy verification through its queue', async () => {
    const q = new PasswordQueue({ concurrency: 1, maxQueued: 0 });
    const h = new PasswordHasher(FAST, q);
    const stored = await h.hash('a password here');
    const g = gated();
    const blocker = q.run(() => g.done);
    await expect(h.verify(stored, 'a password here')).rejects.toMatchObject({ code: 'unavailable' });
    // A refused first dummy hash does not poison later unknown-user checks.
    await expect(h.verifyDummy('x')).rejects.toMatchObject({ code: 'unavailable' });
    g.release();
    await blocker;
    await expect(h.verify(stored, 'a password here')).resolves.toBe(true);
    await expect(h.verifyDummy('x')).resolves.toBe(false);
  });
});
