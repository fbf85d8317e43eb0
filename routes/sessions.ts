import { Router, type Request } from 'express';
import type { StepUpContext } from '../lib/context';
import { StepUpError } from '../lib/errors';
import { deviceView, forgetDevice, currentDeviceId } from '../lib/auth/devices';
import { dropSessionMeta, methodsOf, publicSessionId, readSessionMeta, sessionIdFor, summariseUserAgent, type SessionMeta } from '../lib/auth/session-meta';
import { requireAuth } from './guards';
import { clearDeviceCookie, readDeviceCookie } from './device-cookie';
import { end, mfaOf } from './http-session';
import { h, metaOf } from './http';

/** At most this many sessions in one answer (`truncated: true` says there are more). */
export const SESSION_LIST_CAP = 50;

import { sessionIdParam as idParam } from './schemas';

function param(req: Request): string {
  const r = idParam.safeParse(req.params.id);
  // An id that cannot be one is as unknown as any other.
  if (!r.success) throw new StepUpError('not_found');
  return r.data;
}

/**
 * `GET /auth/sessions`, `DELETE /auth/sessions/:id`, `GET /auth/devices`, `DELETE /auth/devices/:id`:
 * where the user is signed in (from the user -> sessions index and one small record per session, never
 * by loading the sessions) and which browsers are remembered. Ids are opaque: a session id is a bearer
 * secret and never leaves the server.
 */
export function sessionRoutes(ctx: StepUpContext): Router {
  const r = Router();
  const auth = requireAuth(ctx);

  r.get(
    '/sessions',
    auth,
    h(async (req, res) => {
      const u = req.user!;
      const now = ctx.now();
      const idle = ctx.opts.session.idleTimeoutSeconds * 1000;
      const all = await ctx.sessions.list(u.tenantId, u.id);
      // This session first, so it is always in the answer however long the index is.
      const others = all.filter((sid) => sid !== req.sessionID);
      const ids = [req.sessionID, ...others].slice(0, SESSION_LIST_CAP);
      const records = await Promise.all(ids.map((sid) => (sid === req.sessionID ? null : readSessionMeta(ctx, u.tenantId, u.id, sid))));
      const stale: string[] = [];
      const sessions = [];
      for (let i = 0; i < ids.length; i++) {
        const sid = ids[i]!;
        const current = sid === req.sessionID;
        const m: SessionMeta | null = current ? await currentMeta(ctx, req) : records[i]!;
        const dead = !m || now >= m.expiresAt || (m.state === 'authenticated' && now - m.lastSeen >= idle);
        if (dead && !current) {
          stale.push(sid);
          continue;
        }
        sessions.push({
          id: publicSessionId(ctx, sid),
          current,
          state: m!.state,
          createdAt: new Date(m!.createdAt).toISOString(),
          lastSeenAt: new Date(m!.lastSeen).toISOString(),
          ip: m!.ip,
          userAgent: m!.userAgent,
          aal: m!.aal,
          methods: m!.methods,
        });
      }
      // Ended or expired sessions leave the index as they are found (a session made a moment ago has
      // its record already: it is written before the index entry).
      await Promise.all(stale.map((sid) => ctx.sessions.remove(u.tenantId, u.id, sid)));
      sessions.sort((a, b) => (a.current ? -1 : b.current ? 1 : b.lastSeenAt.localeCompare(a.lastSeenAt)));
      res.set('Cache-Control', 'no-store');
      res.json({ sessions, truncated: all.length > SESSION_LIST_CAP });
    }),
  );

  r.delete(
    '/sessions/:id',
    auth,
    h(async (req, res) => {
      const u = req.user!;
      const publicId = param(req);
      const sid = sessionIdFor(ctx, await ctx.sessions.list(u.tenantId, u.id), publicId);
      // Not one of the user's sessions: 404 whether or not it exists for someone else.
      if (!sid) throw new StepUpError('not_found');
      const meta = metaOf(req);
      const ended = await readSessionMeta(ctx, u.tenantId, u.id, sid);
      const details = { session: publicId, userAgent: ended?.userAgent ?? null, current: sid === req.sessionID };
      if (sid === req.sessionID) {
        await end(ctx, req, res, 'logout');
      } else {
        // Destroyed in the store first (a tombstone: a request still in flight cannot bring it back),
        // then out of the index, then its sockets close (`sessions_ended`).
        await new Promise<void>((resolve, reject) => req.sessionStore.destroy(sid, (err?: unknown) => (err ? reject(err) : resolve())));
        await ctx.sessions.ended(u.tenantId, u.id, sid, 'logout');
      }
      await dropSessionMeta(ctx, u.tenantId, u.id, sid);
      await ctx.record(meta, { tenantId: u.tenantId, userId: u.id, actorId: u.id, type: 'session_ended_by_user', details });
      res.status(204).end();
    }),
  );

  r.get(
    '/devices',
    auth,
    h(async (req, res) => {
      const u = req.user!;
      const [user, tenant] = await Promise.all([ctx.users.findById(u.tenantId, u.id), ctx.tenants.findById(u.tenantId)]);
      if (!user || !tenant) throw new StepUpError('unauthenticated');
      res.set('Cache-Control', 'no-store');
      res.json({ devices: deviceView(ctx, user, tenant, readDeviceCookie(ctx, req)), rememberDeviceDays: tenant.policy.rememberDeviceDays ?? 0 });
    }),
  );

  r.delete(
    '/devices/:id',
    auth,
    h(async (req, res) => {
      const u = req.user!;
      const id = param(req);
      const user = await ctx.users.findById(u.tenantId, u.id);
      if (!user) throw new StepUpError('unauthenticated');
      const cookie = readDeviceCookie(ctx, req);
      const isCurrent = currentDeviceId(ctx, user, cookie) === id;
      if (!(await forgetDevice(ctx, metaOf(req), u.tenantId, u.id, id))) throw new StepUpError('not_found');
      if (isCurrent) clearDeviceCookie(ctx, req, res);
      res.status(204).end();
    }),
  );

  return r;
}

/** This session's record, from the session itself (always up to date). */
async function currentMeta(ctx: StepUpContext, req: Request): Promise<SessionMeta> {
  const mfa = mfaOf(req)!;
  const u = req.user!;
  const stored = await readSessionMeta(ctx, u.tenantId, u.id, req.sessionID);
  const now = ctx.now();
  return {
    state: mfa.state,
    createdAt: mfa.authTime ?? stored?.createdAt ?? now,
    lastSeen: mfa.lastSeen ?? now,
    expiresAt: (mfa.authTime ?? now) + ctx.opts.session.absoluteTimeoutSeconds * 1000,
    ip: stored?.ip ?? req.ip ?? null,
    userAgent: stored?.userAgent ?? summariseUserAgent(req.get('user-agent')),
    aal: mfa.aal ?? 1,
    methods: methodsOf(mfa),
  };
}
