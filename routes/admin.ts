import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { StepUpContext } from '../lib/context';
import { StepUpError } from '../lib/errors';
import { requireAuth, requireStepUp } from './guards';
import { provisionTenant, provisionUser, resetUserMfa, setUserDisabled, updateTenantPolicy } from '../lib/admin/actions';
import { policyView } from '../lib/admin/policy';
import { loadActor, tenantInScope, type Actor } from '../lib/admin/scope';
import { auditView, tenantView, userView } from '../lib/admin/views';
import type { TenantRecord } from '../lib/types';
import { body, h, metaOf, sendError } from './http';

// Every route: aal 2, then admin or superadmin (re-read from the store), then the path's tenant
// checked against the actor: a superadmin may act on every tenant, an admin on its own only
// (another slug: 403 `forbidden`; a user id of another tenant under its own slug: 404 `not_found`).
// Tenant hints in headers, query or body are never read; bodies are strict (unknown field: 400).

import { adminEmpty as empty, auditQuery, createTenantBody, createUserBody, listQuery, nonEmptyPolicyPatch, userId } from './schemas';

function query<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  const res = schema.safeParse(req.query ?? {});
  if (!res.success) throw new StepUpError('invalid_request', `Query parameter "${res.error.issues[0]?.path.join('.') || 'query'}" is invalid.`);
  return res.data;
}

function limitOf(raw: string | undefined, def: number, max: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (n < 1 || n > max) throw new StepUpError('invalid_request', `Query parameter "limit" must be 1 to ${max}.`);
  return n;
}

const actorOf = (res: Response): Actor => res.locals.stepUpActor as Actor;
const tenantOf = (res: Response): TenantRecord => res.locals.stepUpTenant as TenantRecord;

export function adminRoutes(ctx: StepUpContext): Router {
  const r = Router();

  const actor: RequestHandler = (req, res, next) => {
    loadActor(ctx, req.user).then((a) => {
      res.locals.stepUpActor = a;
      next();
    }, next);
  };
  const superadminOnly: RequestHandler = (_req, res, next) => (actorOf(res).superadmin ? next() : sendError(res, new StepUpError('forbidden')));
  const scoped: RequestHandler = (req, res, next) => {
    tenantInScope(ctx, actorOf(res), String(req.params.slug ?? '')).then((t) => {
      res.locals.stepUpTenant = t;
      next();
    }, next);
  };
  // Scope first, then freshness: a cross-tenant call is refused the same way, stale or not.
  const stepUp = requireStepUp(ctx);

  // Only the plugin's own namespace is guarded: a host may serve its own pages under the same mount
  // (the example app's `/admin` page), and those fall through untouched.
  r.use('/tenants', requireAuth(ctx, { aal: 2 }), actor, (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  r.post(
    '/tenants',
    superadminOnly,
    h(async (req, res) => {
      const input = body(createTenantBody, req);
      const out = await provisionTenant(ctx, metaOf(req), actorOf(res), input);
      res.status(201).json({ tenant: tenantView(out.tenant), admin: { id: out.admin.id, email: out.admin.email }, initialPassword: out.initialPassword });
    }),
  );

  r.get(
    '/tenants',
    superadminOnly,
    h(async (_req, res) => {
      res.json({ tenants: (await ctx.tenants.list()).map(tenantView) });
    }),
  );

  r.get(
    '/tenants/:slug/users',
    scoped,
    h(async (req, res) => {
      const q = query(listQuery, req);
      const limit = limitOf(q.limit, 50, 100);
      const users = await ctx.users.list(tenantOf(res).id, { limit, after: q.after });
      res.json({ users: users.map(userView), next: users.length === limit ? users[users.length - 1]!.id : null });
    }),
  );

  r.post(
    '/tenants/:slug/users',
    scoped,
    h(async (req, res) => {
      const input = body(createUserBody, req);
      const out = await provisionUser(ctx, metaOf(req), actorOf(res), tenantOf(res), input);
      res.status(201).json({ user: userView(out.user), initialPassword: out.initialPassword });
    }),
  );

  r.post(
    '/tenants/:slug/users/:id/mfa/reset',
    scoped,
    stepUp,
    h(async (req, res) => {
      body(empty, req);
      const id = userId.safeParse(req.params.id);
      if (!id.success) throw new StepUpError('not_found');
      await resetUserMfa(ctx, metaOf(req), actorOf(res), tenantOf(res), id.data);
      res.status(204).end();
    }),
  );

  // Disable / enable an account (step-up, audited): a disabled user's sessions and sockets end at once.
  for (const action of ['disable', 'enable'] as const) {
    r.post(
      `/tenants/:slug/users/:id/${action}`,
      scoped,
      stepUp,
      h(async (req, res) => {
        body(empty, req);
        const id = userId.safeParse(req.params.id);
        if (!id.success) throw new StepUpError('not_found');
        const out = await setUserDisabled(ctx, metaOf(req), actorOf(res), tenantOf(res), id.data, action === 'disable');
        res.json({ user: userView(out.user), sessionsEnded: out.sessionsEnded });
      }),
    );
  }

  r.patch(
    '/tenants/:slug/policy',
    scoped,
    stepUp,
    h(async (req, res) => {
      const patch = body(nonEmptyPolicyPatch, req);
      const updated = await updateTenantPolicy(ctx, metaOf(req), actorOf(res), tenantOf(res), patch);
      res.json(policyView(updated.policy));
    }),
  );

  r.get(
    '/tenants/:slug/audit',
    scoped,
    h(async (req, res) => {
      const q = query(auditQuery, req);
      const limit = limitOf(q.limit, 50, 200);
      const events = await ctx.audit.list(tenantOf(res).id, { limit, before: q.before ? new Date(q.before) : undefined });
      const last = events[events.length - 1];
      res.json({ events: events.map(auditView), next: events.length === limit && last ? new Date(last.at).toISOString() : null });
    }),
  );

  // Anything else under /tenants is a JSON 404 (after the auth and role checks above).
  r.use('/tenants', (_req, res) => sendError(res, new StepUpError('not_found')));

  return r;
}
