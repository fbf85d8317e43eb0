import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { randomId } from '../../lib/crypto/codes';
import { StepUpError } from '../../lib/errors';
import { OobCodes } from '../../lib/factors/oob';
import { RedisEphemeralStore } from '../../lib/stores/ephemeral';
import { describeWithRedis, redisUrl } from '../helpers/services';

describeWithRedis('OobCodes on Redis', () => {
  const prefix = `test:oob-redis:${randomId(6)}:`;
  let redis: Redis;
  let now = Date.now();
  const clock = () => now;
  let oob: OobCodes;
  let n = 0;

  // A fresh user per test: the store is shared, so tests must not see each other's logs.
  const ids = () => {
    n += 1;
    const slot = { tenantId: 'acme', userId: `user-${n}`, purpose: 'login' as const, channel: 'email' as const };
    return {
      slot,
      issue: { ...slot, binding: `pending-${n}`, destination: `user${n}@example.com`, ip: `10.0.0.${n}` },
      verify: (code: string, binding = `pending-${n}`) => ({ ...slot, binding, code }),
    };
  };
  const wrong = (code: string) => (code === '000000' ? '000001' : '000000');

  beforeAll(async () => {
    redis = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    oob = new OobCodes({ store: new RedisEphemeralStore(redis, prefix), now: clock, secret: randomBytes(32) });
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('issues a code that verifies once, and stores only its MAC under namespaced keys', async () => {
    const { issue, verify } = ids();
    const { code } = await oob.issue(issue);
    const keys = await redis.keys(`${prefix}oob:*:{acme:${issue.userId}}*`);
    expect(keys.sort()).toEqual([`${prefix}oob:code:{acme:${issue.userId}}:login:email`, `${prefix}oob:send:{acme:${issue.userId}}:email`]);
    const stored = await redis.get(`${prefix}oob:code:{acme:${issue.userId}}:login:email`);
    expect(stored).not.toContain(code);
    expect(await redis.pttl(`${prefix}oob:code:{acme:${issue.userId}}:login:email`)).toBeGreaterThan(600_000);
    expect(await oob.verify(verify(code))).toBe('ok');
    expect(await oob.verify(verify(code))).toBe('invalid');
  });

  it('20 concurrent verifies of one code give exactly one ok', async () => {
    const { issue, verify, slot } = ids();
    const { code } = await oob.issue(issue);
    const results = await Promise.all(Array.from({ length: 20 }, () => oob.verify(verify(code))));
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r !== 'ok').every((r) => r === 'invalid')).toBe(true);
    expect(await oob.failures(slot)).toBe(0);
  });

  it('20 concurrent wrong guesses: the budget holds and the code is burned', async () => {
    const { issue, verify, slot } = ids();
    const { code } = await oob.issue(issue);
    const results = await Promise.all(Array.from({ length: 20 }, () => oob.verify(verify(wrong(code)))));
    expect(results).toContain('exhausted');
    expect(await oob.failures(slot)).toBe(5);
    expect(await oob.verify(verify(code))).toBe('exhausted');
  });

  it('MFA-40 on Redis: 4 wrong, resend, 1 wrong: 5 failures, burned; C1 refused after resend', async () => {
    const { issue, verify, slot } = ids();
    const c1 = (await oob.issue(issue)).code;
    for (let i = 0; i < 4; i++) expect(await oob.verify(verify(wrong(c1)))).toBe('invalid');
    now += 61_000;
    const c2 = (await oob.issue(issue)).code;
    if (c1 !== c2) {
      expect(await oob.verify(verify(c1))).toBe('exhausted'); // C1 is gone, and that guess is the 5th failure
    } else {
      expect(await oob.verify(verify(wrong(c2)))).toBe('exhausted');
    }
    expect(await oob.failures(slot)).toBe(5);
    expect(await oob.verify(verify(c2))).toBe('exhausted');
    now += 61_000;
    await expect(oob.issue(issue)).rejects.toMatchObject({ code: 'rate_limited' });
  });

  it('expiry follows the injected clock although Redis still holds the record', async () => {
    const { issue, verify } = ids();
    const { code } = await oob.issue(issue);
    now += 601_000;
    expect(await oob.verify(verify(code))).toBe('expired');
  });

  it('a code from pending session P1 is refused in P2 and at step-up (ATK-12)', async () => {
    const { issue, verify, slot } = ids();
    const { code } = await oob.issue(issue);
    expect(await oob.verify(verify(code, 'pending-other'))).toBe('invalid');
    expect(await oob.verify({ ...slot, purpose: 'step_up', binding: issue.binding, code })).toBe('invalid');
    expect(await oob.verify(verify(code))).toBe('ok');
  });

  it('cooldown and hourly cap answer rate_limited with retryAfterSeconds; parallel sends give one code', async () => {
    const { issue } = ids();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => oob.issue(issue)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as StepUpError;
    expect(refused.code).toBe('rate_limited');
    expect(refused.retryAfterSeconds).toBe(60);
    now += 60_000;
    await oob.issue(issue);
    now += 60_000;
    await oob.issue(issue);
    now += 60_000;
    await expect(oob.issue(issue)).rejects.toMatchObject({ code: 'rate_limited', retryAfterSeconds: 3600 - 180 });
  });
});
