import { type ChildProcess, spawn } from 'node:child_process';
import readline from 'node:readline';
import autocannon from 'autocannon';
import { record } from '../lib';
import { load } from './guarded';

/** A fixed offered load (requests per second over all connections), or as fast as possible. */
async function run(url: string, cookie: string, seconds: number, rate?: number): Promise<{ total: number; ok: number; reqPerSec: number }> {
  const res = await new Promise<autocannon.Result>((resolve, reject) =>
    autocannon({ url, duration: seconds, connections: 20, headers: { cookie }, ...(rate ? { overallRate: rate } : {}) }, (err, r) => (err ? reject(err) : resolve(r))),
  );
  return { total: res.requests.total, ok: res['2xx'], reqPerSec: res.requests.average };
}

interface Stats {
  pid: number;
  cpuUs: number;
  served: number;
}

async function startCluster(workers: number, redisUrl: string): Promise<{ port: number; control: number; cookie: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/cluster-server.ts'], { env: { ...process.env, WORKERS: String(workers), REDIS_URL: redisUrl }, stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = readline.createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench cluster (${workers} workers) exited with ${code}`)));
  });
  rl.close();
  return { ...(JSON.parse(line) as { port: number; control: number; cookie: string }), child };
}

const stats = async (control: number): Promise<Stats[]> => (await (await fetch(`http://127.0.0.1:${control}/stats`)).json()) as Stats[];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Scenario 6: the guarded request on 1 and on 2 node:cluster workers (one port, one Redis), measured
 * in interleaved rounds: the most each serves (saturated), then requests per CPU-second of the workers
 * at the same offered load (the load generator shares this machine, so raw throughput cannot double
 * on 2 cores; the cost per request must not grow) and how evenly the primary spreads requests
 * (smallest worker share / largest). Medians of the rounds; the spread of rounds goes to stderr.
 */
export async function workersScaling(redisUrl: string, seconds: number): Promise<void> {
  const sizes = [1, 2] as const;
  const clusters = await Promise.all(sizes.map((n) => startCluster(n, redisUrl)));
  const rounds = Math.max(7, Math.round(seconds / 2));
  const per: Record<number, { rps: number[]; perCpuSecond: number[]; evenness: number[]; cpuUs: number[] }> = { 1: { rps: [], perCpuSecond: [], evenness: [], cpuUs: [] }, 2: { rps: [], perCpuSecond: [], evenness: [], cpuUs: [] } };
  let rate = 0;
  try {
    for (const c of clusters) await load(`http://127.0.0.1:${c.port}/guarded`, { seconds: 1, connections: 20, cookie: c.cookie });
    for (let r = 0; r < rounds; r++) {
      // Saturated: the most each size serves (the load generator shares the 2 cores, so this cannot double).
      for (const [i, n] of sizes.entries()) {
        const c = clusters[i]!;
        const sat = await run(`http://127.0.0.1:${c.port}/guarded`, c.cookie, 2);
        if (sat.ok !== sat.total) throw new Error(`${n} workers: not every guarded request answered 200`);
        per[n]!.rps.push(sat.reqPerSec);
      }
      // Efficiency at the same offered load (60 % of what 1 worker serves): requests per CPU-second of the
      // workers, and how the primary spread them. Saturating the box would charge the workers for the
      // contention with the load generator and Redis, not for their own work.
      rate = Math.max(50, Math.round(0.6 * Math.min(...per[1]!.rps)));
      for (const [i, n] of sizes.entries()) {
        const c = clusters[i]!;
        const before = await stats(c.control);
        const res = await run(`http://127.0.0.1:${c.port}/guarded`, c.cookie, 2, rate);
        const after = await stats(c.control);
        if (res.ok !== res.total) throw new Error(`${n} workers: not every guarded request answered 200`);
        const cpuUs = after.reduce((sum, w, k) => sum + (w.cpuUs - before[k]!.cpuUs), 0);
        const served = after.map((w, k) => w.served - before[k]!.served);
        per[n]!.perCpuSecond.push(res.total / (cpuUs / 1e6));
        per[n]!.cpuUs.push(cpuUs / res.total);
        per[n]!.evenness.push(Math.min(...served) / Math.max(...served));
      }
    }
  } finally {
    for (const c of clusters) c.child.kill('SIGTERM');
  }
  const sc = '6 workers (node:cluster)';
  const one = { rps: median(per[1]!.rps), eff: median(per[1]!.perCpuSecond), cpu: median(per[1]!.cpuUs) };
  const two = { rps: median(per[2]!.rps), eff: median(per[2]!.perCpuSecond), cpu: median(per[2]!.cpuUs), even: median(per[2]!.evenness) };
  const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}..${Math.max(...xs).toFixed(0)}`;
  console.error(`scenario 6: at ${rate} req/s offered, 1 worker ${spread(per[1]!.perCpuSecond)} req/CPU-s, 2 workers ${spread(per[2]!.perCpuSecond)} req/CPU-s over ${rounds} rounds`);
  record({ scenario: sc, metric: 'guarded req/s, 1 worker', value: one.rps, unit: 'req/s', baseline: null, baselineValue: null, better: 'higher' });
  record({ scenario: sc, metric: 'guarded req/s, 2 workers', value: two.rps, unit: 'req/s', baseline: '1 worker', baselineValue: one.rps, better: 'higher' });
  record({ scenario: sc, metric: `guarded req per CPU-second of the workers, 1 worker (${rate} req/s offered)`, value: one.eff, unit: 'req/CPU-s', baseline: null, baselineValue: null, better: 'higher' });
  // Per round (the two sizes measured back to back), then the median: a noisy round moves one ratio, not the result.
  const perRound = per[2]!.perCpuSecond.map((e, i) => e / per[1]!.perCpuSecond[i]!);
  const ratio = median(perRound);
  record({ scenario: sc, metric: `guarded req per CPU-second of the workers, 2 workers (${rate} req/s offered; per-round ratio ${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)} over ${perRound.length} rounds)`, value: two.eff, unit: 'req/CPU-s', baseline: '1 worker', baselineValue: one.eff, ratio, better: 'higher', target: '>= 0.9', met: ratio >= 0.9 });
  record({ scenario: sc, metric: 'worker CPU per request, 2 workers', value: two.cpu, unit: 'us', baseline: '1 worker', baselineValue: one.cpu, better: 'lower' });
  record({ scenario: sc, metric: 'spread over 2 workers (smallest share / largest)', value: two.even, unit: 'ratio', baseline: null, baselineValue: null, ratio: two.even, better: 'higher', target: '>= 0.8', met: two.even >= 0.8 });
}
