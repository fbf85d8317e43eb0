import type autocannon from 'autocannon';
import { record, startServer } from '../lib';
import { load } from './guarded';

function cookieOf(res: Response): string {
  return (res.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
}

/**
 * Scenario 4: 200 concurrent clients send wrong codes for one account while another user makes
 * guarded requests. The lockout must hold (no wrong code accepted) and other users stay fast.
 */
export async function challengeUnderAttack(redisUrl: string, seconds: number, baselineP99: number): Promise<void> {
  const { info, child } = await startServer('plugin', { REDIS_URL: redisUrl, BENCH_USERS: '2' });
  try {
    const port = info.port as number;
    const pendings: string[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenant: 'acme', email: 'user1@acme.test', password: 'bench password 123' }),
      });
      pendings.push(cookieOf(res));
    }
    let n = 0;
    const requests: autocannon.Request[] = [
      {
        method: 'POST',
        path: '/auth/mfa/challenge',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ method: 'totp', code: '000000' }),
        setupRequest: (req) => ({ ...req, headers: { ...(req.headers ?? {}), cookie: pendings[n++ % pendings.length]! } }),
      },
    ];
    const [attack, victimSide] = await Promise.all([
      load(`http://127.0.0.1:${port}`, { seconds, connections: 200, requests }),
      load(`http://127.0.0.1:${port}/guarded`, { seconds, connections: 10, cookie: info.cookie as string }),
    ]);
    const accepted = attack.statuses['200'] ?? 0;
    const refused = (attack.statuses['423'] ?? 0) + (attack.statuses['429'] ?? 0);
    const sc = '4 challenge under attack';
    record({ scenario: sc, metric: 'wrong codes accepted', value: accepted, unit: 'count', baseline: null, baselineValue: null, better: 'lower', target: '0', met: accepted === 0 });
    record({ scenario: sc, metric: `attack requests answered 423/429 (of ${attack.total}; 401 ${attack.statuses['401'] ?? 0}, 409 ${attack.statuses['409'] ?? 0}, 410 ${attack.statuses['410'] ?? 0})`, value: refused / Math.max(1, attack.total), unit: 'share', baseline: null, baselineValue: null, better: 'higher' });
    record({ scenario: sc, metric: 'attack throughput absorbed', value: attack.reqPerSec, unit: 'req/s', baseline: null, baselineValue: null, better: 'higher' });
    const ok = victimSide.statuses['200'] ?? 0;
    if (ok !== victimSide.total) throw new Error(`guarded requests failed during the attack: ${JSON.stringify(victimSide.statuses)}`);
    record({ scenario: sc, metric: "other user's guarded requests completed during the attack", value: victimSide.reqPerSec, unit: 'req/s', baseline: null, baselineValue: null, better: 'higher' });
    // No completed request means no latency figure: count it as a miss, not as 0 ms.
    const p99 = victimSide.total > 0 ? victimSide.p99 : Number.POSITIVE_INFINITY;
    record({ scenario: sc, metric: "other user's guarded p99 during the attack", value: p99, unit: 'ms', baseline: 'scenario 1 plugin p99', baselineValue: baselineP99, better: 'lower', target: '<= 2x', met: p99 <= 2 * Math.max(baselineP99, 1) });
  } finally {
    child.kill('SIGTERM');
  }
}
