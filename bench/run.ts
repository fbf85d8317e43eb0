// `npm run bench` (quick, under ~3 minutes on 2 cores) or `npm run bench -- --full`.
// One scenario alone: `npm run bench -- --only 2` (numbers as in bench/README.md).
import { writeFileSync } from 'node:fs';
import { fmt, rows, startRedis } from './lib';
import { guardedRequest } from './scenarios/guarded';
import { totpVerification } from './scenarios/totp';
import { fullLogin } from './scenarios/login';
import { challengeUnderAttack } from './scenarios/attack';
import { workersScaling } from './scenarios/workers';

const args = process.argv.slice(2);
const full = args.includes('--full');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? new Set(args[onlyIdx + 1]!.split(',')) : null;
const want = (n: string) => !only || only.has(n);
const seconds = full ? 20 : 5;

let optionalRealtime: ((redisUrl: string, full: boolean) => Promise<void>) | undefined;

async function main(): Promise<void> {
  const redis = await startRedis();
  let failed = false;
  let pluginP99 = 5;
  const step = async (name: string, fn: () => Promise<void>) => {
    const t0 = Date.now();
    try {
      await fn();
      console.error(`scenario ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      failed = true;
      console.error(`scenario ${name} failed: ${(err as Error).message}`);
    }
  };
  try {
    if (want('1')) await step('1', async () => void ({ pluginP99 } = await guardedRequest(redis.url, seconds)));
    if (want('2')) await step('2', () => totpVerification(full ? 200_000 : 50_000));
    if (want('3')) await step('3', () => fullLogin(redis.url, seconds, full ? 2500 : 700));
    if (want('4')) await step('4', () => challengeUnderAttack(redis.url, seconds, pluginP99));
    if (want('6')) await step('6', () => workersScaling(redis.url, seconds));
    if (want('8')) await step('8', async () => (await import('./scenarios/require')).requireTime(full ? 30 : 10));
    if (want('7')) await step('7', async () => (await import('./scenarios/login-mongo')).fullLoginMongo(redis.url, seconds, full ? 2500 : 700));
    if (want('5')) {
      try {
        optionalRealtime ??= (await import('./scenarios/realtime')).realtimeFanout;
      } catch {
        optionalRealtime = undefined;
      }
      if (optionalRealtime) await step('5', () => optionalRealtime!(redis.url, full));
    }
  } finally {
    redis.stop();
  }
  const lines = [
    '| scenario | metric | value | unit | baseline | baseline value | ratio | target | met |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) =>
      `| ${r.scenario} | ${r.metric} | ${fmt(r.value)} | ${r.unit} | ${r.baseline ?? '-'} | ${fmt(r.baselineValue)} | ${fmt(r.ratio, 3)} | ${r.target ?? '-'} | ${r.met === undefined || r.met === null ? '-' : r.met ? 'yes' : 'NO'} |`,
    ),
  ];
  console.log(lines.join('\n'));
  writeFileSync('bench/results.json', JSON.stringify(rows, null, 2) + '\n');
  if (failed) process.exit(1);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
