import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { ResolvedOptions } from './options';
import type { Registry } from './registry';
import { checkSession, loadSession, sessionIdFromCookie, type RealtimeUser } from './session';

const REASONS: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/**
 * The one way an upgrade is refused: a minimal HTTP response, then the socket is destroyed.
 * Nothing is upgraded and no body says why (the reason goes to the log, without cookie or session id).
 */
export function rejectUpgrade(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  // A peer resetting mid-write must not surface as an unhandled 'error' (that would crash the process).
  socket.on('error', () => socket.destroy());
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export interface UpgradeContext {
  opts: ResolvedOptions;
  wss: WebSocketServer;
  registry: Registry;
  path: string;
  server: Server;
  isClosed(): boolean;
  onConnection(ws: WebSocket, sid: string, user: RealtimeUser): void;
}

/** The request path without query string; the query is never read (session ids must not come from the URL). */
function pathOf(url: string | undefined): string | null {
  if (!url) return null;
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * The `upgrade` listener. Checks, in order: path, Origin, session cookie, session state, connection cap
 * (like ws's handleUpgrade, STYLE 10). Authentication happens here, before `handleUpgrade`, not in
 * `verifyClient` (discouraged by ws), so a refused client never gets a WebSocket (MFA-60).
 */
export function createUpgradeHandler(ctx: UpgradeContext): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { opts, registry, wss, server } = ctx;
  const log = (status: number, reason: string, req: IncomingMessage): void =>
    opts.logger.info('realtime: upgrade refused', { status, reason, ip: req.socket.remoteAddress });

  return function onUpgrade(req, socket, head) {
    // 1. Path. Other paths belong to other upgrade listeners; when we are the only one, answer 404 like
    //    Node would have done without any listener (it destroys the socket).
    if (pathOf(req.url) !== ctx.path) {
      if (server.listenerCount('upgrade') <= 1) rejectUpgrade(socket, 404);
      return;
    }
    // A reset during the async checks must not crash the process; ws installs its own handler on upgrade.
    const onError = (): void => {
      socket.destroy();
    };
    socket.on('error', onError);
    const refuse = (status: number, reason: string): void => {
      log(status, reason, req);
      rejectUpgrade(socket, status);
    };
    if (ctx.isClosed()) return refuse(503, 'shutting_down');

    // 2. Origin: exact string match against the normalised allowlist. Browsers always send the serialised
    //    origin, so `null`, other schemes, suffix tricks and case variants all fail (CSWSH, MFA-61).
    //    Old (hybi-08) clients name it Sec-WebSocket-Origin: when present it must pass the same check.
    const origins = [req.headers.origin, req.headers['sec-websocket-origin']].filter((o): o is string => typeof o === 'string');
    if (origins.length === 0) {
      if (!opts.allowMissingOrigin) return refuse(403, 'origin_missing');
    } else if (!origins.every((o) => opts.allowedOrigins.has(o))) {
      return refuse(403, 'origin_not_allowed');
    }

    // 3. Session cookie, unsigned with the app's secret(s). Nothing else identifies the session.
    const sid = sessionIdFromCookie(req.headers.cookie, opts.cookieName, opts.secrets);
    if (!sid) return refuse(401, 'no_valid_cookie');

    loadSession(opts.sessionStore, sid, opts.sessionLoadTimeoutMs).then(
      (data) => {
        if (socket.destroyed) {
          socket.off('error', onError);
          return;
        }
        if (ctx.isClosed()) return refuse(503, 'shutting_down');
        // 4. State: a full MFA session only.
        const verdict = checkSession(data, { minAal: opts.minAal, now: opts.now(), isSessionValid: opts.isSessionValid });
        if (!verdict.ok) return refuse(401, verdict.reason);
        // 5. Connection cap per user (per process). The slot is held until the socket is registered.
        if (!registry.reserve(verdict.user, opts.maxConnectionsPerUser)) return refuse(429, 'too_many_connections');
        socket.off('error', onError);
        // ws completes (or aborts) the handshake synchronously here, so the reserved slot can be
        // released right after: on success the socket already counts in its user room.
        try {
          wss.handleUpgrade(req, socket, head, (ws) => ctx.onConnection(ws, sid, verdict.user));
        } catch (err) {
          opts.logger.error('realtime: handleUpgrade failed', { error: (err as Error).message });
          socket.destroy();
        } finally {
          registry.release(verdict.user);
        }
      },
      () => refuse(503, 'session_store_unavailable'),
    );
  };
}
