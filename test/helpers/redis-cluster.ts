/**
 * A private 3-master Redis Cluster for the Redis-facing tests (issue 14): three `redis-server
 * --cluster-enabled yes` on free loopback ports (each with its bus port, +10000, free too), joined by
 * `redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes`, ready once every node reports
 * `cluster_state:ok`. Everything lives in a temporary directory removed on stop.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { hasCommand } from './services';

const run = promisify(execFile);
const serverBin = () => process.env.STEPUP_TEST_REDIS_SERVER ?? 'redis-server';

export interface LocalCluster {
  ports: number[];
  /** A new ioredis Cluster client on this cluster (the caller quits it). */
  client(options?: ConstructorParameters<typeof Cluster>[1]): Cluster;
  stop(): Promise<void>;
}

export const hasRedisCluster = (): boolean => hasCommand(serverBin()) && hasCommand('redis-cli');

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A free port whose cluster bus port (+10000) is free as well, both below Linux's ephemeral range
 * (32768-60999): a port in that range can be taken by any outgoing connection (a browser, a test
 * client) between this check and the node binding it, and the node then never answers.
 */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 2700);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10000))) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`redis cluster: ${what} did not happen within ${ms} ms`);
}

export async function startRedisCluster(masters = 3): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'stepup-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const stop = async () => {
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
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freeClusterPort(taken);
      taken.add(port).add(port + 10000);
      ports.push(port);
      children.push(
        spawn(
          serverBin(),
          ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout', '2000', '--save', '', '--appendonly', 'no', '--dir', dir],
          { stdio: 'ignore' },
        ),
      );
    }
    for (const port of ports) {
      await waitFor(async () => {
        const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        r.on('error', () => undefined);
        try {
          await r.connect();
          return (await r.ping()) === 'PONG';
        } finally {
          r.disconnect();
        }
      }, `node ${port} answering`);
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const port of ports) {
      await waitFor(async () => {
        const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info'], { timeout: 5000 });
        return /cluster_state:ok/.test(stdout);
      }, `cluster_state:ok on ${port}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    ports,
    client: (options = {}) => new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), options),
    stop,
  };
}
