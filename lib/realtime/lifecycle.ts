import type { ResolvedOptions } from './options';
import type { Conn, Registry } from './registry';
import { checkSession, loadSession, sameUser } from './session';

/**
 * Close codes used by the server. 4401 = the session ended: the browser client stops reconnecting.
 * 4000 = reconnect: for the host after it regenerated a session id (e.g. on step-up), so the client comes
 * back with the new cookie instead of being closed as "session ended" by the next revalidation.
 */
export { CLOSE } from './close-codes';
import { CLOSE } from './close-codes';

export function isCloseCode(code: unknown): code is number {
  return typeof code === 'number' && Number.isInteger(code) && ([1000, 1001, 1008, 1011, 1013].includes(code) || (code >= 3000 && code <= 4999));
}

/**
 * Stop serving a socket now: it leaves every room and index at once (no event reaches it after this),
 * later messages are ignored, and the close frame goes out.
 */
export function closeConn(registry: Registry, conn: Conn, code: number, reason: string): void {
  conn.closed = true;
  registry.remove(conn);
  const ws = conn.ws;
  if (ws.readyState === ws.CLOSING || ws.readyState === ws.CLOSED) return;
  try {
    ws.close(code, reason);
  } catch {
    ws.terminate();
  }
}

export interface Revalidation {
  /** Re-load one session and close its sockets when it ended or changed; resolves true when still valid. */
  checkSid(sid: string): Promise<boolean>;
  /** One pass over every session with an open socket on this process. */
  all(): Promise<void>;
}

const BATCH = 50;

export function createRevalidation(opts: ResolvedOptions, registry: Registry): Revalidation {
  let running: Promise<void> | null = null;

  async function checkSid(sid: string): Promise<boolean> {
    let data: unknown;
    try {
      data = await loadSession(opts.sessionStore, sid, opts.sessionLoadTimeoutMs);
    } catch {
      // Fail closed (a store we cannot reach cannot vouch for the session), but with "try again later"
      // so clients reconnect and are authenticated afresh once the store is back.
      const conns = registry.bySessionId(sid);
      if (conns.length) opts.logger.warn('realtime: session store unavailable during revalidation', { sockets: conns.length });
      for (const conn of conns) closeConn(registry, conn, CLOSE.tryAgainLater, 'session store unavailable');
      return false;
    }
    const verdict = checkSession(data, { minAal: opts.minAal, now: opts.now(), isSessionValid: opts.isSessionValid });
    let valid = true;
    for (const conn of registry.bySessionId(sid)) {
      if (verdict.ok && sameUser(verdict.user, conn.user)) continue;
      valid = false;
      opts.logger.info('realtime: socket closed, session ended', { reason: verdict.ok ? 'user_changed' : verdict.reason });
      closeConn(registry, conn, CLOSE.sessionEnded, 'session ended');
    }
    return valid && verdict.ok;
  }

  async function pass(): Promise<void> {
    const sids = registry.sessionIds();
    for (let i = 0; i < sids.length; i += BATCH) {
      await Promise.all(sids.slice(i, i + BATCH).map(checkSid));
    }
  }

  return {
    checkSid,
    all() {
      // One pass at a time: a slow store must not pile passes up.
      running ??= pass().finally(() => {
        running = null;
      });
      return running;
    },
  };
}

/**
 * One heartbeat tick: a socket that did not answer the previous ping is dead (or a peer ignoring pings)
 * and is terminated; the others are pinged again (MFA-64, ATK-22).
 */
export function heartbeat(registry: Registry, logger: ResolvedOptions['logger']): void {
  let dead = 0;
  for (const conn of registry.all) {
    if (!conn.alive) {
      dead += 1;
      conn.closed = true;
      registry.remove(conn);
      conn.ws.terminate();
      continue;
    }
    conn.alive = false;
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.ping();
  }
  if (dead) logger.info('realtime: terminated sockets that missed a heartbeat', { sockets: dead });
}
