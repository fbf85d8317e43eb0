/**
 * A tiny Express app for the realtime suites: express-session on a given store plus test-only routes that
 * write the session shape the core writes (`session.mfa`, `session.passport.user`). It does not use the
 * core's routes, so these suites test lib/realtime alone.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session, { type Store } from 'express-session';
import { createRealtime, type Realtime, type RealtimeOptions } from '../../lib/realtime';

export const ORIGIN = 'https://app.example.com';
export const SECRET = 'realtime-test-secret-0123456789abcdef';

export interface LoginInput {
  state?: 'authenticated' | 'mfa_required' | 'enrollment_required';
  userId?: string;
  tenantId?: string;
  tenant?: string;
  aal?: 1 | 2;
  lastSeen?: number;
  /** Leave out `session.passport` (an anonymous or pending session). */
  noUser?: boolean;
}

export interface Login {
  /** `name=value` for a Cookie header. */
  cookie: string;
  sid: string;
}

export interface RealtimeTestApp {
  server: http.Server;
  realtime: Realtime;
  store: Store;
  baseUrl: string;
  wsUrl: string;
  login(input?: LoginInput): Promise<Login>;
  /** Like the core's logout: destroy the session, then close its sockets on every process. */
  logout(login: Login): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  store?: Store;
  /** Secret(s) express-session signs with (the first one signs). */
  sessionSecret?: string | string[];
  cookieName?: string;
  realtime?: Partial<RealtimeOptions>;
  path?: string;
}

export async function startRealtimeApp(options: StartOptions = {}): Promise<RealtimeTestApp> {
  const store = options.store ?? new session.MemoryStore();
  const secret = options.sessionSecret ?? SECRET;
  const cookieName = options.cookieName ?? 'connect.sid';
  const app = express();
  app.use(express.json());
  app.use(session({ secret, store, name: cookieName, resave: false, saveUninitialized: false }));

  const server = http.createServer(app);
  const realtime = createRealtime({
    sessionStore: store,
    secret,
    cookieName,
    allowedOrigins: [ORIGIN],
    ...options.realtime,
  });

  app.post('/test/login', (req, res, next) => {
    const body = (req.body ?? {}) as LoginInput;
    const s = req.session as unknown as Record<string, unknown>;
    s.mfa = { state: body.state ?? 'authenticated', aal: body.aal ?? 2, authTime: Date.now(), lastSeen: body.lastSeen ?? Date.now() };
    if (!body.noUser) {
      s.passport = {
        user: {
          id: body.userId ?? 'u1',
          tenantId: body.tenantId ?? 't1',
          tenant: body.tenant ?? 'acme',
          email: `${body.userId ?? 'u1'}@example.com`,
          roles: ['user'],
        },
      };
    }
    req.session.save((err) => (err ? next(err) : res.json({ sid: req.sessionID })));
  });

  app.post('/test/logout', (req, res, next) => {
    const sid = req.sessionID;
    req.session.destroy((err) => {
      if (err) return next(err);
      realtime.closeSessions([sid]).then(() => res.status(204).end(), next);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  realtime.attach(server, { path: options.path ?? '/ws' });
  await realtime.ready();

  return {
    server,
    realtime,
    store,
    baseUrl,
    wsUrl: `ws://127.0.0.1:${port}${options.path ?? '/ws'}`,
    login: (input = {}) => loginAt(baseUrl, cookieName, input),
    async logout(login) {
      const res = await fetch(`${baseUrl}/test/logout`, { method: 'POST', headers: { cookie: login.cookie } });
      if (res.status !== 204) throw new Error(`logout answered ${res.status}`);
    },
    async close() {
      await realtime.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Log in through `baseUrl` (any app sharing the store will accept the cookie). */
export async function loginAt(baseUrl: string, cookieName: string, input: LoginInput = {}): Promise<Login> {
  const res = await fetch(`${baseUrl}/test/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  if (res.status !== 200) throw new Error(`login answered ${res.status}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0] ?? '';
  if (!cookie.startsWith(`${cookieName}=`)) throw new Error('login set no session cookie');
  const { sid } = (await res.json()) as { sid: string };
  return { cookie, sid };
}

/** Store helpers as promises. */
export function destroySession(store: Store, sid: string): Promise<void> {
  return new Promise((resolve, reject) => store.destroy(sid, (err?: unknown) => (err ? reject(err) : resolve())));
}
