import type { Server } from 'node:http';
import type { WebSocket } from 'ws';
import type * as Ws from 'ws';
import { createLocalBus, createRedisBus, type Bus, type ControlMessage } from './bus';
import { setupConnection } from './connection';
import { CLOSE, closeConn, createRevalidation, heartbeat, isCloseCode } from './lifecycle';
import { resolveOptions, type RealtimeOptions } from './options';
import {
  checkId,
  checkSlug,
  companyRoom,
  notificationFrame,
  notificationRoom,
  syncStatusFrame,
  userRoom,
  type NotificationPayload,
  type NotificationTarget,
  type SyncStatusPayload,
} from './protocol';
import { Registry, writeFrame, type Conn } from './registry';
import { createUpgradeHandler } from './upgrade';

export type { RealtimeOptions, RealtimeLogger, SessionStoreLike } from './options';
export type { SyncStatusPayload, NotificationPayload, NotificationTarget, SyncStatus, NotificationLevel } from './protocol';
export type { RealtimeUser } from './session';
export { CLOSE as REALTIME_CLOSE_CODES } from './close-codes';

export interface AttachOptions {
  /** Default `/ws`. Upgrades for other paths are left to other listeners. */
  path?: string;
}

export interface Realtime {
  /** Serve WebSocket upgrades on `server` at `path`; the session cookie is the only credential. */
  attach(server: Server, options?: AttachOptions): void;
  /**
   * Send a sync status to the sockets in tenant `tenantSlug`'s company room, on every process.
   * Throws a TypeError on a bad payload; resolves false (and logs) when Redis could not take it.
   * @example realtime.emitSyncStatus('acme', { status: 'progress', progress: 40 })
   */
  emitSyncStatus(tenantSlug: string, payload: SyncStatusPayload): Promise<boolean>;
  /**
   * Send a notification to one user's sockets (by `{ tenantId, userId }`, or by a bare, globally unique user id).
   * @example realtime.emitNotification({ tenantId, userId }, { level: 'info', title: 'Import done', message: '120 rows' })
   */
  emitNotification(target: NotificationTarget, payload: NotificationPayload): Promise<boolean>;
  /** Close the sockets bound to these session ids on every process (default code 4401). Rejects if Redis fails. */
  closeSessions(sessionIds: string[], code?: number): Promise<void>;
  /** Close every socket of a user on every process (default code 4401). Rejects if Redis fails. */
  closeUser(tenantId: string, userId: string, code?: number): Promise<void>;
  /** Run one revalidation pass now (it also runs every `revalidateIntervalMs`). */
  revalidate(): Promise<void>;
  /** Resolves once the Redis subscriber listens (at once without Redis). */
  ready(): Promise<void>;
  /** Graceful shutdown: sockets closed with 1001, timers cleared, the subscriber quit (not the caller's client). */
  close(): Promise<void>;
  stats(): { sockets: number; rooms: number };
}

const CLOSE_WAIT_MS = 3_000;

/**
 * The realtime server: session-authenticated WebSockets on the host's HTTP server, rooms per user and
 * per tenant, and Redis pub/sub fan-out so any process can emit to any socket.
 *
 * @example
 * const realtime = createRealtime({ sessionStore, secret, allowedOrigins: ['https://app.example.com'], redis });
 * realtime.attach(httpServer, { path: '/ws' });
 * await realtime.emitSyncStatus('acme', { status: 'started' });
 */
export function createRealtime(options: RealtimeOptions): Realtime {
  const opts = resolveOptions(options);
  const registry = new Registry();
  const revalidation = createRevalidation(opts, registry);
  // ws loads here, on first use: hosts without sockets never pay for it at `require()` time.
  const { WebSocketServer } = require('ws') as typeof Ws;
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayloadBytes, perMessageDeflate: false, clientTracking: false });
  const attached = new Map<Server, ReturnType<typeof createUpgradeHandler>>();
  const timers: NodeJS.Timeout[] = [];
  let closing: Promise<void> | null = null;

  function deliver(room: string, frame: Buffer): void {
    const members = registry.members(room);
    if (!members) return;
    let slow = 0;
    const onSlow = (conn: Conn): void => {
      slow += 1;
      registry.remove(conn);
    };
    // The same Buffer goes to every socket: encoded once per process, whatever the room size.
    for (const conn of members) writeFrame(conn, frame, opts.maxBufferedBytes, onSlow);
    if (slow) opts.logger.warn('realtime: slow consumers terminated', { sockets: slow, maxBufferedBytes: opts.maxBufferedBytes });
  }

  function applyControl(msg: ControlMessage): void {
    const code = isCloseCode(msg.code) ? msg.code : CLOSE.sessionEnded;
    const conns =
      msg.t === 'closeSessions'
        ? msg.sids.flatMap((sid) => registry.bySessionId(sid))
        : [...(registry.members(userRoom(msg.tenantId, msg.userId)) ?? [])];
    for (const conn of conns) closeConn(registry, conn, code, 'session ended');
    if (conns.length) opts.logger.info('realtime: sockets closed on request', { sockets: conns.length, code });
  }

  const handlers = { room: deliver, control: applyControl };
  const bus: Bus = opts.redis ? createRedisBus(opts.redis, `${opts.channelPrefix}bus`, handlers, opts.logger, { timeoutMs: opts.redisTimeoutMs }) : createLocalBus(handlers);

  function publishRoom(room: string, frame: string): Promise<boolean> {
    return bus.publishRoom(room, frame).then(
      () => true,
      (err: Error) => {
        opts.logger.warn('realtime: emit failed', { error: err.message });
        return false;
      },
    );
  }

  async function control(msg: ControlMessage): Promise<void> {
    // Close our own sockets at once; other processes get the message over Redis (ours comes back a no-op).
    applyControl(msg);
    if (opts.redis) await bus.publishControl(msg);
  }

  function startTimers(): void {
    if (timers.length) return;
    timers.push(setInterval(() => heartbeat(registry, opts.logger), opts.heartbeatIntervalMs));
    timers.push(
      setInterval(() => {
        revalidation.all().catch((err: Error) => opts.logger.error('realtime: revalidation failed', { error: err.message }));
      }, opts.revalidateIntervalMs),
    );
    for (const t of timers) t.unref();
  }

  return {
    attach(server, attachOptions = {}) {
      const path = attachOptions.path ?? '/ws';
      if (typeof path !== 'string' || !path.startsWith('/') || path.includes('?') || path.includes('#')) {
        throw new TypeError('realtime.attach: option "path" must be an absolute path without query');
      }
      if (closing) throw new Error('realtime.attach: the realtime server is closed');
      if (attached.has(server)) throw new Error('realtime.attach: already attached to this server');
      const handler = createUpgradeHandler({
        opts,
        wss,
        registry,
        path,
        server,
        isClosed: () => closing !== null,
        onConnection: (ws, sid, user) => setupConnection({ opts, registry, revalidation }, ws, sid, user),
      });
      attached.set(server, handler);
      server.on('upgrade', handler);
      startTimers();
    },

    emitSyncStatus(tenantSlug, payload) {
      const slug = checkSlug(tenantSlug);
      const frame = JSON.stringify(syncStatusFrame(slug, payload, opts.now()));
      return publishRoom(companyRoom(slug), frame);
    },

    emitNotification(target, payload) {
      const room = notificationRoom(target);
      const frame = JSON.stringify(notificationFrame(payload, opts.now()));
      return publishRoom(room, frame);
    },

    closeSessions(sessionIds, code = CLOSE.sessionEnded) {
      if (!Array.isArray(sessionIds)) throw new TypeError('realtime.closeSessions: sessionIds must be an array');
      const sids = sessionIds.map((sid) => checkId(sid, 'sessionIds[]'));
      if (!isCloseCode(code)) throw new TypeError('realtime.closeSessions: code must be a valid close code');
      if (sids.length === 0) return Promise.resolve();
      return control({ t: 'closeSessions', sids, code });
    },

    closeUser(tenantId, userId, code = CLOSE.sessionEnded) {
      const t = checkId(tenantId, 'tenantId');
      const u = checkId(userId, 'userId');
      if (!isCloseCode(code)) throw new TypeError('realtime.closeUser: code must be a valid close code');
      return control({ t: 'closeUser', tenantId: t, userId: u, code });
    },

    revalidate: () => revalidation.all(),
    ready: () => bus.ready(),
    stats: () => registry.stats(),

    close() {
      closing ??= (async () => {
        for (const t of timers) clearInterval(t);
        for (const [server, handler] of attached) server.off('upgrade', handler);
        attached.clear();
        const sockets = [...registry.all].map((conn) => conn.ws);
        const closed = Promise.all(sockets.map(waitClosed));
        for (const conn of [...registry.all]) closeConn(registry, conn, CLOSE.goingAway, 'server shutting down');
        // A peer that never answers the close frame is cut after a bounded wait.
        const timer = setTimeout(() => sockets.forEach((ws) => ws.terminate()), CLOSE_WAIT_MS);
        await closed;
        clearTimeout(timer);
        wss.close();
        await bus.close();
      })();
      return closing;
    },
  };
}

function waitClosed(ws: WebSocket): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  return new Promise((resolve) => ws.once('close', () => resolve()));
}
