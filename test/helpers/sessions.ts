/**
 * Session fixtures: state seeded directly, instead of repeating login, enrolment and step-up over HTTP
 * in every `beforeEach`. The values come from the state machine's own transitions
 * (lib/state/machine.ts), are written through the app's own session store (so its revocation marks and
 * tombstones apply) and indexed like `establish` indexes them (logout-all, the session list).
 * The HTTP flows themselves are tested once, in core-flow, session-fixation and the security suites.
 */
import request from 'supertest';
import { sign } from 'cookie-signature';
import { randomBytes } from 'node:crypto';
import { internalContextOf } from '../../testing';
import { cookieName, newSessionId } from '../../routes/http-session';
import { afterStepUp, passwordSession, type MfaSession } from '../../lib/state/machine';
import { writeSessionMeta } from '../../lib/auth/session-meta';
import { newBackupCodeSet } from '../../lib/auth/enrolment';
import { toSessionUser, type Method, type UserRecord } from '../../lib/types';
import { SESSION_SECRET, type TestApp } from './app';
import { RFC_SECRET, seedRfcTotp } from './security';

export interface SessionAsOptions {
  /** 2 (default): a second factor was verified at login; 1: password only. */
  aal?: 1 | 2;
  /** The factor of that proof (default `totp`). */
  method?: Method;
  /**
   * Whether that proof is fresh enough for `requireStepUp` (default true). `false` dates the whole
   * session back past the tenant's step-up window, as if it had been made that long ago.
   */
  fresh?: boolean;
}

export type SessionAgent = ReturnType<typeof request.agent> & { sid: string; mfa: MfaSession };

/** An agent holding an authenticated session of `user`, as a completed login would have left it. */
export async function sessionAs(t: TestApp, user: UserRecord, opts: SessionAsOptions = {}): Promise<SessionAgent> {
  const ctx = internalContextOf(t.stepUp);
  const tenant = await t.tenants.findById(user.tenantId);
  if (!tenant) throw new Error(`sessionAs: no tenant ${user.tenantId}`);
  const policy = tenant.policy;
  const now = t.clock.now();
  const at = opts.fresh === false ? now - (policy.stepUpMaxAgeSeconds + 1) * 1000 : now;
  const su = toSessionUser(user, tenant.slug);
  const base = passwordSession(su, at, policy);
  const mfa = (opts.aal ?? 2) === 2 ? { ...afterStepUp(base, opts.method ?? 'totp', 2, policy, at), amr: [opts.method ?? 'totp'] } : base;
  const maxAge = ctx.opts.session.absoluteTimeoutSeconds * 1000;
  // Tagged with the user, as a login's regeneration makes it.
  const sid = newSessionId(mfa.uid);
  const data = {
    // express-session dates its cookie on the real clock (a memory store drops a session whose cookie expired).
    cookie: { originalMaxAge: maxAge, expires: new Date(Date.now() + maxAge).toISOString(), httpOnly: true, path: '/', sameSite: ctx.opts.session.sameSite, secure: false },
    passport: { user: su },
    mfa,
    bindingId: randomBytes(16).toString('base64url'),
  };
  const store = t.stepUp.stores.sessions as unknown as { set(sid: string, sess: unknown, cb: (err?: unknown) => void): void };
  await new Promise<void>((resolve, reject) => store.set(sid, data, (err) => (err ? reject(err) : resolve())));
  await writeSessionMeta(ctx, user.tenantId, user.id, sid, mfa, { ip: '127.0.0.1', userAgent: 'node-superagent', sessionId: sid });
  await ctx.sessions.add(user.tenantId, user.id, sid);

  const a = request.agent(t.app) as SessionAgent;
  const value = encodeURIComponent(`s:${sign(sid, SESSION_SECRET)}`);
  (a as unknown as { jar: { setCookie(c: string, domain: string, path: string): void } }).jar.setCookie(`${cookieName(ctx)}=${value}; Path=/`, '127.0.0.1', '/');
  a.sid = sid;
  a.mfa = mfa;
  return a;
}

/**
 * A user with TOTP enrolled as enrolment leaves it (the RFC 6238 secret, sealed, and ten backup
 * codes), without HTTP and without a session.
 */
export async function seedTotpAndCodes(t: TestApp, user: UserRecord): Promise<{ secret: string; backupCodes: string[] }> {
  await seedRfcTotp(t, user);
  const { codes, patch } = newBackupCodeSet(internalContextOf(t.stepUp));
  await t.users.update(user.tenantId, user.id, patch);
  return { secret: RFC_SECRET, backupCodes: codes };
}

/** `seedTotpAndCodes`, and an authenticated session of the user. */
export async function enrolledSession(t: TestApp, user: UserRecord, opts: SessionAsOptions = {}): Promise<SessionAgent & { secret: string; backupCodes: string[] }> {
  const { secret, backupCodes } = await seedTotpAndCodes(t, user);
  const fresh = (await t.users.findById(user.tenantId, user.id))!;
  const a = (await sessionAs(t, fresh, opts)) as SessionAgent & { secret: string; backupCodes: string[] };
  a.secret = secret;
  a.backupCodes = backupCodes;
  return a;
}
