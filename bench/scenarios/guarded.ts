import autocannon from 'autocannon';
import { commandCount, record, startServer } from '../lib';

export interface Load {
  reqPerSec: number;
  p50: number;
  p99: number;
  total: number;
  statuses: Record<string, number>;
}

export async function load(url: string, opts: { seconds: number; connections: number; cookie?: string; method?: 'GET' | 'POST'; body?: string; requests?: autocannon.Request[] }): Promise<Load> {
  const statuses: Record<string, number> = {};
  const res = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        duration: opts.seconds,
        connections: opts.connections,
        method: opts.method ?? 'GET',
        headers: { ...(opts.cookie ? { cookie: opts.cookie } : {}), ...(opts.body ? { 'content-type': 'application/json' } : {}) },
        body: opts.body,
        requests: opts.requests,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    instance.on('response', (_client: unknown, statusCode: number) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  });
  return { reqPerSec: res.requests.average, p50: res.latency.p50, p99: res.latency.p99, total: res.requests.total, statuses };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Scenario 1: a guarded GET against bare Express and Express + session + passport on the same Redis.
 * The three servers run side by side and are measured in interleaved rounds (A B C A B C ...), so
 * noise from a busy machine falls on all of them alike; each figure is the median of its rounds.
 */
export async function guardedRequest(redisUrl: string, seconds: number): Promise<{ pluginP99: number }> {
  const variants = ['bare', 'session', 'plugin'] as const;
  const servers = await Promise.all(variants.map((v) => startServer(v, { REDIS_URL: redisUrl })));
  // At least 9 rounds of 2 s per server (the machine is noisy: the per-round ratio and its spread are printed).
  const rounds = Math.max(9, Math.round(seconds / 2));
  const per: Record<string, { rps: number[]; p50: number[]; p99: number[]; cmds: number[]; cpu: number[] }> = {};
  const sentOf = async (port: number) => Object.values((await (await fetch(`http://127.0.0.1:${port}/bench/redis`)).json()) as Record<string, number>).reduce((a, b) => a + b, 0);
  const sent: Record<string, number[]> = { session: [], plugin: [] };
  const cpuOf = async (port: number) => ((await (await fetch(`http://127.0.0.1:${port}/bench/cpu`)).json()) as { cpu: number }).cpu;
  try {
    for (const [i, v] of variants.entries()) {
      per[v] = { rps: [], p50: [], p99: [], cmds: [], cpu: [] };
      await load(`http://127.0.0.1:${servers[i]!.info.port as number}/guarded`, { seconds: 1, connections: 10, cookie: servers[i]!.info.cookie as string | undefined });
    }
    for (let r = 0; r < rounds; r++) {
      for (const [i, v] of variants.entries()) {
        const info = servers[i]!.info;
        const before = await commandCount(redisUrl);
        const cpu0 = await cpuOf(info.port as number);
        const sent0 = v === 'bare' ? 0 : await sentOf(info.port as number);
        const res = await load(`http://127.0.0.1:${info.port as number}/guarded`, { seconds: 2, connections: 10, cookie: info.cookie as string | undefined });
        const cpu1 = await cpuOf(info.port as number);
        if (v !== 'bare') sent[v]!.push(((await sentOf(info.port as number)) - sent0) / res.total);
        const after = await commandCount(redisUrl);
        per[v]!.cpu.push((cpu1 - cpu0) / res.total);
        if ((res.statuses['200'] ?? 0) !== res.total) throw new Error(`${v}: not every guarded request answered 200: ${JSON.stringify(res.statuses)}`);
        per[v]!.rps.push(res.reqPerSec);
        per[v]!.p50.push(res.p50);
        per[v]!.p99.push(res.p99);
        per[v]!.cmds.push((after - before) / res.total);
      }
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
  }
  const m = (v: string) => ({ rps: median(per[v]!.rps), p50: median(per[v]!.p50), p99: median(per[v]!.p99), cmds: median(per[v]!.cmds), cpu: median(per[v]!.cpu) });
  const b = m('bare');
  const s = m('session');
  const p = m('plugin');
  const sc = '1 guarded request';
  record({ scenario: sc, metric: 'bare express', value: b.rps, unit: 'req/s', baseline: null, baselineValue: null, better: 'higher' });
  record({ scenario: sc, metric: 'session baseline (express-session + connect-redis + passport)', value: s.rps, unit: 'req/s', baseline: 'bare express', baselineValue: b.rps, better: 'higher' });
  // The ratio of each round (the plugin and the baseline measured back to back), then the median.
  const ratios = per.plugin!.rps.map((x, i) => x / per.session!.rps[i]!);
  const cpuRatios = per.plugin!.cpu.map((x, i) => x / per.session!.cpu[i]!);
  const ratio = median(ratios);
  const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;
  record({ scenario: sc, metric: `plugin requireAuth({aal:2}), median of ${rounds} per-round ratios (spread ${spread(ratios)})`, value: p.rps, unit: 'req/s', baseline: 'session baseline', baselineValue: s.rps, ratio, better: 'higher', target: '>= 0.95', met: ratio >= 0.95 });
  record({ scenario: sc, metric: 'session baseline CPU per request', value: s.cpu, unit: 'us', baseline: 'bare express', baselineValue: b.cpu, better: 'lower' });
  const cpuRatio = median(cpuRatios);
  record({ scenario: sc, metric: `plugin CPU per request, median of per-round ratios (spread ${spread(cpuRatios)})`, value: p.cpu, unit: 'us', baseline: 'session baseline', baselineValue: s.cpu, ratio: cpuRatio, better: 'lower', target: '<= 1.05 (same as >= 0.95 throughput)', met: cpuRatio <= 1.05 });
  record({ scenario: sc, metric: 'plugin p50 latency', value: p.p50, unit: 'ms', baseline: 'session baseline p50', baselineValue: s.p50, better: 'lower' });
  record({ scenario: sc, metric: 'plugin p99 latency', value: p.p99, unit: 'ms', baseline: 'session baseline p99', baselineValue: s.p99, better: 'lower' });
  // Two counts: what the server sends (round trips: a script is one) and what Redis runs (INFO
  // commandstats: a script's inner commands count too).
  const ps = median(sent.plugin!);
  const ss = median(sent.session!);
  record({ scenario: sc, metric: 'plugin Redis commands sent per request (round trips: one MGET loads the session and the revocation mark of its user; the baseline sends GET + EXPIRE)', value: ps, unit: 'cmds', baseline: 'session baseline', baselineValue: ss, better: 'lower', target: '<= baseline', met: ps <= ss + 0.05 });
  record({ scenario: sc, metric: 'plugin Redis commands run inside Redis per request (INFO commandstats: one MGET of the session and the mark)', value: p.cmds, unit: 'cmds', baseline: 'session baseline', baselineValue: s.cmds, better: 'lower', target: '<= baseline (issue: equal)', met: p.cmds <= s.cmds + 0.05 });
  return { pluginP99: p.p99 };
}
