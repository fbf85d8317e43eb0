// The order jest hands test files to its workers. The browser suites are long and CPU-heavy (Chromium),
// most integration suites are short and wait on Redis, FerretDB, sockets or timers: spreading the
// browser files through the run, instead of starting all of them together, keeps both cores busy
// (about 60 % busy in the default order, slowest files first).
const Sequencer = require('@jest/test-sequencer').default;

// Short files that spend seconds waiting (stalled stores, drained servers, a cluster being made): first
// among the short ones, so a clean clone (no timing cache: jest then orders by file size) does not leave
// them for the end.
const WAITING = ['mongo-outage', 'ops-server', 'ops-cluster', 'redis-down', 'delivery-timeout', 'cluster-login', 'store-contract', 'tenant-cli', 'acceptance-mongo'];
const waitRank = (p) => {
  const i = WAITING.findIndex((name) => p.endsWith(`/${name}.test.ts`));
  return i < 0 ? WAITING.length : i;
};

const kind = (p) => (p.includes('/test/e2e/') ? 'e2e' : p.includes('/test/package/') ? 'package' : p.includes('/test/unit/') ? 'unit' : 'integration');

class SpreadSequencer extends Sequencer {
  sort(tests) {
    // Slowest first within each group (jest's own timing cache; file size when there is none).
    const sorted = super.sort(tests);
    const long = sorted.filter((t) => kind(t.path) === 'e2e' || t.path.endsWith('consumer.test.ts'));
    // Stable: the waiting ones first, the others in jest's order.
    const rest = sorted.filter((t) => !long.includes(t)).map((t, i) => ({ t, i })).sort((a, b) => waitRank(a.t.path) - waitRank(b.t.path) || a.i - b.i).map((x) => x.t);
    // Two long files first; the others are spread over the first half of the short ones, so the
    // last long file does not start near the end, and the short ones fill the tail.
    const out = long.splice(0, 2);
    const gap = Math.max(1, Math.floor(rest.length / 2 / (long.length + 1)));
    while (long.length) {
      out.push(...rest.splice(0, gap));
      out.push(long.shift());
    }
    return [...out, ...rest];
  }
}

module.exports = SpreadSequencer;
