// A private FerretDB (MongoDB wire protocol, SQLite backend) for the tests: started by global-setup.js
// on a free loopback port, and by suites that need one of their own (the outage test stops its server).
// Plain CommonJS: jest's globalSetup loads it without ts-jest.
const { spawn, execFileSync } = require('node:child_process');
const net = require('node:net');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** The ferretdb binary: on PATH, or where `go install` puts it. null when there is none. */
function findFerretdb() {
  if (process.env.STEPUP_TEST_FERRETDB && fs.existsSync(process.env.STEPUP_TEST_FERRETDB)) return process.env.STEPUP_TEST_FERRETDB;
  const candidates = [];
  try {
    candidates.push(execFileSync('sh', ['-c', 'command -v ferretdb'], { encoding: 'utf8' }).trim());
  } catch {
    /* not on PATH */
  }
  try {
    candidates.push(path.join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim(), 'bin', 'ferretdb'));
  } catch {
    /* no Go toolchain */
  }
  candidates.push(path.join(os.homedir(), 'go', 'bin', 'ferretdb'));
  return candidates.find((c) => c && fs.existsSync(c)) || null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/**
 * Starts FerretDB on 127.0.0.1 (a free port unless given) with its SQLite files in `dir` (a new temp
 * directory unless given). Telemetry off, no debug listener. Resolves once the port accepts connections;
 * rejects with the server's own output when it does not start.
 */
async function startFerretdb(opts = {}) {
  const bin = opts.bin || findFerretdb();
  if (!bin) throw new Error('ferretdb not found (on PATH or in $(go env GOPATH)/bin); .ci/run installs it');
  const dir = opts.dir || fs.mkdtempSync(path.join(os.tmpdir(), 'stepup-ferretdb-'));
  const port = opts.port || (await freePort());
  const args = [
    '--handler=sqlite',
    `--sqlite-url=file:${dir}/`,
    `--state-dir=${dir}`,
    `--listen-addr=127.0.0.1:${port}`,
    '--debug-addr=-',
    '--telemetry=disable',
    '--log-level=error',
  ];
  const out = [];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (b) => out.push(b));
  child.stderr.on('data', (b) => out.push(b));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (!(await waitForPort(port, 15_000))) {
    child.kill('SIGKILL');
    throw new Error(`ferretdb did not start on port ${port}: ${Buffer.concat(out).toString().slice(-2000)}`);
  }
  child.stdout.removeAllListeners('data');
  child.stderr.removeAllListeners('data');
  child.stdout.resume();
  child.stderr.resume();
  return {
    bin,
    dir,
    port,
    pid: child.pid,
    uri: `mongodb://127.0.0.1:${port}/`,
    /** Stops the server (SIGTERM, SIGKILL after 5 s); `keepData` leaves the directory for a restart. */
    async stop(stopOpts = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      if (!stopOpts.keepData && !opts.dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** PID file of the run's shared server: `{pid, dir}`, so a later run can stop an orphan and remove its files. */
const PID_FILE = path.join(os.tmpdir(), `passport-stepup-test-ferretdb-${process.getuid ? process.getuid() : 0}.pid`);

/** Stops a FerretDB left behind by a run killed before its teardown (only an orphan: its parent is init). */
function stopOrphan() {
  try {
    const { pid, dir } = JSON.parse(fs.readFileSync(PID_FILE, 'utf8'));
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const ppid = Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    if (pid > 0 && cmd.includes('ferretdb') && ppid === 1) {
      process.kill(pid, 'SIGTERM');
      if (dir && dir.startsWith(path.join(os.tmpdir(), 'stepup-ferretdb-'))) fs.rmSync(dir, { recursive: true, force: true });
    }
  } catch {
    /* none left behind */
  }
}

module.exports = { findFerretdb, startFerretdb, stopOrphan, PID_FILE, freePort, waitForPort };
