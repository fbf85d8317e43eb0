import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** A free loopback port (for private servers the tests start and stop themselves). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export const redisServerBin = (): string => process.env.STEPUP_TEST_REDIS_SERVER ?? 'redis-server';

/** Resolves once a Redis on `port` answers PING (bounded: about 5 s). */
export async function waitForRedis(port: number): Promise<void> {
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  probe.disconnect();
  throw new Error(`no Redis answered on port ${port}`);
}

/** A private redis-server without persistence on `port` (the tests kill, stop or pause it). */
export async function startRedis(port: number, extraArgs: string[] = []): Promise<ChildProcess> {
  const child = spawn(redisServerBin(), ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], { stdio: 'ignore' });
  try {
    await waitForRedis(port);
    return child;
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error('private redis-server did not start');
  }
}

/** Kills a private server and waits for it to exit. */
export async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
