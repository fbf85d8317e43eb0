import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { percentile, record } from '../lib';

const root = path.resolve(__dirname, '..', '..');

/** Wall time of one fresh `node` process that requires `what` from the repository root (ms). */
function requireMs(what: string): number {
  // Timed inside the child: process start-up is the same for both and not the package's cost.
  const code = `const t=process.hrtime.bigint();require(${JSON.stringify(what)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`require(${what}) failed: ${r.stderr.slice(0, 500)}`);
  return Number(r.stdout);
}

/**
 * Scenario 8: `require('passport-stepup')` (the built dist, a fresh process each time) beside
 * `require('express')` in the same run, alternated so both see the same machine load. The package
 * loads express itself, so its figure includes express's. mongoose (./mongoose), nodemailer and
 * libphonenumber's metadata load on first use only.
 */
export async function requireTime(runs: number): Promise<void> {
  if (!existsSync(path.join(root, 'dist', 'index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  const dist = path.join(root, 'dist', 'index.js');
  requireMs(dist);
  requireMs('express');
  const pkg: number[] = [];
  const express: number[] = [];
  for (let i = 0; i < runs; i++) {
    pkg.push(requireMs(dist));
    express.push(requireMs('express'));
  }
  pkg.sort((a, b) => a - b);
  express.sort((a, b) => a - b);
  const p = percentile(pkg, 50);
  const e = percentile(express, 50);
  const sc = '8 require time';
  record({ scenario: sc, metric: "require('express') median", value: e, unit: 'ms', baseline: null, baselineValue: null, better: 'lower' });
  record({ scenario: sc, metric: "require('passport-stepup') median", value: p, unit: 'ms', baseline: "require('express')", baselineValue: e, better: 'lower', target: '< 300 ms', met: p < 300 });
}
