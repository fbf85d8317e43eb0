#!/usr/bin/env node
// `npm test`: the type check (`tsc --noEmit`, every file: library, tests, example app, bench) and jest,
// started together (the type check is one process of ~15 s that would otherwise run before jest).
// Fails when either fails; arguments go to jest (`npm test -- --selectProjects unit`).
// The type check's output is printed after jest's, under its own heading, so neither hides the other.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const bin = (pkg, file) => path.join(path.dirname(require.resolve(`${pkg}/package.json`, { paths: [root] })), file);

const tscStart = Date.now();
const tsc = spawn(process.execPath, [bin('typescript', 'bin/tsc'), '--noEmit', '-p', root], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
let tscOut = '';
tsc.stdout.on('data', (b) => (tscOut += b));
tsc.stderr.on('data', (b) => (tscOut += b));
const tscDone = new Promise((resolve) => tsc.on('close', (code) => resolve({ code: code ?? 1, seconds: (Date.now() - tscStart) / 1000 })));

const jest = spawn(process.execPath, [bin('jest', 'bin/jest.js'), ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
const jestDone = new Promise((resolve) => jest.on('close', (code) => resolve(code ?? 1)));

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    tsc.kill(sig);
    jest.kill(sig);
  });
}

Promise.all([tscDone, jestDone]).then(([t, jestCode]) => {
  process.stdout.write(`\ntype check (tsc --noEmit): ${t.code === 0 ? 'ok' : 'FAILED'} in ${t.seconds.toFixed(1)} s\n`);
  if (t.code !== 0) process.stdout.write(tscOut);
  process.exit(t.code !== 0 ? t.code : jestCode);
});
