import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { commandCount, percentile, record } from '../lib';

interface RtServer {
  info: { port: number; floorPort: number; cookie: string; origin: string };
  child: ChildProcess;
}

async function startRt(env: Record<string, string>): Promise<RtServer> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/realtime-server.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = readline.createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`realtime bench server exited with ${code}`)));
  });
  rl.close();
  return { info: JSON.parse(line) as RtServer['info'], child };
}

/** Opens `n` sockets, joined to the tenant room, in batches (so the server is not flooded with upgrades). */
async function openMany(url: string, n: number, headers: Record<string, string>, join: boolean): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  const batch = 200;
  for (let i = 0; i < n; i += batch) {
    const part = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { headers, perMessageDeflate: false });
          ws.once('error', reject);
          if (!join) return ws.once('open', () => resolve(ws));
          ws.on('message', function onMsg(data) {
            const f = JSON.parse(data.toString()) as { type: string };
            if (f.type === 'joined') ws.send(JSON.stringify({ type: 'joinCompany', tenant: 'acme' }));
            if (f.type === 'joinedCompany') {
              ws.off('message', onMsg);
              resolve(ws);
            }
          });
        }),
      ),
    );
    out.push(...part);
  }
  return out;
}

/** Waits for one message on every socket; returns each socket's delivery latency in ms (sent time is in the payload). */
function deliveries(sockets: WebSocket[], timeoutMs = 30_000): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const lat: number[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${lat.length}/${sockets.length} sockets got the event`)), timeoutMs);
    for (const ws of sockets) {
      ws.once('message', (data) => {
        const now = Date.now();
        const m = /sent (\d+)/.exec(data.toString());
        lat.push(m ? now - Number(m[1]) : NaN);
        if (lat.length === sockets.length) {
          clearTimeout(timer);
          resolve(lat.sort((a, b) => a - b));
        }
      });
    }
  });
}

async function post(port: number, path: string): Promise<{ cpuMicros: number[] }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST' });
  return (await r.json()) as { cpuMicros: number[] };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Scenario 5: one emitSyncStatus to N sockets in one tenant room, in one process and across two. */
export async function realtimeFanout(redisUrl: string, full: boolean): Promise<void> {
  const n = full ? 10_000 : 1_000;
  const rounds = full ? 30 : 20;
  const sc = `5 realtime fan-out (N=${n})`;
  const one = await startRt({ REDIS_URL: redisUrl });
  try {
    const headers = { cookie: one.info.cookie, origin: one.info.origin };
    const rss = async () => ((await (await fetch(`http://127.0.0.1:${one.info.port}/bench/rss`)).json()) as { rss: number }).rss;
    // RSS per socket from the second half of the sockets (start-up garbage cancels out).
    const firstHalf = await openMany(`ws://127.0.0.1:${one.info.port}/ws`, n / 2, headers, true);
    const rss0 = await rss();
    const sockets = [...firstHalf, ...(await openMany(`ws://127.0.0.1:${one.info.port}/ws`, n / 2, headers, true))];
    const rss1 = await rss();
    const floorSockets = await openMany(`ws://127.0.0.1:${one.info.floorPort}`, n, {}, false);
    // Warm-up, then measured rounds: each round waits until every socket has the event.
    for (let i = 0; i < 3; i++) await Promise.all([deliveries(sockets), post(one.info.port, '/bench/emit?n=1')]);
    for (let i = 0; i < 3; i++) await Promise.all([deliveries(floorSockets), post(one.info.port, '/bench/floor?n=1')]);
    for (let i = 0; i < 3; i++) await Promise.all([deliveries(floorSockets), post(one.info.port, '/bench/ws-send?n=1')]);
    const lat: number[] = [];
    const cpu: number[] = [];
    const floorCpu: number[] = [];
    const wsSendCpu: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const [l, c] = await Promise.all([deliveries(sockets), post(one.info.port, '/bench/emit?n=1')]);
      lat.push(percentile(l, 99));
      cpu.push(...c.cpuMicros);
      const [, f] = await Promise.all([deliveries(floorSockets), post(one.info.port, '/bench/floor?n=1')]);
      floorCpu.push(...f.cpuMicros);
      const [, w] = await Promise.all([deliveries(floorSockets), post(one.info.port, '/bench/ws-send?n=1')]);
      wsSendCpu.push(...w.cpuMicros);
    }
    const [last] = await Promise.all([deliveries(sockets), post(one.info.port, '/bench/emit?n=1')]);
    record({ scenario: sc, metric: 'delivery to all sockets, p50 (one process)', value: percentile(last, 50), unit: 'ms', baseline: null, baselineValue: null, better: 'lower' });
    record({ scenario: sc, metric: 'delivery to all sockets, p99 (one process)', value: median(lat), unit: 'ms', baseline: null, baselineValue: null, better: 'lower' });
    record({ scenario: sc, metric: 'delivery to all sockets, max (one process)', value: last[last.length - 1]!, unit: 'ms', baseline: null, baselineValue: null, better: 'lower' });
    // Each round's three figures are measured back to back: the ratios are per round, then their median
    // (a GC pause or a neighbour's burst falls on one round, not on one side of every comparison).
    const pluginCpu = median(cpu);
    const floor = median(floorCpu);
    const wsSend = median(wsSendCpu);
    const toFloor = cpu.map((c, i) => c / floorCpu[i]!);
    const toWs = cpu.map((c, i) => c / wsSendCpu[i]!);
    const wsToFloor = wsSendCpu.map((w, i) => w / floorCpu[i]!);
    const spread = (xs: number[]) => `per-round ratio ${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}, ${xs.length} rounds`;
    record({ scenario: sc, metric: 'floor: one pre-built frame written to N raw sockets, CPU', value: floor, unit: 'us', baseline: null, baselineValue: null, better: 'lower' });
    record({ scenario: sc, metric: `ws public API alone: ws.send of one pre-encoded payload to N sockets, CPU (${spread(wsToFloor)})`, value: wsSend, unit: 'us', baseline: 'floor', baselineValue: floor, ratio: median(wsToFloor), better: 'lower' });
    const ratio = median(toFloor);
    record({ scenario: sc, metric: `server CPU per broadcast (${spread(toFloor)})`, value: pluginCpu, unit: 'us', baseline: 'floor', baselineValue: floor, ratio, better: 'lower', target: '<= 1.3x floor', met: ratio <= 1.3 });
    record({ scenario: sc, metric: `server CPU per broadcast against ws's public API alone, the plugin's own share (${spread(toWs)})`, value: pluginCpu, unit: 'us', baseline: 'ws.send alone', baselineValue: wsSend, ratio: median(toWs), better: 'lower' });
    record({ scenario: sc, metric: 'RSS per socket', value: (rss1 - rss0) / (n / 2) / 1024, unit: 'KiB', baseline: null, baselineValue: null, better: 'lower' });
    for (const ws of [...sockets, ...floorSockets]) ws.terminate();
  } finally {
    one.child.kill('SIGTERM');
  }

  // Two processes sharing Redis: half the sockets on each, one emit on A.
  const prefix = `bench:${randomBytes(4).toString('hex')}:`;
  const key = randomBytes(32).toString('hex');
  const a = await startRt({ REDIS_URL: redisUrl, BENCH_REDIS: '1', BENCH_PREFIX: prefix, BENCH_KEY: key });
  const b = await startRt({ REDIS_URL: redisUrl, BENCH_REDIS: '1', BENCH_PREFIX: prefix, BENCH_KEY: key });
  try {
    const headers = { cookie: a.info.cookie, origin: a.info.origin };
    const sa = await openMany(`ws://127.0.0.1:${a.info.port}/ws`, n / 2, headers, true);
    const sb = await openMany(`ws://127.0.0.1:${b.info.port}/ws`, n / 2, headers, true);
    const all = [...sa, ...sb];
    for (let i = 0; i < 3; i++) await Promise.all([deliveries(all), post(a.info.port, '/bench/emit?n=1')]);
    const lat: number[] = [];
    const p50s: number[] = [];
    const before = await commandCount(redisUrl, 'publish');
    for (let i = 0; i < rounds; i++) {
      const [l] = await Promise.all([deliveries(all), post(a.info.port, '/bench/emit?n=1')]);
      lat.push(percentile(l, 99));
      p50s.push(percentile(l, 50));
    }
    const publishes = ((await commandCount(redisUrl, 'publish')) - before) / rounds;
    record({ scenario: sc, metric: 'two processes: delivery p50', value: median(p50s), unit: 'ms', baseline: null, baselineValue: null, better: 'lower' });
    record({ scenario: sc, metric: 'two processes: delivery p99', value: median(lat), unit: 'ms', baseline: null, baselineValue: null, better: 'lower' });
    record({ scenario: sc, metric: 'two processes: Redis PUBLISH per event', value: publishes, unit: 'cmds', baseline: null, baselineValue: null, better: 'lower', target: '1', met: publishes === 1 });
    for (const ws of all) ws.terminate();
  } finally {
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
  }
}
