/**
 * The browser client as the example app serves it (`/assets/client/<name>.js`, transpiled by
 * example-app/pages/router.ts): every import resolves to a served module, nothing reaches for Node,
 * and the pages' `../../client/...` imports point at the served copies.
 */
import path from 'node:path';
import { rewriteClientImports, transpileAssets } from '../../example-app/pages/router';

const ROOT = path.join(__dirname, '..', '..');
const client = transpileAssets(path.join(ROOT, 'client'));
const pages = transpileAssets(path.join(ROOT, 'example-app', 'public'));

/** Import and re-export specifiers of an ES module's text (statements only; comments left out). */
function specifiers(js: string): string[] {
  const code = js.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const statics = [...code.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*(['"])([^'"]+)\1/gm)].map((m) => m[2]!);
  const bare = [...code.matchAll(/^\s*import\s*(['"])([^'"]+)\1/gm)].map((m) => m[2]!);
  const dynamic = [...code.matchAll(/\bimport\(\s*(['"])([^'"]+)\1\s*\)/g)].map((m) => m[2]!);
  return [...statics, ...bare, ...dynamic];
}

describe('client modules, as served to browsers', () => {
  it('exports its surface from index.js and imports only its own modules, with .js specifiers', () => {
    expect([...client.keys()].sort()).toEqual(['http.js', 'index.js', 'realtime.js', 'stepup.js', 'types.js']);
    for (const [file, js] of client) {
      for (const spec of specifiers(js)) {
        expect([file, spec]).toEqual([file, expect.stringMatching(/^\.\/[a-z-]+\.js$/)]);
        expect(client.has(spec.slice(2))).toBe(true);
      }
    }
    const index = client.get('index.js')!;
    for (const name of ['createClient', 'ApiError', 'isApiError', 'withStepUp', 'StepUpCancelled', 'isStepUpRequired', 'RealtimeClient', 'realtimeUrl']) {
      expect(index).toMatch(new RegExp(`\\b${name}\\b`));
    }
  });

  it('uses no Node API (browser code)', () => {
    for (const [file, js] of client) {
      expect([file, /\brequire\(|\bprocess\.|\bBuffer\b|['"]node:|__dirname/.test(js)]).toEqual([file, false]);
    }
  });

  it('the example pages import the served client (./client/...), never a path outside /assets', () => {
    const users = [...pages].filter(([, js]) => specifiers(js).some((s) => s.startsWith('./client/')));
    expect(users.map(([f]) => f).sort()).toEqual(expect.arrayContaining(['api.js', 'realtime-client.js', 'stepup.js']));
    for (const [file, js] of pages) {
      for (const spec of specifiers(js)) {
        expect([file, spec.startsWith('../')]).toEqual([file, false]);
        if (spec.startsWith('./client/')) expect(client.has(spec.slice('./client/'.length))).toBe(true);
        // @simplewebauthn/browser's ES module build, served at /assets/simplewebauthn/ (passkeys.js only).
        else if (spec.startsWith('./simplewebauthn/')) expect([file, spec]).toEqual(['passkeys.js', './simplewebauthn/index.js']);
        else expect([file, spec, pages.has(spec.slice(2))]).toEqual([file, spec, true]);
      }
    }
  });

  it('rewrites static, re-export and dynamic imports of ../../client/ only', () => {
    const js = [
      "import { a } from '../../client/index.js';",
      'export { b } from "../../client/http.js";',
      "const m = import('../../client/realtime.js');",
      "import './side.js';",
      "import x from '../../other/client/y.js';",
    ].join('\n');
    expect(rewriteClientImports(js)).toBe(
      [
        "import { a } from './client/index.js';",
        'export { b } from "./client/http.js";',
        "const m = import('./client/realtime.js');",
        "import './side.js';",
        "import x from '../../other/client/y.js';",
      ].join('\n'),
    );
  });
});
