import { unsign } from 'cookie-signature';
import type { SessionStoreLike } from './options';

/** Who a socket belongs to, taken from `session.passport.user` of a full (`authenticated`) session. */
export interface RealtimeUser {
  id: string;
  tenantId: string;
  /** The tenant slug: the only company room this user may join. */
  tenant: string;
}

/**
 * The value of cookie `name` in a `Cookie` header, decoded like express-session's parser does
 * (first occurrence wins; a value that fails to decode is kept raw and will then fail to unsign).
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}

/**
 * The session id from an express-session cookie (`s:<sid>.<sig>`), or null when it is missing, unsigned or
 * signed with none of `secrets`. Every secret is tried, so a rotated secret keeps working like in express-session.
 */
export function sessionIdFromCookie(header: string | undefined, name: string, secrets: readonly string[]): string | null {
  const raw = readCookie(header, name);
  // An unsigned value is never trusted: anyone could put any session id there.
  if (!raw || !raw.startsWith('s:')) return null;
  const signed = raw.slice(2);
  for (const secret of secrets) {
    const sid = unsign(signed, secret);
    if (sid !== false && sid.length > 0) return sid;
  }
  return null;
}

export class SessionLoadError extends Error {
  constructor(reason: 'timeout' | 'store_error') {
    super(`session store ${reason}`);
    this.name = 'SessionLoadError';
  }
}

/** `store.get` as a promise with a deadline: a hung store must not hold upgrade sockets open forever. */
export function loadSession(store: SessionStoreLike, sid: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new SessionLoadError('timeout'));
    }, timeoutMs);
    timer.unref?.();
    const done = (err: unknown, data?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(new SessionLoadError('store_error'));
      else resolve(data ?? null);
    };
    try {
      const ret = store.get(sid, done);
      // connect-redis also returns a promise; swallow its rejection (the callback already reported it).
      if (ret && typeof (ret as Promise<unknown>).catch === 'function') (ret as Promise<unknown>).catch(() => undefined);
    } catch (err) {
      done(err ?? new Error('store threw'));
    }
  });
}

export type SessionVerdict = { ok: true; user: RealtimeUser } | { ok: false; reason: string };

export interface SessionCheck {
  minAal: number;
  now: number;
  isSessionValid?: (sessionData: unknown, now: number) => boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;

/**
 * Accept only a full session: `mfa.state === 'authenticated'`, a Passport user, `mfa.aal >= minAal`, a cookie
 * not past its expiry and the host's own check. A pending (`mfa_required`, `enrollment_required`) session is
 * refused: half-logged-in users must never reach realtime data (MFA-60). Missing `aal` fails closed.
 */
export function checkSession(data: unknown, check: SessionCheck): SessionVerdict {
  if (!isObject(data)) return { ok: false, reason: 'no_session' };
  const mfa = data.mfa;
  if (!isObject(mfa) || mfa.state !== 'authenticated') return { ok: false, reason: 'not_authenticated' };
  const aal = mfa.aal;
  if (typeof aal !== 'number' || !(aal >= check.minAal)) return { ok: false, reason: 'aal_too_low' };
  const passport = data.passport;
  const user = isObject(passport) ? passport.user : undefined;
  if (!isObject(user) || !isId(user.id) || !isId(user.tenantId) || !isId(user.tenant)) {
    return { ok: false, reason: 'no_user' };
  }
  // Stores normally drop expired sessions themselves; checking the cookie expiry too costs nothing.
  const cookie = data.cookie;
  if (isObject(cookie) && cookie.expires != null) {
    const expires = new Date(cookie.expires as string | number).getTime();
    if (!Number.isNaN(expires) && expires <= check.now) return { ok: false, reason: 'expired' };
  }
  if (check.isSessionValid) {
    let valid = false;
    try {
      valid = check.isSessionValid(data, check.now) === true;
    } catch {
      valid = false; // fail closed: a throwing hook must not let a session through
    }
    if (!valid) return { ok: false, reason: 'session_invalid' };
  }
  return { ok: true, user: { id: user.id, tenantId: user.tenantId, tenant: user.tenant } };
}

/** True when a re-loaded session still belongs to the same user the socket was opened for. */
export function sameUser(a: RealtimeUser, b: RealtimeUser): boolean {
  return a.id === b.id && a.tenantId === b.tenantId && a.tenant === b.tenant;
}
