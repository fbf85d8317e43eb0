import { createHmac, randomBytes } from 'node:crypto';
import { verifyTotp, hotp, stepAt, DEFAULT_TOTP, encodeSecret } from '../../lib/factors/totp';
import { record } from '../lib';

function floorVerify(key: Buffer, counter: number): number {
  // Three bare HMAC-SHA1 computations with dynamic truncation: the least any ±1 verifier must do.
  let r = 0;
  for (let s = counter - 1; s <= counter + 1; s++) {
    const msg = Buffer.alloc(8);
    msg.writeUInt32BE(Math.floor(s / 2 ** 32), 0);
    msg.writeUInt32BE(s >>> 0, 4);
    const mac = createHmac('sha1', key).update(msg).digest();
    const o = mac[19]! & 0xf;
    r ^= (mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000;
  }
  return r;
}

function time(iterations: number, fn: (i: number) => unknown): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / iterations; // microseconds per call
}

async function timeAsync(iterations: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await fn(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / iterations;
}

/** Scenario 2: microseconds per TOTP verification (window ±1). */
export async function totpVerification(iterations: number): Promise<void> {
  const key = randomBytes(20);
  const now = Date.now();
  const step = stepAt(now);
  const wrong = hotp(key, step + 5); // a wrong code checks all three steps: the worst case
  // Warm-up all three.
  time(2000, () => verifyTotp(key, wrong, now, -1, DEFAULT_TOTP));
  time(2000, () => floorVerify(key, step));
  const otplib = (await import('otplib')) as typeof import('otplib');
  const secret = encodeSecret(key);
  await timeAsync(200, () => otplib.verify({ secret, token: wrong, epoch: Math.floor(now / 1000), epochTolerance: 30 }));

  const floor = time(iterations, () => floorVerify(key, step));
  const plugin = time(iterations, () => verifyTotp(key, wrong, now, -1, DEFAULT_TOTP));
  const lib = await timeAsync(Math.max(200, Math.floor(iterations / 10)), () =>
    otplib.verify({ secret, token: wrong, epoch: Math.floor(now / 1000), epochTolerance: 30 }),
  );
  const sc = '2 TOTP verification';
  record({ scenario: sc, metric: 'floor: 3x HMAC-SHA1 + truncation', value: floor, unit: 'us', baseline: null, baselineValue: null, better: 'lower' });
  record({ scenario: sc, metric: 'otplib verify (default plugins)', value: lib, unit: 'us', baseline: 'floor', baselineValue: floor, better: 'lower' });
  // verifyTotp is otplib (Node crypto plugin) since 0.2: its checks cost more than the bare floor; the budget is 100 us.
  record({ scenario: sc, metric: 'plugin verifyTotp (otplib, node crypto)', value: plugin, unit: 'us', baseline: 'floor', baselineValue: floor, better: 'lower', target: '< 100 us', met: plugin < 100 });
  record({ scenario: sc, metric: 'plugin vs otplib', value: plugin, unit: 'us', baseline: 'otplib verify', baselineValue: lib, better: 'lower', target: '< 1 (faster)', met: plugin < lib });
}
