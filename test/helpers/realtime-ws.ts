/** `ws` clients for the realtime suites: open, read frames in order, wait for close, all with bounded waits. */
import net from 'node:net';
import WebSocket, { type ClientOptions } from 'ws';
import { ORIGIN } from './realtime-app';

export interface Frame {
  type: string;
  [key: string]: unknown;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface TestSocket {
  ws: WebSocket;
  /** Every frame received so far, in order (consumed ones included). */
  readonly received: Frame[];
  /** The next not-yet-consumed frame (of `type` when given), waiting up to `timeoutMs`. */
  next(type?: string, timeoutMs?: number): Promise<Frame>;
  send(data: unknown): void;
  /** Resolves with the close code once the socket is closed. */
  closed: Promise<CloseInfo>;
  close(): Promise<CloseInfo>;
}

export interface OpenOptions {
  cookie?: string;
  /** Default: the allowed origin; `null` sends no Origin header. */
  origin?: string | null;
  headers?: Record<string, string>;
  ws?: ClientOptions;
}

const DEFAULT_WAIT_MS = 5000;

function headersFor(opts: OpenOptions): Record<string, string> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.cookie) headers.cookie = opts.cookie;
  const origin = opts.origin === undefined ? ORIGIN : opts.origin;
  if (origin !== null) headers.origin = origin;
  return headers;
}

function wrap(ws: WebSocket): TestSocket {
  const received: Frame[] = [];
  const pending: Frame[] = [];
  const waiters: Array<{ type?: string; resolve: (f: Frame) => void }> = [];
  const closed = new Promise<CloseInfo>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  ws.on('error', () => undefined); // a close follows; tests look at the close code

  const match = (f: Frame, type?: string): boolean => type === undefined || f.type === type;
  ws.on('message', (data, isBinary) => {
    const frame = JSON.parse(isBinary ? '{"type":"<binary>"}' : data.toString()) as Frame;
    received.push(frame);
    const i = waiters.findIndex((w) => match(frame, w.type));
    if (i >= 0) waiters.splice(i, 1)[0]?.resolve(frame);
    else pending.push(frame);
  });

  return {
    ws,
    received,
    closed,
    next(type, timeoutMs = DEFAULT_WAIT_MS) {
      const i = pending.findIndex((f) => match(f, type));
      if (i >= 0) return Promise.resolve(pending.splice(i, 1)[0] as Frame);
      return new Promise<Frame>((resolve, reject) => {
        const waiter = {
          type,
          resolve: (f: Frame) => {
            clearTimeout(timer);
            resolve(f);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no ${type ?? 'frame'} within ${timeoutMs} ms (got ${JSON.stringify(received.map((f) => f.type))})`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    send(data) {
      ws.send(typeof data === 'string' || Buffer.isBuffer(data) ? data : JSON.stringify(data));
    },
    close() {
      if (ws.readyState === WebSocket.CLOSED) return closed;
      ws.close();
      return withTimeout(closed, DEFAULT_WAIT_MS, 'close');
    },
  };
}

/** Open a socket; rejects with the HTTP status when the upgrade is refused. */
export function openSocket(url: string, opts: OpenOptions = {}): Promise<TestSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: headersFor(opts), ...opts.ws });
    const socket = wrap(ws); // listen before open: the server's first frame may come right after it
    ws.once('open', () => resolve(socket));
    ws.once('unexpected-response', (req, res) => {
      reject(Object.assign(new Error(`upgrade refused with ${res.statusCode}`), { status: res.statusCode }));
      req.destroy();
    });
    ws.once('error', (err) => reject(err));
  });
}

/** The HTTP status of a refused upgrade (fails the test if the upgrade succeeds). */
export async function refusedStatus(url: string, opts: OpenOptions = {}): Promise<number> {
  try {
    const socket = await openSocket(url, opts);
    await socket.close();
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (typeof status === 'number') return status;
    throw err;
  }
  throw new Error('the upgrade was accepted');
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Wait for a condition that has no event of its own (server-side bookkeeping), polling briefly, bounded. */
export async function waitUntil(cond: () => boolean, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A hand-written upgrade request to `/ws`; resolves with every byte the server wrote before closing. */
export function rawUpgrade(port: number, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      const lines = [
        'GET /ws HTTP/1.1',
        `Host: 127.0.0.1:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      ];
      sock.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    let out = '';
    // An accepted upgrade keeps the connection open: cut it after a bounded wait so the test fails fast.
    const timer = setTimeout(() => sock.destroy(), DEFAULT_WAIT_MS);
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/**
 * Every JSON frame a socket receives, and `until(predicate)`: resolves at the frame that makes the
 * predicate true (checked on arrival, no polling), rejects after `ms` or when the socket closes first.
 */
export function frameLog(ws: WebSocket): { frames: Record<string, unknown>[]; until(check: (frames: Record<string, unknown>[]) => boolean, ms?: number): Promise<void> } {
  const frames: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (d) => {
    frames.push(JSON.parse(String(d)) as Record<string, unknown>);
    for (const w of [...waiters]) w();
  });
  return {
    frames,
    until(check, ms = 5000) {
      return new Promise<void>((resolve, reject) => {
        if (check(frames)) return resolve();
        const done = (err?: Error) => {
          clearTimeout(timer);
          waiters.delete(onFrame);
          ws.off('close', onClose);
          if (err) reject(err);
          else resolve();
        };
        const onFrame = () => {
          if (check(frames)) done();
        };
        const onClose = () => done(new Error(`socket closed before the frame came (${frames.length} frames)`));
        const timer = setTimeout(() => done(new Error(`no such frame within ${ms} ms (${frames.length} frames)`)), ms);
        waiters.add(onFrame);
        ws.on('close', onClose);
      });
    },
  };
}
