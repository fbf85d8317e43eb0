import type { WebSocket } from 'ws';
import type { RealtimeUser } from './session';
import { userRoom } from './protocol';

/** One open socket and what it is bound to. */
export interface Conn {
  ws: WebSocket;
  /** Session id the socket was authenticated with; kept only in memory, never logged. */
  sid: string;
  user: RealtimeUser;
  rooms: Set<string>;
  /** Answered the last heartbeat ping. */
  alive: boolean;
  /** Set as soon as we decide to close: later messages are not processed (MFA-63). */
  closed: boolean;
  /** Token bucket for the message rate limit. */
  tokens: number;
  lastRefill: number;
  /** Messages are handled one after another, so an async re-check cannot reorder join/leave. */
  queue: Promise<void>;
}

/**
 * Rooms, the session -> sockets index (to close a session's sockets on logout) and the per-user
 * connection count (with slots reserved while an upgrade is being authenticated, so concurrent
 * upgrades cannot overshoot the cap).
 */
export class Registry {
  readonly all = new Set<Conn>();
  private readonly rooms = new Map<string, Set<Conn>>();
  private readonly bySession = new Map<string, Set<Conn>>();
  private readonly reserved = new Map<string, number>();

  /** Reserve a connection slot for a user; false when the cap is reached. */
  reserve(user: RealtimeUser, max: number): boolean {
    const key = userRoom(user.tenantId, user.id);
    const reserved = this.reserved.get(key) ?? 0;
    if ((this.rooms.get(key)?.size ?? 0) + reserved >= max) return false;
    this.reserved.set(key, reserved + 1);
    return true;
  }

  release(user: RealtimeUser): void {
    const key = userRoom(user.tenantId, user.id);
    const n = (this.reserved.get(key) ?? 0) - 1;
    if (n > 0) this.reserved.set(key, n);
    else this.reserved.delete(key);
  }

  add(conn: Conn): void {
    this.all.add(conn);
    addTo(this.bySession, conn.sid, conn);
  }

  remove(conn: Conn): void {
    if (!this.all.delete(conn)) return;
    removeFrom(this.bySession, conn.sid, conn);
    for (const room of conn.rooms) removeFrom(this.rooms, room, conn);
    conn.rooms.clear();
  }

  join(conn: Conn, room: string): void {
    if (!this.all.has(conn)) return;
    conn.rooms.add(room);
    addTo(this.rooms, room, conn);
  }

  leave(conn: Conn, room: string): void {
    conn.rooms.delete(room);
    removeFrom(this.rooms, room, conn);
  }

  members(room: string): ReadonlySet<Conn> | undefined {
    return this.rooms.get(room);
  }

  bySessionId(sid: string): Conn[] {
    return [...(this.bySession.get(sid) ?? [])];
  }

  sessionIds(): string[] {
    return [...this.bySession.keys()];
  }

  stats(): { sockets: number; rooms: number } {
    return { sockets: this.all.size, rooms: this.rooms.size };
  }
}

function addTo(map: Map<string, Set<Conn>>, key: string, conn: Conn): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(conn);
}

function removeFrom(map: Map<string, Set<Conn>>, key: string, conn: Conn): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(conn);
  if (set.size === 0) map.delete(key);
}

/** ws.send's options for every frame: one object, not one per socket per broadcast. */
const TEXT = Object.freeze({ binary: false });

/**
 * Write one pre-encoded text frame. A socket whose unsent data would pass `maxBufferedBytes` is a slow
 * (or malicious, never-reading) consumer: terminate it so server memory stays bounded (ATK-22).
 * Returns false when the frame was not written.
 */
export function writeFrame(conn: Conn, frame: Buffer, maxBufferedBytes: number, onSlow?: (conn: Conn) => void): boolean {
  const ws = conn.ws;
  if (conn.closed || ws.readyState !== ws.OPEN) return false;
  if (ws.bufferedAmount + frame.length > maxBufferedBytes) {
    conn.closed = true;
    onSlow?.(conn);
    ws.terminate();
    return false;
  }
  // ws's public API only (issue 11): ws frames the payload; the payload itself is encoded once per broadcast.
  ws.send(frame, TEXT);
  return true;
}

