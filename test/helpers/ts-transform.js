// ts-jest, with one cache for every Jest project and worker.
//
// Jest keeps transformed files per project (`jest-transform-cache-<project id>`), and ts-jest's key
// includes the whole project config: the five projects of jest.config.js each transpiled the same
// lib/ and routes/ files again, up to once per worker too, on a cold cache (a fresh clone: keys hold the
// absolute path). About 60 CPU-seconds of a 640 CPU-second `npm test` went there.
//
// The transpiled output depends only on the source, its path, the tsconfig and ts-jest's options
// (isolated modules: no type information, nothing from the project's moduleNameMapper or testMatch),
// so it is kept here under a key of exactly those, next to Jest's own cache. ts-jest still does every
// transform; Jest's per-project cache still works as before (getCacheKey is ts-jest's).
'use strict';
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const tsJest = require('ts-jest').default;

const versions = ['ts-jest', 'typescript'].map((p) => `${p}@${require(`${p}/package.json`).version}`).join(' ');

module.exports = {
  createTransformer(options = {}) {
    const inner = tsJest.createTransformer(options);
    // The folder and the part of the key every file shares, from the first file's project (the same
    // cache directory and root for all of them): the tsconfig's text as ts-jest reads it, from the root.
    let shared;
    const sharedFor = (config) => {
      if (!shared) {
        const tsconfig = typeof options.tsconfig === 'string' ? fs.readFileSync(path.resolve(config.rootDir, options.tsconfig), 'utf8') : '';
        shared = {
          dir: path.join(config.cacheDirectory, 'ts-jest-shared'),
          salt: createHash('sha256').update(`${versions}\0${JSON.stringify(options)}\0${tsconfig}`).digest('hex'),
        };
        fs.mkdirSync(shared.dir, { recursive: true });
      }
      return shared;
    };
    return {
      canInstrument: false,
      getCacheKey: (source, file, transformOptions) => inner.getCacheKey(source, file, transformOptions),
      process(source, file, transformOptions) {
        const { dir, salt } = sharedFor(transformOptions.config);
        const key = createHash('sha256')
          .update(`${salt}\0${file}\0${transformOptions.supportsStaticESM ? 'esm' : 'cjs'}\0${transformOptions.instrument ? 'i' : ''}\0`)
          .update(source)
          .digest('hex');
        const cached = path.join(dir, `${key}.js`);
        try {
          return { code: fs.readFileSync(cached, 'utf8') };
        } catch {
          /* not transformed yet */
        }
        const result = inner.process(source, file, transformOptions);
        // Written aside, then renamed: another worker never reads half a file.
        const tmp = `${cached}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, result.code);
        fs.renameSync(tmp, cached);
        return result;
      },
    };
  },
};
