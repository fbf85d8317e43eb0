import { Router, type Request, type Response } from 'express';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type TypeScript from 'typescript';

/**
 * The example app's front end: static HTML pages (one layout, one module script each), one
 * stylesheet, and browser TypeScript from `example-app/public/` transpiled once at start (no
 * bundler: each file becomes an ES module at `/assets/<name>.js`), and the package's browser client
 * (`client/`) at `/assets/client/<name>.js`. No inline script or style, so the CSP can say
 * `script-src 'self'; style-src 'self'`.
 */

const PAGES_DIR = __dirname;
const PUBLIC_DIR = path.join(__dirname, '..', 'public');
/** passport-stepup's browser client (`passport-stepup/client`), served at `/assets/client/<name>.js`. */
const CLIENT_DIR = path.join(__dirname, '..', '..', 'client');
/** @simplewebauthn/browser's ES module build (passkeys), served at `/assets/simplewebauthn/<path>`. */
const WEBAUTHN_BROWSER_DIR = path.join(path.dirname(require.resolve('@simplewebauthn/browser')), '..', 'esm');

/** Page name -> path it is served at. */
export const PAGES: Record<string, string> = {
  dashboard: '/',
  login: '/login',
  challenge: '/challenge',
  enrol: '/enrol',
  security: '/security',
  admin: '/admin',
  // Account lifecycle: the mails' links point here (app.ts sets them as the plugin's `lifecycle.links`).
  register: '/register',
  'verify-email': '/verify-email',
  'forgot-password': '/forgot-password',
  'reset-password': '/reset-password',
};

export interface LayoutInput {
  title: string;
  nav: 'app' | 'public';
  /** Module at `/assets/<script>.js`. */
  script?: string;
  main: string;
  devOutbox: boolean;
}

const layoutHtml = readFileSync(path.join(PAGES_DIR, 'layout.html'), 'utf8');
const navHtml = { app: readFileSync(path.join(PAGES_DIR, 'nav-app.html'), 'utf8'), public: readFileSync(path.join(PAGES_DIR, 'nav-public.html'), 'utf8') };

/** Fills the layout. Values are the app's own templates (or escaped text), never raw user input. */
export function renderLayout(input: LayoutInput): string {
  const base = assetBundle().base;
  const nav = navHtml[input.nav].replace('{{outbox}}', input.devOutbox ? '<li><a href="/dev/outbox">Dev outbox</a></li>' : '');
  const script = input.script ? `<script type="module" src="${base}/${input.script}.js"></script>` : '';
  return layoutHtml
    .replaceAll('{{assets}}', base)
    .replace('{{title}}', input.title)
    .replace('{{script}}', script)
    .replace('{{nav}}', nav)
    .replace('{{main}}', input.main);
}

/** A page file starts with `<!-- title: ...; nav: app|public -->`; the script has the page's name. */
function loadPage(name: string, devOutbox: boolean): string {
  const raw = readFileSync(path.join(PAGES_DIR, `${name}.html`), 'utf8');
  const meta = /^<!--\s*title:\s*([^;]+);\s*nav:\s*(app|public)\s*-->\s*/.exec(raw);
  if (!meta) throw new Error(`example-app/pages/${name}.html: first line must be <!-- title: ...; nav: app|public -->`);
  return renderLayout({ title: meta[1]!.trim(), nav: meta[2] as 'app' | 'public', script: name, main: raw.slice(meta[0].length), devOutbox });
}

/**
 * The pages import the client as `../../client/<name>.js` (the path in this repository, so `tsc`
 * checks them against it); served, that module is `/assets/client/<name>.js`, next to the page's own.
 */
export function rewriteClientImports(js: string): string {
  return js
    .replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])\.\.\/\.\.\/client\//g, '$1$2./client/')
    .replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])@simplewebauthn\/browser\2/g, '$1$2./simplewebauthn/index.js$2');
}

/** Every `.js` under `dir` (relative path -> source), for a library's ES module build. */
function esmFiles(dir: string, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory()) for (const [k, v] of esmFiles(path.join(dir, entry.name), `${rel}/`)) out.set(k, v);
    else if (entry.name.endsWith('.js')) out.set(rel, readFileSync(path.join(dir, entry.name), 'utf8'));
  }
  return out;
}

/**
 * Transpiled modules are kept on disk by the hash of their source: a restart (or the next test file
 * starting the app) neither loads the TypeScript compiler nor transpiles again.
 */
const CACHE_DIR = path.join(os.tmpdir(), 'passport-stepup-example-assets');
let typescript: typeof TypeScript | undefined;
let tsVersion: string | undefined;

function transpileOne(file: string, source: string): string {
  tsVersion ??= (JSON.parse(readFileSync(require.resolve('typescript/package.json'), 'utf8')) as { version: string }).version;
  const key = createHash('sha256').update(`es2020 ${tsVersion}\0`).update(file).update('\0').update(source).digest('hex');
  const cached = path.join(CACHE_DIR, `${key}.js`);
  try {
    return readFileSync(cached, 'utf8');
  } catch {
    /* not transpiled yet */
  }
  const ts = (typescript ??= require('typescript') as typeof TypeScript);
  const js = ts.transpileModule(source, {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ES2020, target: ts.ScriptTarget.ES2020, removeComments: false, sourceMap: false },
  }).outputText;
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    // Written aside, then renamed: a concurrent start never reads half a file.
    const tmp = `${cached}.${process.pid}.tmp`;
    writeFileSync(tmp, js);
    renameSync(tmp, cached);
  } catch {
    /* a read-only temp dir: transpile again next time */
  }
  return js;
}

/** Every `*.ts` of `dir` as an ES2020 module; import specifiers already end in `.js`. */
export function transpileAssets(dir = PUBLIC_DIR): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
    const source = readFileSync(path.join(dir, file), 'utf8');
    out.set(`${file.slice(0, -3)}.js`, rewriteClientImports(transpileOne(file, source)));
  }
  return out;
}

const STATIC_TYPES: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

interface AssetBundle {
  scripts: Map<string, string>;
  clientScripts: Map<string, string>;
  webauthnScripts: Map<string, string>;
  statics: Map<string, { type: string; body: Buffer }>;
  /** `/assets/v/<hash of every asset>`: the pages load their modules from here, cached for good. */
  base: string;
}

let bundle: AssetBundle | undefined;

/**
 * Everything under `/assets`, read and transpiled once per process. The pages name their modules and
 * stylesheet under a path holding a hash of all of them, served `immutable`: a browser loads a page's
 * modules (about 35, with the passkey library) once, not again at every navigation, and new code means
 * a new path. The plain `/assets/<file>` paths stay (revalidated every time) for anything that links them.
 */
function assetBundle(): AssetBundle {
  if (bundle) return bundle;
  const scripts = transpileAssets();
  const clientScripts = transpileAssets(CLIENT_DIR);
  const webauthnScripts = esmFiles(WEBAUTHN_BROWSER_DIR);
  const statics = new Map<string, { type: string; body: Buffer }>();
  for (const file of readdirSync(PUBLIC_DIR)) {
    const type = STATIC_TYPES[path.extname(file)];
    if (type) statics.set(file, { type, body: readFileSync(path.join(PUBLIC_DIR, file)) });
  }
  const hash = createHash('sha256');
  for (const [prefix, files] of [['', scripts], ['client/', clientScripts], ['simplewebauthn/', webauthnScripts]] as const) {
    for (const [name, js] of [...files].sort(([a], [b]) => a.localeCompare(b))) hash.update(`${prefix}${name}\0${js}\0`);
  }
  for (const [name, a] of [...statics].sort(([x], [y]) => x.localeCompare(y))) hash.update(name).update('\0').update(a.body);
  bundle = { scripts, clientScripts, webauthnScripts, statics, base: `/assets/v/${hash.digest('hex').slice(0, 16)}` };
  return bundle;
}

/**
 * The modules, stylesheet and icon, relative to where they are mounted (`/assets` or the hashed path).
 * `cacheFor(req)` is the Cache-Control of a file found (a miss falls through to the 404 page, uncached).
 */
function assetRoutes(b: AssetBundle, cacheFor: (req: Request) => string): Router {
  const r = Router();
  const send = (req: Request, res: Response, type: string, body: string | Buffer) => res.set('Cache-Control', cacheFor(req)).type(type).send(body);
  const JS = 'text/javascript; charset=utf-8';
  r.get('/:file', (req, res, next) => {
    const file = req.params.file as string;
    const script = b.scripts.get(file);
    if (script !== undefined) return send(req, res, JS, script);
    const asset = b.statics.get(file);
    if (asset) return send(req, res, asset.type, asset.body);
    next();
  });
  r.get('/client/:file', (req, res, next) => {
    const script = b.clientScripts.get(req.params.file as string);
    if (script === undefined) return next();
    send(req, res, JS, script);
  });
  // The passkey pages' browser library: its files import each other by relative path.
  r.get(/^\/simplewebauthn\/([a-zA-Z0-9_/.-]+\.js)$/, (req, res, next) => {
    const script = b.webauthnScripts.get((req.params as unknown as string[])[0] ?? '');
    if (script === undefined) return next();
    send(req, res, JS, script);
  });
  return r;
}

/**
 * `/assets/...` and `/favicon.ico`: mounted before the session middleware (app.ts), so a page's
 * modules, stylesheet and icon never load a session (express-session would read it for each of them).
 */
export function assetsRouter(): Router {
  const r = Router();
  const b = assetBundle();
  // The hashed path is immutable; a page from an earlier build (another hash) gets today's files, revalidated.
  r.use('/assets/v/:build', assetRoutes(b, (req) => (req.baseUrl === b.base ? 'public, max-age=31536000, immutable' : 'no-cache')));
  r.use('/assets', assetRoutes(b, () => 'no-cache'));
  r.get('/favicon.ico', (_req, res) => res.redirect(302, `${b.base}/icon.svg`));
  return r;
}

export function pagesRouter(opts: { devOutbox: boolean }): Router {
  const r = Router();
  const pages = new Map(Object.entries(PAGES).map(([name, at]) => [at, loadPage(name, opts.devOutbox)]));

  const html = (res: Response, body: string) => {
    // Pages are the same for everyone; what they show comes from the API, so they may be cached briefly.
    res.set('Cache-Control', 'no-cache').type('html').send(body);
  };
  for (const [at, body] of pages) r.get(at, (_req, res) => html(res, body));
  // `/enroll` is a common spelling; one page, one URL.
  r.get('/enroll', (req, res) => res.redirect(302, `/enrol${req.url.slice('/enroll'.length)}`));

  // Anything else: a page for people, the contract's JSON for programs.
  r.use((req, res) => {
    res.status(404);
    if (req.method === 'GET' && req.accepts(['json', 'html']) === 'html') {
      const main = '<h1>Page not found</h1><p class="lead">There is nothing at this address.</p><p><a class="button primary" href="/">Go to the dashboard</a></p>';
      return res.type('html').send(renderLayout({ title: 'Not found', nav: 'public', main, devOutbox: opts.devOutbox }));
    }
    res.json({ error: 'not_found', message: 'Not found.' });
  });
  return r;
}
