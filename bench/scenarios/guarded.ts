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

/** Scenario 1: a guarded GET against bare Express and Express + session + passport on the same Redis. */
export async function guardedRequest(redisUrl: string, seconds: number): Promise<{ pluginP99: number }> {
  const out: Record<string, Load & { cmdsPerReq: number }> = {};
  for (const variant of ['bare', 'session', 'plugin']) {
    const { info, child } = await startServer(variant, { REDIS_URL: redisUrl });
    try {
      const url = `http://127.0.0.1:${info.port as number}/guarded`;
      const cookie = info.cookie as string | undefined;
      await load(url, { seconds: 1, connections: 10, cookie }); // warm-up
      const before = await commandCount(redisUrl);
      const r = await load(url, { seconds, connections: 10, cookie });
      const after = await commandCount(redisUrl);
      if ((r.statuses['200'] ?? 0) !== r.total) throw new Error(`${variant}: not every guarded request answered 200: ${JSON.stringify(r.statuses)}`);
      out[variant] = { ...r, cmdsPerReq: (after - before) / r.total };
    } finally {
      child.kill('SIGTERM');
    }
  }
  const p = out.plugin!;
  const s = out.session!;
  const b = out.bare!;
  const sc = '1 guarded request';
  record({ scenario: sc, metric: 'bare express', value: b.reqPerSec, unit: 'req/s', baseline: null, baselineValue: null, better: 'higher' });
  record({ scenario: sc, metric: 'session baseline (express-session + connect-redis + passport)', value: s.reqPerSec, unit: 'req/s', baseline: 'bare express', baselineValue: b.reqPerSec, better: 'higher' });
  const ratio = p.reqPerSec / s.reqPerSec;
  record({ scenario: sc, metric: 'plugin requireAuth({aal:2})', value: p.reqPerSec, unit: 'req/s', baseline: 'session baseline', baselineValue: s.reqPerSec, better: 'higher', target: '>= 0.95', met: ratio >= 0.95 });
  record({ scenario: sc, metric: 'plugin p50 latency', value: p.p50, unit: 'ms', baseline: 'session baseline p50', baselineValue: s.p50, better: 'lower' });
  record({ scenario: sc, metric: 'plugin p99 latency', value: p.p99, unit: 'ms', baseline: 'session baseline p99', baselineValue: s.p99, better: 'lower' });
  record({ scenario: sc, metric: 'plugin Redis commands per request', value: p.cmdsPerReq, unit: 'cmds', baseline: 'session baseline', baselineValue: s.cmdsPerReq, better: 'lower', target: 'equal', met: Math.abs(p.cmdsPerReq - s.cmdsPerReq) < 0.05 });
  return { pluginP99: p.p99 };
}
