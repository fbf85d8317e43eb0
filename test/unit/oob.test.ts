import { randomBytes } from 'node:crypto';
import * as compare from '../../lib/crypto/compare';
import { StepUpError } from '../../lib/errors';
import { OobCodes, type OobCodesOptions } from '../../lib/factors/oob';
import { MemoryEphemeralStore } from '../../lib/stores/ephemeral';

const T0 = Date.UTC(2030, 0, 1);

/**
 * MemoryEphemeralStore.take awaits `get` before deleting, so two parallel takes can both see the value
 * (reported to the store's owner). This subclass makes it atomic so the engine's own race handling is
 * what these tests exercise; the Redis suite checks the same race on GETDEL.
 */
class AtomicMemoryStore extends MemoryEphemeralStore {
  override take(key: string): Promise<string | null> {
    const v = this.get(key);
    void this.del(key);
    return v;
  }
}

function setup(options: Partial<OobCodesOptions> = {}) {
  let now = T0;
  const clock = { now: () => now, advance: (s: number) => (now += s * 1000) };
  const store = new AtomicMemoryStore(clock.now);
  const oob = new OobCodes({ store, now: clock.now, secret: randomBytes(32), ...options });
  return { oob, store, clock };
}

const slot = { tenantId: 't1', userId: 'u1', purpose: 'login' as const, channel: 'email' as const };
const issueIn = { ...slot, binding: 'pending-1', destination: 'alice@example.com', ip: '203.0.113.7' };
const verifyIn = (code: string, extra: Partial<typeof issueIn> = {}) => ({ ...slot, binding: 'pending-1', code, ...extra });
const wrong = (code: string) => (code === '000000' ? '000001' : '000000');

async function rateLimited(p: Promise<unknown>): Promise<StepUpError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StepUpError);
  expect((err as StepUpError).code).toBe('rate_limited');
  return err as StepUpError;
}

describe('OobCodes options', () => {
  const store = new MemoryEphemeralStore();
  const base = { store, now: Date.now, secret: randomBytes(32) };
  it.each([
    ['secret', { secret: Buffer.alloc(4) }],
    ['secret', { secret: 'a string' }],
    ['now', { now: 5 }],
    ['store', { store: {} }],
    ['codeTtlSeconds', { codeTtlSeconds: 601 }],
    ['codeTtlSeconds', { codeTtlSeconds: 0 }],
    ['maxAttempts', { maxAttempts: 1.5 }],
    ['sendsPerHour', { sendsPerHour: 0 }],
    ['cooldownSeconds', { cooldownSeconds: -1 }],
    ['perIpPerHour', { perIpPerHour: '20' }],
    ['perDestinationPerHour', { perDestinationPerHour: NaN }],
    ['failureWindowSeconds', { failureWindowSeconds: 0 }],
  ])('a bad %s throws a TypeError naming it', (name, bad) => {
    expect(() => new OobCodes({ ...base, ...(bad as object) } as OobCodesOptions)).toThrow(new RegExp(`\`${name}\``));
    expect(() => new OobCodes({ ...base, ...(bad as object) } as OobCodesOptions)).toThrow(TypeError);
  });

  it('has the documented defaults', () => {
    const o = new OobCodes(base);
    expect([o.codeTtlSeconds, o.maxAttempts, o.sendsPerHour, o.cooldownSeconds, o.perIpPerHour, o.perDestinationPerHour, o.failureWindowSeconds]).toEqual([
      600, 5, 3, 60, 20, 5, 600,
    ]);
  });

  it('rejects an unknown purpose or channel', async () => {
    const { oob } = setup();
    await expect(oob.issue({ ...issueIn, purpose: 'reset' as never })).rejects.toThrow(TypeError);
    await expect(oob.verify({ ...verifyIn('123456'), channel: 'fax' as never })).rejects.toThrow(TypeError);
  });
});

describe('OobCodes codes', () => {
  it('are 6 ASCII digits, leading zeros kept, and distinct', async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { oob } = setup();
      const { code, expiresInSeconds } = await oob.issue({ ...issueIn, userId: `u${i}` });
      expect(code).toMatch(/^[0-9]{6}$/);
      expect(expiresInSeconds).toBe(600);
      codes.add(code);
    }
    expect(codes.size).toBeGreaterThan(190);
  });

  it('are stored only as a MAC: the store never holds the code, the address or the IP', async () => {
    const { oob, store } = setup();
    const { code } = await oob.issue(issueIn);
    const dump = JSON.stringify([...(store as unknown as { values: Map<string, { v: unknown }> }).values].map(([k, e]) => [k, e.v instanceof Set || e.v instanceof Map ? [...e.v] : e.v]));
    expect(dump).not.toContain(code);
    expect(dump).not.toContain('alice');
    expect(dump).not.toContain('203.0.113.7');
    const record = JSON.parse((await store.get('oob:code:{t1:u1}:login:email'))!);
    expect(record.mac).toMatch(/^[0-9a-f]{64}$/);
  });

  it('verifies once: the second use of a right code is refused', async () => {
    const { oob } = setup();
    const { code } = await oob.issue(issueIn);
    expect(await oob.verify(verifyIn(code))).toBe('ok');
    expect(await oob.verify(verifyIn(code))).toBe('invalid');
  });

  it('compares through safeEqual (MFA-57)', async () => {
    const spy = jest.spyOn(compare, 'safeEqual');
    const { oob } = setup();
    const { code } = await oob.issue(issueIn);
    await oob.verify(verifyIn(wrong(code)));
    await oob.verify(verifyIn(code));
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockRestore();
  });

  it('is bound to the purpose, the binding, the channel, the user and the tenant (MFA-39, ATK-12)', async () => {
    const { oob } = setup();
    const { code } = await oob.issue(issueIn);
    await oob.issue({ ...issueIn, purpose: 'step_up', binding: 'session-1' }).catch(() => undefined); // cooldown: nothing issued
    expect(await oob.verify({ ...verifyIn(code), purpose: 'step_up', binding: 'pending-1' })).toBe('invalid');
    expect(await oob.verify({ ...verifyIn(code), purpose: 'enrol' })).toBe('invalid');
    expect(await oob.verify({ ...verifyIn(code), channel: 'sms' })).toBe('invalid');
    expect(await oob.verify({ ...verifyIn(code), userId: 'u2' })).toBe('invalid');
    expect(await oob.verify({ ...verifyIn(code), tenantId: 't2' })).toBe('invalid');
    expect(await oob.verify(verifyIn(code, { binding: 'pending-2' }))).toBe('invalid'); // P1's code in P2
    expect(await oob.verify(verifyIn(code))).toBe('ok'); // 1 failure (P2) so far: still usable in P1
  });

  it('expires after 10 minutes on the injected clock (10 min + 1 s refused)', async () => {
    const { oob, clock } = setup();
    const { code } = await oob.issue(issueIn);
    clock.advance(601);
    expect(await oob.verify(verifyIn(code))).toBe('expired');
    expect(await oob.verify(verifyIn(code))).toBe('invalid'); // gone after the first look
  });

  it('is still valid just before expiry', async () => {
    const { oob, clock } = setup();
    const { code } = await oob.issue(issueIn);
    clock.advance(599);
    expect(await oob.verify(verifyIn(code))).toBe('ok');
  });

  it('refuses malformed codes as wrong guesses', async () => {
    const { oob } = setup();
    const { code } = await oob.issue(issueIn);
    for (const bad of [`${code} `, `${code}0`, code.slice(1), { $ne: 1 } as unknown as string]) {
      expect(await oob.verify(verifyIn(bad))).toBe('invalid');
    }
    expect(await oob.failures(slot)).toBe(4);
    expect(await oob.verify(verifyIn(code))).toBe('ok');
  });
});

describe('OobCodes failure counting (MFA-40, ATK-11)', () => {
  it('burns the code after 5 wrong tries', async () => {
    const { oob } = setup();
    const { code } = await oob.issue(issueIn);
    for (let i = 0; i < 4; i++) expect(await oob.verify(verifyIn(wrong(code)))).toBe('invalid');
    expect(await oob.verify(verifyIn(wrong(code)))).toBe('exhausted');
    expect(await oob.failures(slot)).toBe(5);
    expect(await oob.verify(verifyIn(code))).toBe('exhausted');
  });

  it('resend invalidates the previous code and does not reset the failure counter', async () => {
    const { oob, clock } = setup();
    const c1 = (await oob.issue(issueIn)).code;
    clock.advance(61);
    const c2 = (await oob.issue(issueIn)).code;
    expect(await oob.verify(verifyIn(c1 === c2 ? wrong(c2) : c1))).toBe('invalid'); // C1 no longer works
    expect(await oob.failures(slot)).toBe(1);
    expect(await oob.verify(verifyIn(c2))).toBe('ok');
  });

  it('MFA-40: 4 wrong guesses, resend, 1 wrong guess: the counter reads 5 and the new code is burned', async () => {
    const { oob, clock } = setup();
    const c1 = (await oob.issue(issueIn)).code;
    for (let i = 0; i < 4; i++) expect(await oob.verify(verifyIn(wrong(c1)))).toBe('invalid');
    expect(await oob.failures(slot)).toBe(4);
    clock.advance(61);
    const c2 = (await oob.issue(issueIn)).code;
    expect(await oob.failures(slot)).toBe(4);
    expect(await oob.verify(verifyIn(wrong(c2)))).toBe('exhausted');
    expect(await oob.failures(slot)).toBe(5);
    expect(await oob.verify(verifyIn(c2))).toBe('exhausted');
  });

  it('refuses to issue while the slot is exhausted, until the oldest failures leave the window', async () => {
    const { oob, clock } = setup({ sendsPerHour: 10, perDestinationPerHour: 10 });
    const c1 = (await oob.issue(issueIn)).code;
    for (let i = 0; i < 5; i++) {
      await oob.verify(verifyIn(wrong(c1)));
      clock.advance(10);
    }
    clock.advance(61);
    const err = await rateLimited(oob.issue(issueIn));
    // The first failure was at T0; it leaves the 600 s window at T0 + 600 s.
    expect(err.retryAfterSeconds).toBe(600 - 111);
    clock.advance(err.retryAfterSeconds!);
    const c2 = (await oob.issue(issueIn)).code;
    expect(await oob.failures(slot)).toBe(4); // not reset: one more wrong guess burns again
    expect(await oob.verify(verifyIn(wrong(c2)))).toBe('exhausted');
  });

  it('a success clears the count', async () => {
    const { oob, clock } = setup();
    const c1 = (await oob.issue(issueIn)).code;
    for (let i = 0; i < 3; i++) await oob.verify(verifyIn(wrong(c1)));
    expect(await oob.verify(verifyIn(c1))).toBe('ok');
    expect(await oob.failures(slot)).toBe(0);
    clock.advance(61);
    await oob.issue(issueIn);
  });

  it('counts per (tenant, user, purpose, channel)', async () => {
    const { oob } = setup();
    const { code } = await oob.issue(issueIn);
    for (let i = 0; i < 5; i++) await oob.verify(verifyIn(wrong(code)));
    expect(await oob.failures(slot)).toBe(5);
    expect(await oob.failures({ ...slot, tenantId: 't2' })).toBe(0);
    expect(await oob.failures({ ...slot, purpose: 'step_up' })).toBe(0);
    expect(await oob.failures({ ...slot, channel: 'sms' })).toBe(0);
  });

  it('parallel wrong guesses cannot overrun the budget; only maxAttempts of them are compared', async () => {
    const spy = jest.spyOn(compare, 'safeEqual');
    const { oob } = setup();
    const { code } = await oob.issue(issueIn);
    const results = await Promise.all(Array.from({ length: 20 }, () => oob.verify(verifyIn(wrong(code)))));
    expect(spy.mock.calls.length).toBeLessThanOrEqual(5);
    spy.mockRestore();
    expect(results).toContain('exhausted');
    expect(await oob.verify(verifyIn(code))).toBe('exhausted');
  });

  it('parallel verifies of the right code give exactly one ok', async () => {
    const { oob } = setup();
    const { code } = await oob.issue(issueIn);
    const results = await Promise.all(Array.from({ length: 20 }, () => oob.verify(verifyIn(code))));
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(await oob.failures(slot)).toBe(0);
  });

  it('revoke deletes the outstanding code', async () => {
    const { oob } = setup();
    const { code } = await oob.issue(issueIn);
    await oob.revoke(slot);
    expect(await oob.verify(verifyIn(code))).toBe('invalid');
  });
});
