import type { RawData, WebSocket } from 'ws';
import type { ResolvedOptions } from './options';
import { companyRoom, encodeFrame, parseClientMessage, userIdRoom, userRoom, type ClientMessage, type ProtocolError } from './protocol';
import { writeFrame, type Conn, type Registry } from './registry';
import type { RealtimeUser } from './session';
import { closeConn, CLOSE, type Revalidation } from './lifecycle';

export interface ConnectionContext {
  opts: ResolvedOptions;
  registry: Registry;
  revalidation: Revalidation;
}

function send(ctx: ConnectionContext, conn: Conn, frame: Record<string, unknown>): void {
  writeFrame(conn, encodeFrame(frame), ctx.opts.maxBufferedBytes, () => slow(ctx, conn));
}

function slow(ctx: ConnectionContext, conn: Conn): void {
  ctx.registry.remove(conn);
  ctx.opts.logger.warn('realtime: slow consumer terminated', { maxBufferedBytes: ctx.opts.maxBufferedBytes });
}

function sendError(ctx: ConnectionContext, conn: Conn, error: ProtocolError): void {
  send(ctx, conn, { type: 'error', error });
}

/** Token bucket: `maxMessagesPerMinute` capacity, refilled continuously on the injected clock. */
function takeToken(conn: Conn, perMinute: number, now: number): boolean {
  const elapsed = Math.max(0, now - conn.lastRefill);
  conn.tokens = Math.min(perMinute, conn.tokens + (elapsed * perMinute) / 60_000);
  conn.lastRefill = now;
  if (conn.tokens < 1) return false;
  conn.tokens -= 1;
  return true;
}

async function handle(ctx: ConnectionContext, conn: Conn, msg: ClientMessage): Promise<void> {
  switch (msg.type) {
    case 'ping':
      send(ctx, conn, { type: 'pong' });
      return;
    case 'joinCompany': {
      // The slug a client names is only compared, never used to build a room name: the room comes
      // from the session's own tenant (MFA-65, tenant isolation).
      if (msg.tenant !== conn.user.tenant) return sendError(ctx, conn, 'forbidden');
      // Joining a tenant's room is privileged: re-check the session first (MFA-63).
      const valid = await ctx.revalidation.checkSid(conn.sid);
      if (!valid || conn.closed) return;
      ctx.registry.join(conn, companyRoom(conn.user.tenant));
      send(ctx, conn, { type: 'joinedCompany', tenant: conn.user.tenant });
      return;
    }
    case 'leaveCompany':
      if (msg.tenant !== conn.user.tenant) return sendError(ctx, conn, 'forbidden');
      ctx.registry.leave(conn, companyRoom(conn.user.tenant));
      send(ctx, conn, { type: 'leftCompany', tenant: conn.user.tenant });
      return;
  }
}

/** Wire up a freshly upgraded socket: register it, join the user's rooms, handle its messages. */
export function setupConnection(ctx: ConnectionContext, ws: WebSocket, sid: string, user: RealtimeUser): Conn {
  const { opts, registry } = ctx;
  const conn: Conn = {
    ws,
    sid,
    user,
    rooms: new Set(),
    alive: true,
    closed: false,
    tokens: opts.maxMessagesPerMinute,
    lastRefill: opts.now(),
    queue: Promise.resolve(),
  };
  registry.add(conn);
  registry.join(conn, userRoom(user.tenantId, user.id));
  registry.join(conn, userIdRoom(user.id));

  ws.on('pong', () => {
    conn.alive = true;
  });
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (conn.closed) return;
    if (!takeToken(conn, opts.maxMessagesPerMinute, opts.now())) {
      opts.logger.warn('realtime: message rate limit exceeded', { maxMessagesPerMinute: opts.maxMessagesPerMinute });
      closeConn(registry, conn, CLOSE.policy, 'rate limit');
      return;
    }
    const parsed = parseClientMessage(data, isBinary);
    // Answers (errors included) go out in the order the messages came in.
    conn.queue = conn.queue
      .then(() => {
        if (conn.closed) return undefined;
        if (!parsed.ok) return sendError(ctx, conn, parsed.error);
        return handle(ctx, conn, parsed.msg);
      })
      .catch((err: Error) => opts.logger.error('realtime: message handler failed', { error: err.message }));
  });
  ws.on('close', () => {
    conn.closed = true;
    registry.remove(conn);
  });
  ws.on('error', (err: Error & { code?: string }) => {
    // ws closes the socket itself (e.g. 1009 for an oversize message); log the code, never the data.
    opts.logger.info('realtime: socket error', { code: err.code });
  });

  send(ctx, conn, { type: 'joined', userId: user.id });
  return conn;
}
