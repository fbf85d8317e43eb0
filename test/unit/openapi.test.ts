/**
 * docs/openapi.json is generated (scripts/openapi.ts) from routes/schemas.ts, the module the routes
 * validate with: it must be current, and must describe exactly the routes the routers mount.
 */
import { readFileSync } from 'node:fs';
import { OPENAPI_JSON, openApiDocument, openApiText } from '../../scripts/openapi';
import { buildApp } from '../helpers/app';
import { ROUTES, loginBody } from '../../routes/schemas';

interface Layer {
  rawPath?: string;
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** `METHOD /path` of every route an Express 5 router mounts, nested routers included. */
function mounted(stack: Layer[], prefix: string): string[] {
  const out: string[] = [];
  for (const l of stack) {
    if (l.route) {
      for (const m of Object.keys(l.route.methods)) if (m !== '_all') out.push(`${m.toUpperCase()} ${prefix}${l.route.path}`);
    } else if (l.handle?.stack) {
      out.push(...mounted(l.handle.stack, prefix + (l.rawPath && l.rawPath !== '/' ? l.rawPath : '')));
    }
  }
  return out;
}

describe('OpenAPI document', () => {
  it('docs/openapi.json is up to date (run `npm run docs`)', () => {
    expect(readFileSync(OPENAPI_JSON, 'utf8')).toBe(openApiText());
  });

  it('describes exactly the routes stepUp.router (/auth) and stepUp.adminRouter (/admin) mount', async () => {
    const t = buildApp();
    const live = [
      ...mounted((t.stepUp.router as unknown as { stack: Layer[] }).stack, '/auth'),
      ...mounted((t.stepUp.adminRouter as unknown as { stack: Layer[] }).stack, '/admin'),
    ];
    await t.close();
    const documented = ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect([...new Set(live)].sort()).toEqual([...documented].sort());
  });

  it('is OpenAPI 3.1 with request schemas from the zod objects the routes use', () => {
    const doc = openApiDocument() as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { required?: string[]; additionalProperties?: boolean } }> } }>> };
    expect(doc.openapi).toBe('3.1.0');
    const login = doc.paths['/auth/login']!.post!.requestBody!.content['application/json']!.schema;
    expect(login.required).toEqual(Object.keys(loginBody.shape));
    expect(login.additionalProperties).toBe(false);
    expect(doc.paths['/admin/tenants/{slug}/users/{id}/disable']).toBeDefined();
  });
});
