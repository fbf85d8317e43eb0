#!/usr/bin/env node
// `npm test`: the type check and the package build (scripts/check-and-build.js: one TypeScript program)
// and jest side by side. The check is single-threaded: run first, alone, it left one of this machine's
// two cores idle; it runs niced, so it takes what the suite leaves. The packed-package suite waits for
// its build (STEPUP_BUILD_STAMP) instead of compiling the package a second time. Exits non-zero when
// either fails; extra arguments go to jest.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const exited = (child) => new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0))));

// Where the build's outcome ({code}) is written when it ends.
const stamp = path.join(os.tmpdir(), `passport-stepup-build-${process.pid}.json`);
fs.rmSync(stamp, { force: true });

const check = spawn(process.execPath, [path.join(__dirname, 'check-and-build.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
try {
  os.setPriority(check.pid, 10);
} catch {
  /* not allowed here: it just competes evenly */
}
let checkOutput = '';
check.stdout.on('data', (d) => (checkOutput += d));
check.stderr.on('data', (d) => (checkOutput += d));
const checked = exited(check).then((code) => {
  fs.writeFileSync(`${stamp}.tmp`, JSON.stringify({ code }));
  fs.renameSync(`${stamp}.tmp`, stamp);
  return code;
});

const jest = spawn(process.execPath, [require.resolve('jest/bin/jest'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, STEPUP_BUILD_STAMP: stamp },
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => [check, jest].forEach((c) => c.kill(sig)));

Promise.all([checked, exited(jest)]).then(([checkCode, jestCode]) => {
  fs.rmSync(stamp, { force: true });
  const what = 'type check and build (scripts/check-and-build.js)';
  process.stdout.write(checkCode === 0 ? `\n${what}: passed\n` : `\n${what} FAILED:\n${checkOutput}\n`);
  process.exit(checkCode !== 0 || jestCode !== 0 ? 1 : 0);
});
