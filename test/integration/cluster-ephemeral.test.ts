/**
 * The EphemeralStore contract on a single Redis and on a local 3-master Redis Cluster (issue 14):
 * every script and command touches one key, and del of keys in several slots works, so nothing
 * answers CROSSSLOT. The OOB engine and the lockout run on the cluster as they do on one Redis.
 */
import { randomBytes } from 'node:crypto';
import { Redis, type Cluster } from 'ioredis';
import { AttemptLimiter } from '../../lib/limits/attempts';
import { OobCodes } from '../../lib/factors/oob';
import { StepUpError } from '../../lib/errors';
import { RedisEphemeralStore } from '../../lib/stores/ephemeral';
import { ephemeralStoreContract } from '../helpers/ephemeral-contract';
import { startRedisCluster, type LocalCluster } from '../helpers/redis-cluster';
import { describeWithCommands, describeWithRedis, redisUrl } from '../helpers/services';

const prefix = () => `test:eph:${randomBytes(4).toString('hex')}:`;

describeWithRedis('EphemeralStore on a single Redis', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  });
  afterAll(() => redis.quit());
  ephemeralStoreContract('single Redis', () => {
    const p = prefix();
    return {
      store: () => new RedisEphemeralStore(redis, p),
      ttlMs: async (key) => {
        const t = await redis.pttl(p + key);
        return t > 0 ? t : null;
      },
    };
  });
});

describeWithCommands(['redis-server', 'redis-cli'], 'EphemeralStore on a Redis Cluster', () => {
  let cluster: LocalCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = cluster.client({ redisOptions: { maxRetriesPerRequest: 1 } });
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve);
      client.once('error', reject);
    });
  }, 60_000);
  afterAll(async () => {
    await client?.quit().catch(() => undefined);
    await cluster?.stop();
  });

  ephemeralStoreContract('Redis Cluster', () => {
    const p = prefix();
    return {
      store: () => new RedisEphemeralStore(client, p),
      ttlMs: async (key) => {
        const t = await client.pttl(p + key);
        return t > 0 ? t : null;
      },
    };
  });

  it('spreads keys over the masters (the contract really crossed slots)', async () => {
    const p = prefix();
    const store = new RedisEphemeralStore(client, p);
    for (let i = 0; i < 30; i++) await store.set(`spread:${i}`, 'x', 60_000);
    const counts = await Promise.all(client.nodes('master').map((n) => n.keys(`${p}spread:*`).then((k) => k.length)));
    expect(counts).toHaveLength(3);
    expect(counts.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    await store.del(...Array.from({ length: 30 }, (_, i) => `spread:${i}`));
  });

  it('one user\'s OOB keys share a slot (hash tag); codes, caps and failures work on the cluster', async () => {
    const now = Date.UTC(2030, 0, 1);
    const p = prefix();
    const oob = new OobCodes({ store: new RedisEphemeralStore(client, p), now: () => now, secret: randomBytes(32) });
    const slot = { tenantId: 'acme', userId: 'u1', purpose: 'login' as const, channel: 'email' as const };
    const { code } = await oob.issue({ ...slot, binding: 'b', destination: 'a@example.com', ip: '192.0.2.1' });
    await expect(oob.issue({ ...slot, binding: 'b', destination: 'a@example.com' })).rejects.toMatchObject({ code: 'rate_limited' });
    expect(await oob.verify({ ...slot, binding: 'b', code: code === '000000' ? '000001' : '000000' })).toBe('invalid');
    expect(await oob.failures(slot)).toBe(1);
    expect(await oob.verify({ ...slot, binding: 'b', code })).toBe('ok');
    const keys = (await Promise.all(client.nodes('master').map((n) => n.keys(`${p}oob:*{acme:u1}*`)))).flat();
    expect(keys.length).toBeGreaterThanOrEqual(1);
    expect(new Set(await Promise.all(keys.map((k) => client.cluster('KEYSLOT', k)))).size).toBe(1);
  });

  it('the lockout (fixed window) holds under a parallel burst on the cluster', async () => {
    const store = new RedisEphemeralStore(client, prefix());
    const limiter = new AttemptLimiter(store, () => Date.UTC(2030, 0, 1), 'mfa', { maxFailures: 10, lockSeconds: 900, windowSeconds: 86400, lockedError: 'account_locked' });
    const results = await Promise.all(
      Array.from({ length: 60 }, () => limiter.reserve('acme:u1').then((n) => limiter.failed('acme:u1', n).then(() => 'processed'), (e: StepUpError) => e.code)),
    );
    expect(results.filter((r) => r === 'processed')).toHaveLength(10);
    expect(results.filter((r) => r === 'account_locked')).toHaveLength(50);
  });
});
