/**
 * Redis Sentinel (issue 14): a private master and one sentinel; the plugin's ephemeral store and the
 * realtime bus run on an ioredis client that finds the master through the sentinel
 * (`new Redis({ sentinels, name })`), the configuration README "Redis Cluster and Sentinel" shows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisEphemeralStore } from '../../lib/stores/ephemeral';
import { createRedisBus } from '../../lib/realtime/bus';
import { ephemeralStoreContract } from '../helpers/ephemeral-contract';
import { describeWithCommands } from '../helpers/services';
import { freePort, waitForRedis } from '../helpers/private-redis';

const serverBin = () => process.env.STEPUP_TEST_REDIS_SERVER ?? 'redis-server';

describeWithCommands(['redis-server'], 'Redis Sentinel: the ephemeral store and the realtime bus through a sentinel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stepup-sentinel-'));
  const children: ChildProcess[] = [];
  let client: Redis;

  beforeAll(async () => {
    const master = await freePort();
    const sentinel = await freePort();
    children.push(spawn(serverBin(), ['--port', String(master), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }));
    await waitForRedis(master);
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${sentinel}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor stepup 127.0.0.1 ${master} 1\n`);
    children.push(spawn(serverBin(), [conf, '--sentinel'], { stdio: 'ignore' }));
    await waitForRedis(sentinel);
    client = new Redis({ sentinels: [{ host: '127.0.0.1', port: sentinel }], name: 'stepup', maxRetriesPerRequest: 1 });
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve);
      client.once('error', reject);
    });
  }, 30_000);
  afterAll(async () => {
    await client?.quit().catch(() => undefined);
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  ephemeralStoreContract('Sentinel', () => {
    const p = `test:sentinel:${randomBytes(4).toString('hex')}:`;
    return { store: () => new RedisEphemeralStore(client, p), ttlMs: async (k) => ((await client.pttl(p + k)) > 0 ? client.pttl(p + k) : null) };
  });

  it('the realtime bus publishes and receives through the sentinel-found master', async () => {
    let got!: (frame: string) => void;
    const arrived = new Promise<string>((resolve) => (got = resolve));
    const bus = createRedisBus(client, 'test:sentinel:bus', { room: (_r, frame) => got(frame.toString('utf8')), control: () => undefined }, { info: () => undefined, warn: () => undefined, error: () => undefined });
    await bus.ready();
    await bus.publishRoom('r', 'hello');
    expect(await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error('no message')), 5000).unref())])).toBe('hello');
    await bus.close();
  });
});
