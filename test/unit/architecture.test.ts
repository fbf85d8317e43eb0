/**
 * The layering rules of docs/ARCHITECTURE.md, read from the imports themselves (no extra tool):
 * index.ts -> routes/, strategies/ -> lib/; lib/ never imports express, passport or the layers above;
 * no router imports another router; no import cycle between folders.
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const ROUTERS = ['auth', 'mfa', 'oob', 'account', 'admin', 'webauthn', 'sessions'];

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...files(rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Every module a file imports (static `import`/`export ... from`, `require`, `import()`), as written. */
function importsOf(file: string): string[] {
  const src = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const specs: string[] = [];
  for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"`;]*?from\s*['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) {
    specs.push((m[1] ?? m[2] ?? m[3] ?? m[4])!);
  }
  return specs;
}

/** The repository path an import resolves to (relative imports only), without extension. */
function target(file: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  return path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec)).replace(/\.(ts|js)$/, '');
}

/** A top-level folder, or a concern under lib/ (lib/auth, lib/state...); lib/'s root files are one shared kernel. */
const folderOf = (file: string) => {
  const p = file.replace(/\.(ts|js)$/, '');
  if (!p.includes('/')) return p;
  const parts = p.split('/');
  if (parts[0] !== 'lib') return parts[0]!;
  return parts.length > 2 ? `lib/${parts[1]}` : 'lib';
};

describe('architecture: dependencies point one way', () => {
  const lib = files('lib');
  const routes = files('routes');
  const strategies = files('strategies');

  it('lib/ imports neither express, express-session, passport nor routes/, strategies/ or the entry points', () => {
    const bad: string[] = [];
    for (const f of lib) {
      for (const spec of importsOf(f)) {
        const t = target(f, spec);
        if (/^(express|express-session|passport|passport-local)$/.test(spec)) bad.push(`${f} -> ${spec}`);
        if (t && (t.startsWith('routes') || t.startsWith('strategies') || t === 'index' || t === 'testing')) bad.push(`${f} -> ${t}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('strategies/ import only lib/ (and passport-local); routes/ never import strategies/', () => {
    const bad: string[] = [];
    for (const f of strategies) for (const spec of importsOf(f)) {
      const t = target(f, spec);
      if (t && !t.startsWith('lib/') && !t.startsWith('strategies/')) bad.push(`${f} -> ${t}`);
    }
    for (const f of routes) for (const spec of importsOf(f)) {
      const t = target(f, spec);
      if (t && (t.startsWith('strategies') || t === 'index')) bad.push(`${f} -> ${t}`);
    }
    expect(bad).toEqual([]);
  });

  it('no router imports another router', () => {
    const bad: string[] = [];
    for (const f of routes.filter((r) => ROUTERS.includes(path.basename(r, '.ts')))) {
      for (const spec of importsOf(f)) {
        const t = target(f, spec);
        if (t && t.startsWith('routes/') && ROUTERS.includes(path.basename(t)) && `${t}.ts` !== f) bad.push(`${f} -> ${t}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('no import cycle between folders (top level, and lib/ by concern)', () => {
    const edges = new Map<string, Set<string>>();
    for (const f of [...lib, ...routes, ...strategies]) {
      const from = folderOf(f);
      for (const spec of importsOf(f)) {
        const t = target(f, spec);
        if (!t) continue;
        const to = folderOf(t);
        // The kernel (lib/*.ts: config, context, errors, events, types) is what every concern shares.
        if (to === from || to === 'lib' || from === 'lib') continue;
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from)!.add(to);
      }
    }
    const cycles: string[] = [];
    const visit = (node: string, stack: string[]) => {
      if (stack.includes(node)) {
        cycles.push([...stack.slice(stack.indexOf(node)), node].join(' -> '));
        return;
      }
      for (const next of edges.get(node) ?? []) visit(next, [...stack, node]);
    };
    for (const node of edges.keys()) visit(node, []);
    expect([...new Set(cycles)]).toEqual([]);
  });
});
