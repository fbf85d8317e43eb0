module.exports = async function globalTeardown() {
  const child = globalThis.__STEPUP_REDIS__;
  if (child) child.kill('SIGTERM');
};
