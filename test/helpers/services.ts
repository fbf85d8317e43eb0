import { execFileSync } from 'node:child_process';

const CI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * `describe` when the service is there; otherwise one loud line and a skip, or, with CI=true,
 * a failing suite: a missing service must never turn into a silent green run in CI.
 */
function describeWhen(available: boolean, service: string, name: string, fn: () => void): void {
  if (available) {
    describe(name, fn);
    return;
  }
  if (CI) {
    describe(name, () => {
      it(`needs ${service}`, () => {
        throw new Error(`${service} is not available and CI=true: this suite must run in CI`);
      });
    });
    return;
  }
  console.warn(`\n!!! SKIPPED "${name}": ${service} is not available (set it up to run this suite) !!!\n`);
  describe.skip(name, fn);
}

export const redisUrl = (): string => process.env.REDIS_URL ?? '';

export function describeWithRedis(name: string, fn: () => void): void {
  describeWhen(Boolean(process.env.REDIS_URL), 'Redis (REDIS_URL or redis-server on PATH)', name, fn);
}

export function describeWithChromium(name: string, fn: () => void): void {
  describeWhen(Boolean(process.env.CHROMIUM_PATH), 'Chromium (chromium-headless-shell or /usr/bin/chromium)', name, fn);
}

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function describeWithCommands(cmds: string[], name: string, fn: () => void): void {
  const missing = cmds.filter((c) => !hasCommand(c));
  describeWhen(missing.length === 0, `the command(s) ${missing.join(', ')}`, name, fn);
}
