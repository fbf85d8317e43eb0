/**
 * Browser client for passport-stepup's realtime server (`stepUp.realtime.attach`). No framework, no imports.
 *
 * The session cookie is the credential: the browser sends it with the upgrade, so the page never handles a
 * token. Reconnects with exponential backoff and full jitter (capped at 30 s), re-joins its company room
 * after each reconnect, and stops for good when the server closes with 4401 (the session ended: log in again).
 *
 * @example
 * const rt = new RealtimeClient(`wss://${location.host}/ws`, { onStatus: (s) => badge.textContent = s });
 * rt.onSyncStatus((e) => bar.value = e.progress ?? 0);
 * rt.joinCompany('acme');
 * rt.connect();
 */

export type RealtimeStatus = 'connecting' | 'connected' | 'disconnected';

export interface RealtimeStatusDetail {
  /** Close code of the socket that just went away. */
  code?: number;
  /** When the next attempt starts; absent when the client will not reconnect. */
  reconnectInMs?: number;
  /** True when the server ended the session (4401): log in again, then call connect(). */
  sessionEnded?: boolean;
}

export interface SyncStatusEvent {
  type: 'syncStatus';
  tenant: string;
  status: 'started' | 'progress' | 'completed' | 'error';
  progress?: number;
  message?: string;
  recordsImported?: number;
  error?: string;
  at: number;
}

export interface NotificationEvent {
  type: 'notification';
  level: 'info' | 'success' | 'warning' | 'error';
  title: string;
  message: string;
  at: number;
}

export interface RealtimeClientOptions {
  onStatus?: (status: RealtimeStatus, detail: RealtimeStatusDetail) => void;
  /** Called with server error frames (`forbidden`, `invalid_message`, `unknown_type`). */
  onError?: (error: string) => void;
  /** First backoff step (default 500 ms); doubles each failed attempt up to `maxDelayMs` (default 30000). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** App-level ping; a connection silent for two intervals is treated as dead (default 25000, 0 = off). */
  pingIntervalMs?: number;
  /** For tests and non-browser use (e.g. the `ws` package); default `new WebSocket(url)`. */
  createSocket?: (url: string) => WebSocket;
  random?: () => number;
}

/** Server closed because the session ended: reconnecting with the same cookie can only fail. */
const SESSION_ENDED = 4401;
const OPEN = 1;

export class RealtimeClient {
  private readonly url: string;
  private readonly opts: RealtimeClientOptions;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly pingIntervalMs: number;
  private socket: WebSocket | null = null;
  private readonly tenants = new Set<string>();
  private readonly syncListeners = new Set<(e: SyncStatusEvent) => void>();
  private readonly notificationListeners = new Set<(e: NotificationEvent) => void>();
  private attempt = 0;
  private stopped = true;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private heardSincePing = true;

  constructor(url: string, options: RealtimeClientOptions = {}) {
    this.url = url;
    this.opts = options;
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = Math.min(options.maxDelayMs ?? 30_000, 30_000);
    this.pingIntervalMs = options.pingIntervalMs ?? 25_000;
  }

  /** Open the connection (again, e.g. after a new login). No-op while already running. */
  connect(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.open();
  }

  /** Returns a function that removes the listener. */
  onSyncStatus(fn: (e: SyncStatusEvent) => void): () => void {
    this.syncListeners.add(fn);
    return () => this.syncListeners.delete(fn);
  }

  onNotification(fn: (e: NotificationEvent) => void): () => void {
    this.notificationListeners.add(fn);
    return () => this.notificationListeners.delete(fn);
  }

  /** Join the company room of `slug` (the user's own tenant) now and after every reconnect. */
  joinCompany(slug: string): void {
    this.tenants.add(slug);
    this.send({ type: 'joinCompany', tenant: slug });
  }

  leaveCompany(slug: string): void {
    this.tenants.delete(slug);
    this.send({ type: 'leaveCompany', tenant: slug });
  }

  /** Close for good: no reconnect until connect() is called again. */
  close(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      detach(socket);
      socket.close(1000, 'client closed');
      this.status('disconnected', { code: 1000 });
    }
  }

  private open(): void {
    this.clearTimers();
    this.status('connecting', {});
    let socket: WebSocket;
    try {
      socket = (this.opts.createSocket ?? ((u: string) => new WebSocket(u)))(this.url);
    } catch {
      this.scheduleReconnect(1006);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.status('connected', {});
      this.startPing();
      // Rooms live on the server connection: join them again on every new socket.
      for (const slug of this.tenants) this.send({ type: 'joinCompany', tenant: slug });
    };
    socket.onmessage = (ev: MessageEvent) => {
      this.heardSincePing = true;
      this.dispatch(ev.data);
    };
    socket.onerror = () => {
      // A close event always follows; reconnecting is decided there.
    };
    socket.onclose = (ev: CloseEvent) => this.lost(socket, ev.code);
  }

  private lost(socket: WebSocket, code: number): void {
    if (socket !== this.socket) return;
    detach(socket);
    this.socket = null;
    this.clearTimers();
    if (this.stopped) return;
    if (code === SESSION_ENDED) {
      this.stopped = true;
      this.status('disconnected', { code, sessionEnded: true });
      return;
    }
    this.scheduleReconnect(code);
  }

  private scheduleReconnect(code: number): void {
    // Full jitter: a random delay in [0, min(cap, base * 2^attempt)), so a fleet of clients
    // dropped at once by a restart does not come back in lockstep.
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(this.attempt, 30));
    const delay = Math.floor((this.opts.random ?? Math.random)() * ceiling);
    this.attempt += 1;
    this.status('disconnected', { code, reconnectInMs: delay });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  private startPing(): void {
    if (this.pingIntervalMs <= 0) return;
    this.heardSincePing = true;
    this.pingTimer = setInterval(() => {
      const socket = this.socket;
      if (!socket) return;
      if (!this.heardSincePing) {
        // Nothing heard for a whole interval after a ping: the link is dead even if no close event came.
        this.lost(socket, 1006);
        socket.close(4000, 'ping timeout');
        return;
      }
      this.heardSincePing = false;
      this.send({ type: 'ping' });
    }, this.pingIntervalMs);
  }

  private dispatch(data: unknown): void {
    if (typeof data !== 'string') return;
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    const frame = msg as { type?: unknown; error?: unknown };
    if (frame.type === 'joined') this.attempt = 0; // authenticated: the next drop starts from the first step again
    else if (frame.type === 'syncStatus') emit(this.syncListeners, msg as SyncStatusEvent);
    else if (frame.type === 'notification') emit(this.notificationListeners, msg as NotificationEvent);
    else if (frame.type === 'error' && typeof frame.error === 'string') this.opts.onError?.(frame.error);
  }

  private send(frame: Record<string, unknown>): void {
    const socket = this.socket;
    if (socket && socket.readyState === OPEN) socket.send(JSON.stringify(frame));
  }

  private status(status: RealtimeStatus, detail: RealtimeStatusDetail): void {
    this.opts.onStatus?.(status, detail);
  }

  private clearTimers(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.reconnectTimer = null;
    this.pingTimer = null;
  }
}

function detach(socket: WebSocket): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onerror = null;
  socket.onclose = null;
}

/** One throwing listener must not starve the others; its error is rethrown asynchronously for window.onerror. */
function emit<T>(listeners: Set<(e: T) => void>, event: T): void {
  for (const fn of listeners) {
    try {
      fn(event);
    } catch (err) {
      setTimeout(() => {
        throw err;
      }, 0);
    }
  }
}

/** `ws(s)://<this page's host><path>`: the socket URL on the page's own origin. */
export function realtimeUrl(path = '/ws', loc: { protocol: string; host: string } = location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}${path}`;
}
