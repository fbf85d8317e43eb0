#!/usr/bin/env node
'use strict';
// Operator CLI (see lib/cli.ts): the built code when installed, the TypeScript sources through tsx in a checkout.
const fs = require('node:fs');
const path = require('node:path');

function load() {
  const built = path.join(__dirname, '..', 'dist', 'lib', 'cli.js');
  if (fs.existsSync(built)) return require(built);
  try {
    require('tsx/cjs');
  } catch {
    console.error('passport-stepup: dist/ is missing and tsx is not installed; run `npm run build` first');
    process.exit(1);
  }
  return require(path.join(__dirname, '..', 'lib', 'cli.ts'));
}

load()
  .main(process.argv.slice(2), process.env)
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(`passport-stepup: ${err && err.message ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
