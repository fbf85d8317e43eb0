module.exports = async function globalTeardown() {
  const mongo = globalThis.__STEPUP_FERRETDB__;
  if (mongo) {
    await mongo.stop();
    try {
      require('node:fs').unlinkSync(require('./ferretdb').PID_FILE);
    } catch {
      /* already gone */
    }
  }
  const child = globalThis.__STEPUP_REDIS__;
  if (child) {
    child.kill('SIGTERM');
    try {
      require('node:fs').unlinkSync(require('node:path').join(require('node:os').tmpdir(), `passport-stepup-test-redis-${process.getuid ? process.getuid() : 0}.pid`));
    } catch {
      /* already gone */
    }
  }
};
