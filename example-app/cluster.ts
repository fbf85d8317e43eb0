/**
 * WEB_CONCURRENCY workers with node:cluster (started by server.ts when WEB_CONCURRENCY > 1). The workers
 * share one port (the primary hands connections round-robin) and share Redis and MongoDB, so any worker
 * serves any request and any socket: a login started on one finishes on another, realtime events reach
 * sockets on every worker through Redis pub/sub.
 *
 * - Secrets generated at start (no SESSION_SECRET / MFA_ENCRYPTION_KEYS) are generated once here and
 *   handed to every worker, or one worker could not read another's cookies and sealed secrets.
 * - Memory users or memory sessions live in one process: without MONGODB_URI and REDIS_URL it runs 1 worker.
 * - Only the first worker seeds the demo data (no race on creating the demo tenant).
 * - SIGTERM / SIGINT: every worker drains (server.ts `shutdown`), then the primary exits 0 (1 if a
 *   worker failed to stop cleanly). A worker that dies otherwise is replaced.
 */
import cluster, { type Worker } from 'node:cluster';
import type { ExampleConfig } from './config';

export async function runPrimary(cfg: ExampleConfig, wanted: number): Promise<void> {
  let n = wanted;
  if (n > 1 && (!cfg.redisUrl || !cfg.mongodbUri)) {
    console.warn('warning: WEB_CONCURRENCY > 1 needs REDIS_URL and MONGODB_URI (memory users and sessions live in one process); running 1 worker');
    n = 1;
  }
  if (cfg.keysGenerated) console.warn('warning: MFA_ENCRYPTION_KEYS is not set; a random key was generated (shared by the workers), so enrolled factors do not survive a restart');
  if (cfg.sessionSecretGenerated) console.warn('warning: SESSION_SECRET is not set; a random one was generated (shared by the workers), so sessions do not survive a restart');
  const env: Record<string, string> = {
    SESSION_SECRET: cfg.sessionSecret,
    MFA_ENCRYPTION_KEYS: cfg.keys.map((k) => `${k.id}:${k.key.toString('hex')}`).join(','),
  };
  const drainMs = Number(process.env.SHUTDOWN_DRAIN_MS ?? 10_000);

  let stopping = false;
  let failed = false;
  const fork = (extra: Record<string, string> = {}): Worker => cluster.fork({ ...env, ...extra });
  const listening = (w: Worker) =>
    new Promise<void>((resolve, reject) => {
      w.once('listening', () => resolve());
      w.once('exit', (code) => reject(new Error(`worker ${w.id} exited with ${code} before listening`)));
    });

  cluster.on('exit', (w, code, signal) => {
    if (stopping) {
      if (code !== 0) failed = true;
      return;
    }
    console.error(`worker ${w.id} died (${signal ?? code}); starting another`);
    fork({ DEMO_DATA: '0' });
  });

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w));
    console.log(`primary: ${signal}: stopping ${workers.length} worker(s)`);
    const exited = workers.map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
    for (const w of workers) {
      if (w.isConnected()) w.send('shutdown');
    }
    // A worker that does not finish within its drain bound (plus closing Redis and MongoDB) is killed.
    const kill = setTimeout(() => {
      failed = true;
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
    }, drainMs + 5000);
    void Promise.all(exited).then(() => {
      clearTimeout(kill);
      process.exit(failed ? 1 : 0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  // Only the first worker seeds the demo data (no race on creating the demo tenant); all start at once.
  const starting = [fork(cfg.demoData ? {} : { DEMO_DATA: '0' }), ...Array.from({ length: n - 1 }, () => fork({ DEMO_DATA: '0' }))].map(listening);
  try {
    await Promise.all(starting);
  } catch (err) {
    if (stopping) return; // stopped while starting: stop() exits
    console.error(`failed to start: ${(err as Error).message}`);
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    process.exit(1);
  }
  console.log(`primary ${process.pid}: ${n} worker(s) listening`);
}
