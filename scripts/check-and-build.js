#!/usr/bin/env node
// The type check of the whole repository (what `tsc --noEmit -p .` checks) and the package's build
// (what `npm run build` writes to dist/) from one TypeScript program, for `npm test`: the build used to
// type-check lib/, routes/ and strategies/ a second time, about 17 CPU-seconds on this machine.
//
// The program is tsconfig.json's files plus tsconfig.build.json's, with the build's emit options
// (declaration maps, no source maps); only the build's files are written. The browser client
// (client/tsconfig.json: ES modules, DOM) is its own program, as in `npm run build`.
// Prints diagnostics the way tsc does; exits 1 on any.
'use strict';
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.join(__dirname, '..');
const host = { getCurrentDirectory: () => ROOT, getCanonicalFileName: (f) => f, getNewLine: () => '\n' };

function parse(file) {
  const diagnostics = [];
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, file), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => diagnostics.push(d) });
  if (!parsed) throw new Error(ts.formatDiagnostics(diagnostics, host));
  if (parsed.errors.length) throw new Error(ts.formatDiagnostics(parsed.errors, host));
  return parsed;
}

/** Checks every file of `program`; writes the files `emitOnly` names (all when omitted). */
function checkAndEmit(program, emitOnly) {
  const diagnostics = [...ts.getPreEmitDiagnostics(program)];
  if (diagnostics.length === 0) {
    const files = emitOnly ? emitOnly.map((f) => program.getSourceFile(f)) : [undefined];
    for (const sf of files) diagnostics.push(...program.emit(sf).diagnostics);
  }
  return diagnostics;
}

function main() {
  const check = parse('tsconfig.json');
  const build = parse('tsconfig.build.json');
  const program = ts.createProgram({
    rootNames: [...new Set([...check.fileNames, ...build.fileNames])],
    options: { ...check.options, noEmit: false, sourceMap: false, declarationMap: build.options.declarationMap },
  });
  const diagnostics = checkAndEmit(program, build.fileNames);
  if (diagnostics.length === 0) {
    const client = parse('client/tsconfig.json');
    diagnostics.push(...checkAndEmit(ts.createProgram({ rootNames: client.fileNames, options: client.options })));
  }
  if (diagnostics.length) {
    process.stdout.write(ts.formatDiagnostics(diagnostics, host));
    return 1;
  }
  require('./client-package.js');
  return 0;
}

process.exitCode = main();
