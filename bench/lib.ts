import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';
import { Redis } from 'ioredis';
import { createHmac, randomBytes } from 'node:crypto';
import { encodeSecret } from '../lib/factors/totp';

export interface Row {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  baseline: string | null;
  baselineValue: number | null;
  ratio: number | null;
  /** What the figure is compared against, and whether higher is better. */
  better?: 'higher' | 'lower';
  target?: string;
  met?: boolean | null;
}

export const rows: Row[] = [];

export function record(r: Omit<Row, 'ratio'> & { ratio?: number | null }): void {
  const ratio = r.ratio ?? (r.baselineValue ? r.value / r.baselineValue : null);
  rows.push({ ...r, ratio });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** REDIS_URL, or a private redis-server on a free port (stopped at exit). */
export async function startRedis(): Promise<{ url: string; stop: () => void }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: () => undefined };
  const bin = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
  const port = await freePort();
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const until = Date.now() + 5000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => (sock.end(), resolve(true)));
      sock.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > until) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, stop: () => child.kill('SIGTERM') };
}

/** Starts `tsx bench/server.ts <variant>` and waits for its JSON line. */
export async function startServer(variant: string, env: Record<string, string>): Promise<{ info: Record<string, unknown>; child: ChildProcess }> {
  // BENCH_SERVER_NODE_ARGS: extra node flags for the servers under test (e.g. `--cpu-prof` to see where their time goes).
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...extra, '--import', 'tsx', 'bench/server.ts', variant], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = readline.createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench server ${variant} exited with ${code}`)));
  });
  rl.close();
  return { info: JSON.parse(line) as Record<string, unknown>, child };
}

/** Commands Redis has run so far (all but INFO), or only those of one command name. */
export async function commandCount(url: string, only?: string): Promise<number> {
  const r = new Redis(url);
  const info = await r.info('commandstats');
  r.disconnect();
  let total = 0;
  for (const m of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
    if (m[1] === 'info' || (only && m[1] !== only)) continue;
    total += Number(m[2]);
  }
  return total;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function fmt(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '-';
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

/**
 * The TOTP secret of a bench user, derived from a seed the parent hands the server in its
 * environment: both sides compute it, so no secret ever crosses stdout.
 */
export function benchTotpSecret(seed: string, email: string): string {
  return encodeSecret(createHmac('sha1', seed).update(email).digest());
}

export const newBenchSeed = (): string => randomBytes(16).toString('hex');
