/** Unit tests (no I/O), integration tests (real Redis, SMTP sink), e2e (Chromium). */
const common = {
  testEnvironment: 'node',
  // ts-jest, through a cache shared by the projects below (test/helpers/ts-transform.js).
  transform: {
    '^.+\\.ts$': ['<rootDir>/test/helpers/ts-transform.js', { tsconfig: 'tsconfig.json' }],
    // @scure/base (otplib's base32) is ES-module only: Node 20.19+ require()s it, Jest's CommonJS
    // runtime cannot, so that package alone is compiled to CommonJS.
    '/node_modules/@scure/base/.+\\.js$': ['<rootDir>/test/helpers/ts-transform.js', { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', esModuleInterop: true }, diagnostics: false }],
  },
  transformIgnorePatterns: ['/node_modules/(?!@scure/base/)'],
  // Browser modules import each other as `./x.js` (ES modules); under jest that is the `.ts` file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // Every test must make at least one `expect` assertion: a test that cannot fail is an error.
  setupFilesAfterEnv: ['<rootDir>/test/helpers/has-assertions.js'],
};
module.exports = {
  globalSetup: '<rootDir>/test/helpers/global-setup.js',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.js',
  testTimeout: 30000,
  // Three workers on this 2-core machine, the browser files spread through the run (test/helpers/sequencer.js):
  // most integration suites wait on Redis, FerretDB, sockets or timers, the browser ones on Chromium.
  // (Two workers with jest's slowest-first order kept the cores about 60 % busy.)
  maxWorkers: 3,
  testSequencer: '<rootDir>/test/helpers/sequencer.js',
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    // Express 4 (the peer range says ^4.21 || ^5; `express` resolves to express4, 4.22): the suites that
    // cover each router (auth, mfa, oob, webauthn, account, admin, sessions), each middleware's contract
    // (session chain, cookies, fixation, a host's own express-session, the shield, origin checks, input
    // and access errors, a store outage as 503, the WebSocket upgrade). The rules behind them live in
    // lib/, which no Express version reaches: their suites run once, on Express 5 (docs/DECISIONS.md).
    {
      ...common,
      displayName: 'integration-express4',
      testMatch: [
        `<rootDir>/test/integration/(${[
          'core-flow', 'oob-flow', 'webauthn-flow', 'register', 'reset', 'password-change', 'admin-actions', 'sessions-list', 'devices-remember',
          'session-cookies', 'session-fixation', 'host-session', 'shield-flood', 'security-csrf', 'security-input', 'security-access', 'redis-down', 'realtime',
        ].join('|')}).test.ts`,
      ],
      moduleNameMapper: { ...common.moduleNameMapper, '^express$': 'express4' },
    },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
    // The packed package in a consumer's app (builds and packs once per run).
    { ...common, displayName: 'package', testMatch: ['<rootDir>/test/package/**/*.test.ts'] },
  ],
};
