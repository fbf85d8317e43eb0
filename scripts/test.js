#!/usr/bin/env node
// `npm test`: the type check (`tsc --noEmit -p .`) and jest side by side. tsc is single-threaded: run
// first, alone, it left one of this machine's two cores idle for about 20 s. It runs niced, so it takes
// what the suite leaves. Exits non-zero when either fails; extra arguments go to jest.
'use strict';
const { spawn } = require('node:child_process');
const os = require('node:os');

const tsc = spawn(process.execPath, [require.resolve('typescript/bin/tsc'), '--noEmit', '-p', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
try {
  os.setPriority(tsc.pid, 10);
} catch {
  /* not allowed here: it just competes evenly */
}
let tscOutput = '';
tsc.stdout.on('data', (d) => (tscOutput += d));
tsc.stderr.on('data', (d) => (tscOutput += d));
const exited = (child) => new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0))));

const jest = spawn(process.execPath, [require.resolve('jest/bin/jest'), ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => [tsc, jest].forEach((c) => c.kill(sig)));

Promise.all([exited(tsc), exited(jest)]).then(([tscCode, jestCode]) => {
  process.stdout.write(tscCode === 0 ? '\ntype check (tsc --noEmit -p .): passed\n' : `\ntype check (tsc --noEmit -p .) FAILED:\n${tscOutput}\n`);
  process.exit(tscCode !== 0 || jestCode !== 0 ? 1 : 0);
});
