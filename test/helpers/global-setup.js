// Finds or starts the services the integration suites need, once per `jest` run.
// REDIS_URL wins; otherwise a redis-server found on PATH is started on a free port and stopped at the end.
// MONGODB_URI wins; otherwise a private FerretDB (SQLite in a temp directory) is started the same way.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ferretdb = require('./ferretdb');
const { freePort, waitForPort } = ferretdb;

const PID_FILE = path.join(os.tmpdir(), `passport-stepup-test-redis-${process.getuid ? process.getuid() : 0}.pid`);

function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}


const CI = process.env.CI === 'true' || process.env.CI === '1';

async function startMongo() {
  if (process.env.MONGODB_URI) return;
  const bin = ferretdb.findFerretdb();
  if (!bin) {
    // Under CI the mongoose suites must run: stop the whole run here rather than let them skip.
    if (CI) throw new Error('CI=true and neither MONGODB_URI nor a ferretdb binary is available (.ci/run installs FerretDB with `go install`)');
    return;
  }
  ferretdb.stopOrphan();
  let server;
  try {
    server = await ferretdb.startFerretdb({ bin });
  } catch (err) {
    if (CI) throw err;
    console.warn(`\n!!! FerretDB did not start, the MongoDB suites will skip: ${err.message} !!!\n`);
    return;
  }
  globalThis.__STEPUP_FERRETDB__ = server;
  fs.writeFileSync(ferretdb.PID_FILE, JSON.stringify({ pid: server.pid, dir: server.dir }));
  process.env.MONGODB_URI = server.uri;
  process.env.STEPUP_TEST_FERRETDB = bin;
}

module.exports = async function globalSetup() {
  if (!process.env.REDIS_URL) {
    const bin = which('redis-server');
    if (bin) {
      const port = await freePort();
      // A run killed before its teardown leaves its redis-server behind: stop that one first.
      try {
        const stale = Number(fs.readFileSync(PID_FILE, 'utf8'));
        // Only an orphan (its jest is gone, so its parent is now init): a concurrent run's server is left alone.
        const cmd = fs.readFileSync(`/proc/${stale}/cmdline`, 'utf8');
        const ppid = Number(fs.readFileSync(`/proc/${stale}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
        if (stale > 0 && cmd.includes('redis-server') && ppid === 1) process.kill(stale, 'SIGTERM');
      } catch {
        /* none left behind */
      }
      const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      globalThis.__STEPUP_REDIS__ = child;
      fs.writeFileSync(PID_FILE, String(child.pid));
      if (await waitForPort(port, 5000)) {
        process.env.REDIS_URL = `redis://127.0.0.1:${port}`;
        process.env.STEPUP_TEST_REDIS_SERVER = bin;
      }
    }
  }
  await startMongo();
  // The browser suites: Chromium's headless shell (Debian's chromium-headless-shell, the same Chromium
  // as the chromium package; Playwright's own choice for headless runs) when installed, else the full
  // browser. The shell has no browser UI to draw and costs about half the CPU (docs/DECISIONS.md).
  // CHROMIUM_PATH=/usr/bin/chromium runs them on the full browser.
  if (!process.env.CHROMIUM_PATH) {
    for (const p of ['/usr/lib/chromium/chromium-headless-shell', '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
      if (fs.existsSync(p)) { process.env.CHROMIUM_PATH = p; break; }
    }
  }
  if (!process.env.STEPUP_TEST_REDIS_SERVER) {
    const bin = which('redis-server');
    if (bin) process.env.STEPUP_TEST_REDIS_SERVER = bin;
  }
};
