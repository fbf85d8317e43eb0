import { spawn } from 'node:child_process';
import { record, startServer } from '../lib';
import { load, type Load } from './guarded';

function cookieOf(res: Response): string {
  return (res.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[], d = 2) => `${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)}`;

/**
 * Scenario 4: another user's guarded requests (10 connections) alone, and while 200 connections
 * (a) send wrong codes for one account over 40 pending logins, or (b) send wrong passwords for many
 * accounts, all from one address. Interleaved rounds (alone, codes, alone, passwords, ...); the
 * server runs with the shield's, the argon2 queue's and the password budgets' defaults (100 wrong
 * passwords an hour per address, 10 per account). Targets: the victim's p99 within
 * 2x and throughput within 0.8x of the same run's rounds without attack; no wrong code accepted.
 */
export async function challengeUnderAttack(redisUrl: string, seconds: number, _scenario1P99: number): Promise<void> {
  const users = 200;
  const { info, child } = await startServer('plugin', { REDIS_URL: redisUrl, BENCH_USERS: String(users), BENCH_PASSWORD_LIMITS: 'default' });
  const rounds = 3;
  const roundSeconds = Math.max(2, Math.round(seconds / 2));
  try {
    const port = info.port as number;
    const base = `http://127.0.0.1:${port}`;
    const victim = () => load(`${base}/guarded`, { seconds: roundSeconds, connections: 10, cookie: info.cookie as string });
    let setupIp = 0;
    const pendingLogins = async (n: number): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${base}/auth/login`, {
          method: 'POST',
          // Each pending login from its own address: the attacker bought them before the round.
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.200.${(++setupIp >> 8) & 255}.${setupIp & 255}` },
          body: JSON.stringify({ tenant: 'acme', email: 'user1@acme.test', password: 'bench password 123' }),
        });
        if (res.status !== 200) throw new Error(`pending login for the attack: ${res.status}`);
        out.push(cookieOf(res));
      }
      return out;
    };
    /** The attacker, in its own process (bench/attack-load.ts); pending logins are bought before the round. */
    const attacker = async (kind: 'codes' | 'passwords', ip: string): Promise<() => Promise<Load>> => {
      const cookies = kind === 'codes' ? await pendingLogins(40) : undefined;
      const env = { ...process.env, ATTACK: JSON.stringify({ base, seconds: roundSeconds, connections: 200, kind, ip, cookies, users }) };
      const c = spawn(process.execPath, ['--import', 'tsx', 'bench/attack-load.ts'], { env, stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      const exited = new Promise<Load>((resolve, reject) => {
        c.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.slice(out.indexOf('\n') + 1)) as Load) : reject(new Error(`attack load exited with ${code}`))));
      });
      exited.catch(() => undefined);
      await new Promise<void>((resolve) => {
        c.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.startsWith('ready\n')) resolve();
        });
      });
      return () => {
        c.stdin!.write('go\n');
        return exited;
      };
    };
    const check = (l: Load, what: string) => {
      if ((l.statuses['200'] ?? 0) !== l.total) throw new Error(`guarded requests failed ${what}: ${JSON.stringify(l.statuses)}`);
    };
    await victim(); // warm-up
    const alone: Load[] = [];
    const during = { codes: { victim: [] as Load[], attack: [] as Load[] }, passwords: { victim: [] as Load[], attack: [] as Load[] } };
    for (let r = 0; r < rounds; r++) {
      for (const kind of ['codes', 'passwords'] as const) {
        // One attacker address for all rounds: its first round spends the address's burst, the later
        // ones show the steady state (each round's figure is printed). The 40 pending logins of (a) are
        // bought anew each round from other addresses (a login per address), as a botnet would.
        const attack = await attacker(kind, kind === 'codes' ? '203.0.113.10' : '203.0.113.11');
        const a = await victim();
        check(a, 'without attack');
        alone.push(a);
        // The attacker's process is loaded before the round; both loads start together.
        const [a2, v] = await Promise.all([attack(), victim()]);
        check(v, `during the ${kind} attack`);
        during[kind].attack.push(a2);
        during[kind].victim.push(v);
      }
    }
    const p99Alone = median(alone.map((l) => l.p99));
    const rpsAlone = median(alone.map((l) => l.reqPerSec));
    const sc = '4 attack isolation';
    record({ scenario: sc, metric: `other user's guarded requests without attack, ${rounds * 2} rounds (rps ${range(alone.map((l) => l.reqPerSec), 0)}, p99 ${range(alone.map((l) => l.p99), 0)} ms)`, value: rpsAlone, unit: 'req/s', baseline: null, baselineValue: null, better: 'higher' });
    record({ scenario: sc, metric: "other user's guarded p99 without attack (median)", value: p99Alone, unit: 'ms', baseline: null, baselineValue: null, better: 'lower' });
    for (const kind of ['codes', 'passwords'] as const) {
      const d = during[kind];
      const label = kind === 'codes' ? '(a) 200 connections, wrong codes, one account, 40 pending logins, one IP' : '(b) 200 connections, wrong passwords, many accounts, one IP';
      const st: Record<string, number> = {};
      for (const l of d.attack) for (const [k, v] of Object.entries(l.statuses)) st[k] = (st[k] ?? 0) + v;
      const total = d.attack.reduce((s, l) => s + l.total, 0);
      const accepted = st['200'] ?? 0;
      const refused = st['429'] ?? 0;
      record({ scenario: sc, metric: `${label}: attack answers (${Object.entries(st).map(([k, v]) => `${k} ${v}`).join(', ')}), share refused 429`, value: refused / Math.max(1, total), unit: 'share', baseline: null, baselineValue: null, better: 'higher' });
      if (kind === 'codes') record({ scenario: sc, metric: `${label}: wrong codes accepted`, value: accepted, unit: 'count', baseline: null, baselineValue: null, better: 'lower', target: '0', met: accepted === 0 });
      else record({ scenario: sc, metric: `${label}: wrong passwords accepted`, value: accepted, unit: 'count', baseline: null, baselineValue: null, better: 'lower', target: '0', met: accepted === 0 });
      const p99 = median(d.victim.map((l) => l.p99));
      const rps = median(d.victim.map((l) => l.reqPerSec));
      record({ scenario: sc, metric: `${label}: other user's guarded p99 (rounds ${d.victim.map((l) => l.p99).join(' ')} ms)`, value: p99, unit: 'ms', baseline: 'p99 without attack', baselineValue: p99Alone, better: 'lower', target: '<= 2x', met: p99 <= 2 * Math.max(p99Alone, 1) });
      record({ scenario: sc, metric: `${label}: other user's guarded throughput (rounds ${d.victim.map((l) => l.reqPerSec.toFixed(0)).join(' ')} req/s)`, value: rps, unit: 'req/s', baseline: 'throughput without attack', baselineValue: rpsAlone, better: 'higher', target: '>= 0.8x', met: rps >= 0.8 * rpsAlone });
    }
  } finally {
    child.kill('SIGTERM');
  }
}
