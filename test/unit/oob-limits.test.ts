import { randomBytes } from 'node:crypto';
import { StepUpError } from '../../lib/errors';
import { OobCodes, type OobCodesOptions } from '../../lib/factors/oob';
import { MemoryEphemeralStore } from '../../lib/stores/ephemeral';

function setup(options: Partial<OobCodesOptions> = {}) {
  let now = Date.UTC(2030, 0, 1);
  const clock = { now: () => now, advance: (s: number) => (now += s * 1000) };
  const store = new MemoryEphemeralStore(clock.now);
  const oob = new OobCodes({ store, now: clock.now, secret: randomBytes(32), ...options });
  return { oob, store, clock };
}

const send = (over: Record<string, string> = {}) => ({
  tenantId: 't1',
  userId: 'u1',
  purpose: 'login' as const,
  channel: 'email' as const,
  binding: 'p1',
  destination: 'alice@example.com',
  ip: '198.51.100.1',
  ...over,
});

async function refusal(p: Promise<unknown>): Promise<number> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StepUpError);
  expect((err as StepUpError).code).toBe('rate_limited');
  expect((err as StepUpError).status).toBe(429);
  return (err as StepUpError).retryAfterSeconds!;
}

describe('OobCodes send limits (MFA-41, ATK-10)', () => {
  it('applies a 60 s cooldown between sends per (user, channel), with retryAfterSeconds', async () => {
    const { oob, clock } = setup();
    await oob.issue(send());
    expect(await refusal(oob.issue(send()))).toBe(60);
    clock.advance(45);
    expect(await refusal(oob.issue(send()))).toBe(15);
    // Another purpose on the same channel shares the cooldown; another channel does not.
    expect(await refusal(oob.issue(send({ purpose: 'step_up' })))).toBe(15);
    await oob.issue(send({ channel: 'sms', destination: '+12025552671' }));
    clock.advance(15);
    await oob.issue(send());
  });

  it('caps sends at 3 per sliding hour per (user, channel)', async () => {
    const { oob, clock } = setup();
    for (let i = 0; i < 3; i++) {
      await oob.issue(send());
      clock.advance(60);
    }
    // Sends at 0, 60 and 120 s; now 180 s: the first leaves the hour at 3600 s.
    expect(await refusal(oob.issue(send()))).toBe(3600 - 180);
    clock.advance(3600 - 180 - 1);
    expect(await refusal(oob.issue(send()))).toBe(1);
    clock.advance(1);
    await oob.issue(send());
  });

  it('refused sends do not count toward the caps', async () => {
    const { oob, clock } = setup();
    await oob.issue(send());
    for (let i = 0; i < 10; i++) await refusal(oob.issue(send()));
    clock.advance(60);
    await oob.issue(send());
    clock.advance(60);
    await oob.issue(send());
  });

  it('10 rapid sends give exactly one code, even in parallel', async () => {
    const { oob } = setup();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => oob.issue(send())));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('caps sends per IP across users', async () => {
    const { oob } = setup({ perIpPerHour: 4 });
    for (let i = 0; i < 4; i++) await oob.issue(send({ userId: `u${i}`, destination: `user${i}@example.com` }));
    await refusal(oob.issue(send({ userId: 'u9', destination: 'user9@example.com' })));
    // Another IP, or no IP at all, is not affected.
    await oob.issue(send({ userId: 'u9', destination: 'user9@example.com', ip: '198.51.100.2' }));
  });

  it('caps sends per destination across users (SMS pumping, harassment)', async () => {
    const { oob } = setup({ perDestinationPerHour: 2 });
    const to = { channel: 'sms', destination: '+447911123456' };
    await oob.issue(send({ ...to, userId: 'a', ip: '192.0.2.1' }));
    await oob.issue(send({ ...to, userId: 'b', ip: '192.0.2.2' }));
    await refusal(oob.issue(send({ ...to, userId: 'c', ip: '192.0.2.3' })));
    // The destination cap is per tenant (MFA-53).
    await oob.issue(send({ ...to, userId: 'c', tenantId: 't2', ip: '192.0.2.3' }));
  });

  it('normalises the destination: case and surrounding spaces do not open a new quota', async () => {
    const { oob } = setup({ perDestinationPerHour: 1 });
    await oob.issue(send({ userId: 'a', destination: 'Bob@Example.com' }));
    await refusal(oob.issue(send({ userId: 'b', destination: ' bob@example.com ' })));
  });

  it('a refusal by a later cap releases the earlier reservations', async () => {
    const { oob, clock } = setup({ perIpPerHour: 1 });
    await oob.issue(send({ userId: 'a' }));
    await refusal(oob.issue(send({ userId: 'b', destination: 'b@example.com' }))); // IP cap
    clock.advance(1);
    // User b's own send log was not charged: b can send from another IP at once (no cooldown).
    await oob.issue(send({ userId: 'b', destination: 'b@example.com', ip: '198.51.100.9' }));
  });

  it('applies an optional global daily budget across tenants, and tells the operator', async () => {
    const alerts: unknown[] = [];
    const { oob, clock } = setup({ globalSendsPerDay: 2, onBudgetExhausted: (info) => void alerts.push(info) });
    await oob.issue(send({ tenantId: 'a' }));
    await oob.issue(send({ tenantId: 'b' }));
    const retry = await refusal(oob.issue(send({ tenantId: 'c' })));
    expect(retry).toBe(86_400); // the clock starts at midnight UTC
    expect(alerts).toEqual([{ day: '2030-01-01', budget: 2 }]);
    // The refused send did not charge tenant c's user: a new day, and it goes through at once.
    clock.advance(retry);
    await oob.issue(send({ tenantId: 'c' }));
  });

  it('has no global budget by default, and checks the option', () => {
    const { oob } = setup();
    expect(oob.globalSendsPerDay).toBeNull();
    expect(() => setup({ globalSendsPerDay: 0 })).toThrow(/`globalSendsPerDay`/);
    expect(() => setup({ onBudgetExhausted: 'x' as never })).toThrow(/`onBudgetExhausted`/);
  });

  it('generates nothing when refused', async () => {
    const { oob, store } = setup();
    const first = await oob.issue(send());
    const before = await store.get('oob:code:{t1:u1}:login:email');
    await refusal(oob.issue(send()));
    expect(await store.get('oob:code:{t1:u1}:login:email')).toBe(before);
    expect(first.code).toMatch(/^\d{6}$/);
  });

  it('namespaces keys per tenant and user (MFA-53)', async () => {
    const { oob, store } = setup();
    await oob.issue(send({ tenantId: 'tenant:a', userId: 'user/1' }));
    const keys = [...(store as unknown as { values: Map<string, unknown> }).values.keys()];
    expect(keys).toEqual(
      expect.arrayContaining(['oob:code:{tenant%3Aa:user%2F1}:login:email', 'oob:send:{tenant%3Aa:user%2F1}:email']),
    );
    // A user's keys share one hash tag (one Redis Cluster slot); no global key unless a budget is set.
    for (const k of keys) expect(k).toMatch(/^oob:((code|send|fail):\{tenant%3Aa:user%2F1\}|(ip|dest):tenant%3Aa)(:|$)/);
  });
});
