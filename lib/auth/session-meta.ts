import { createHmac } from 'node:crypto';
import type { StepUpContext } from '../context';
import { deriveKey } from '../crypto/codes';
import { safeEqual } from '../crypto/compare';
import type { MfaSession } from '../state/machine';
import type { RequestMeta } from '../types';

// What `GET /auth/sessions` shows about a session, kept beside it in the ephemeral store so a listing
// reads one small record per indexed id instead of loading (and unsealing) every session. Written when
// a session is established or rotated, and its lastSeen at most as often as the session's own.

/** One session's listing record (no secret: never the session id itself). */
export interface SessionMeta {
  state: MfaSession['state'];
  /** When the password was verified (the login the session belongs to; kept across rotations). */
  createdAt: number;
  lastSeen: number;
  /** Pending logins die with their pending state; authenticated ones at the absolute timeout. */
  expiresAt: number;
  ip: string | null;
  /** "Chrome on Linux": a summary, never the raw header. */
  userAgent: string;
  aal: 1 | 2 | null;
  methods: string[];
}

const key = (tenantId: string, userId: string, sid: string) => `smeta:{${tenantId}:${userId}}:${sid}`;

/** The methods a session shows: the factors it verified, `remembered_device` when a remembered browser skipped the factor. */
export function methodsOf(mfa: MfaSession): string[] {
  const amr: string[] = [...(mfa.amr ?? [])];
  const device = (mfa as MfaSession & { rememberedDevice?: unknown }).rememberedDevice;
  if (device && !amr.includes('remembered_device')) amr.unshift('remembered_device');
  return amr;
}

/** The ephemeral-store key of a session's listing record. */
export const sessionMetaKey = key;

/** The record of a session as `[key, value, ttlMs]`, to write alone or in a batch (`UserSessions.index`). */
export function sessionMetaEntry(ctx: StepUpContext, tenantId: string, userId: string, sid: string, mfa: MfaSession, meta: RequestMeta): [string, string, number] {
  const now = ctx.now();
  const createdAt = mfa.authTime ?? now;
  const expiresAt = mfa.pending ? mfa.pending.expiresAt : createdAt + ctx.opts.session.absoluteTimeoutSeconds * 1000;
  const record: SessionMeta = {
    state: mfa.state,
    createdAt,
    lastSeen: mfa.lastSeen ?? now,
    expiresAt,
    ip: meta.ip,
    userAgent: summariseUserAgent(meta.userAgent),
    aal: mfa.state === 'authenticated' ? (mfa.aal ?? 1) : null,
    methods: methodsOf(mfa),
  };
  return [key(tenantId, userId, sid), JSON.stringify(record), Math.max(1000, expiresAt - now)];
}

/** Writes (or rewrites) the record of a session. */
export async function writeSessionMeta(ctx: StepUpContext, tenantId: string, userId: string, sid: string, mfa: MfaSession, meta: RequestMeta): Promise<void> {
  await ctx.ephemeral.set(...sessionMetaEntry(ctx, tenantId, userId, sid, mfa, meta));
}

export async function readSessionMeta(ctx: StepUpContext, tenantId: string, userId: string, sid: string): Promise<SessionMeta | null> {
  const raw = await ctx.ephemeral.get(key(tenantId, userId, sid));
  if (!raw) return null;
  try {
    return JSON.parse(raw) as SessionMeta;
  } catch {
    return null;
  }
}

export async function dropSessionMeta(ctx: StepUpContext, tenantId: string, userId: string, sid: string): Promise<void> {
  await ctx.ephemeral.del(key(tenantId, userId, sid));
}

/**
 * The session was seen (called where its own `lastSeen` moves: at most once a minute). Also refreshes
 * the aal and methods, which an in-session enrolment or step-up may have changed. A lost race between
 * two touches only loses a lastSeen a minute old.
 */
export async function touchSessionMeta(ctx: StepUpContext, tenantId: string, userId: string, sid: string, mfa: MfaSession, now: number): Promise<void> {
  const current = await readSessionMeta(ctx, tenantId, userId, sid);
  if (!current) return; // a session made before this record existed: nothing to refresh
  const next: SessionMeta = { ...current, lastSeen: now, aal: mfa.aal ?? current.aal, methods: methodsOf(mfa) };
  await ctx.ephemeral.set(key(tenantId, userId, sid), JSON.stringify(next), Math.max(1000, current.expiresAt - now));
}

/**
 * The id a session has in the API. A session id is a bearer secret, so the API shows an HMAC of it
 * under a key derived from the key ring, and a `DELETE` maps it back through the user's own index.
 */
export function publicSessionId(ctx: StepUpContext, sid: string): string {
  const k = deriveKey(ctx.box.keyFor(ctx.box.currentKeyId)!, 'session-ids');
  return createHmac('sha256', k).update(sid).digest().subarray(0, 16).toString('base64url');
}

/** The session id behind a public id, among the user's own sessions only (null otherwise). */
export function sessionIdFor(ctx: StepUpContext, sids: readonly string[], publicId: string): string | null {
  let found: string | null = null;
  // Every candidate is compared (constant time each): the answer's timing does not depend on where it is.
  for (const sid of sids) if (safeEqual(publicSessionId(ctx, sid), publicId)) found = sid;
  return found;
}

/** "Chrome on Linux", "Safari on iOS", "Firefox on Windows"; "Unknown browser" when nothing is recognised. */
export function summariseUserAgent(ua: string | null | undefined): string {
  if (!ua) return 'Unknown browser';
  const s = ua.slice(0, 512);
  const browser =
    /Edg(e|A|iOS)?\//.test(s) ? 'Edge'
    : /OPR\/|Opera/.test(s) ? 'Opera'
    : /Firefox\/|FxiOS\//.test(s) ? 'Firefox'
    : /Chrome\/|CriOS\/|Chromium\//.test(s) ? 'Chrome'
    : /Safari\//.test(s) && /Version\//.test(s) ? 'Safari'
    : /^curl\//.test(s) ? 'curl'
    : /node|undici|axios|got|supertest/i.test(s) ? 'Script'
    : null;
  const os =
    /iPhone|iPad|iPod/.test(s) ? 'iOS'
    : /Android/.test(s) ? 'Android'
    : /CrOS/.test(s) ? 'ChromeOS'
    : /Windows/.test(s) ? 'Windows'
    : /Mac OS X|Macintosh/.test(s) ? 'macOS'
    : /Linux|X11/.test(s) ? 'Linux'
    : null;
  if (!browser && !os) return 'Unknown browser';
  if (!os) return browser!;
  return `${browser ?? 'Browser'} on ${os}`;
}
