/**
 * Helpers for the security suites (test/integration/security-*.test.ts, session*, redis-down, totp-tools).
 * Built on test/helpers/app.ts without changing it.
 */
import { internalContextOf } from '../../testing';
import { sessionKeyOf } from '../../routes/session-store';
import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import { agent, buildApp, codeFor, SESSION_SECRET, type TestApp } from './app';
import { totpAad } from '../../lib/auth/verifiers';
import type { StepUpOptions } from '../../index';
import type { UserRecord } from '../../lib/types';

export type Agent = ReturnType<typeof agent>;

export const PASSWORD = 'correct horse battery staple';
/** RFC 4226/6238 SHA-1 seed `12345678901234567890` (SECURITY.md §B.2). */
export const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
/** RFC 4226 Table 2: the 6-digit TOTP code of steps 0..4 for the RFC seed. */
export const RFC_CODES = ['755224', '287082', '359152', '969429', '338314'] as const;

export function login(a: Agent, email = 'alice@example.com', password = PASSWORD, tenant = 'acme') {
  return a.post('/auth/login').send({ tenant, email, password });
}

/** Gives a user the RFC TOTP secret, sealed exactly as enrolment would seal it. */
export async function seedRfcTotp(t: TestApp, user: UserRecord, lastStep = 0): Promise<void> {
  const sealed = internalContextOf(t.stepUp).box.seal(RFC_SECRET, totpAad(user));
  await t.users.update(user.tenantId, user.id, { mfa: { totp: { secret: sealed, enrolledAt: new Date(t.clock.now()), lastStep } } });
}

/** n agents, each holding its own pending (`mfa_required`) login for the user. */
export async function pendingAgents(t: TestApp, n: number, email = 'alice@example.com'): Promise<Agent[]> {
  const agents = Array.from({ length: n }, () => agent(t));
  for (const a of agents) {
    const res = await login(a, email);
    expect(res.body.state).toBe('mfa_required');
  }
  return agents;
}

export function setCookies(res: { headers: Record<string, unknown> }): string[] {
  const raw = res.headers['set-cookie'];
  return Array.isArray(raw) ? (raw as string[]) : raw ? [String(raw)] : [];
}

/** The attributes of the Set-Cookie for `name`, lower-cased keys; undefined when not set. */
export function cookieAttrs(res: { headers: Record<string, unknown> }, name = 'sid'): (Record<string, string | true> & { value: string }) | undefined {
  const line = setCookies(res).find((c) => c.startsWith(`${name}=`));
  if (!line) return undefined;
  const [pair, ...attrs] = line.split(/;\s*/);
  const out: Record<string, string | true> & { value: string } = { value: decodeURIComponent(pair!.slice(name.length + 1)) };
  for (const a of attrs) {
    const i = a.indexOf('=');
    if (i < 0) out[a.toLowerCase()] = true;
    else out[a.slice(0, i).toLowerCase()] = a.slice(i + 1);
  }
  return out;
}

/** The session id inside a signed cookie value `s:<id>.<sig>`. */
export function unsign(cookieValue: string): string {
  const m = /^s:([^.]+)\./.exec(cookieValue);
  if (!m) throw new Error(`not a signed session cookie: ${cookieValue}`);
  return m[1]!;
}

/** A correctly signed cookie value for an id the server never issued (forged or planted: ATK-02). */
export function signedCookie(sid: string, secret = SESSION_SECRET): string {
  const sig = createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '');
  return encodeURIComponent(`s:${sid}.${sig}`);
}

export function sessionKey(t: TestApp, sid: string): string {
  return sessionKeyOf(internalContextOf(t.stepUp).opts.redisPrefix, sid);
}

export async function sessionExists(t: TestApp, sid: string): Promise<boolean> {
  // A destroyed session leaves a tombstone ('!') so a request in flight cannot write it back (SR-1).
  const v = await t.redis!.get(sessionKey(t, sid));
  return v !== null && v !== '!';
}

/**
 * A second app over the SAME user, tenant and audit stores (another process, or the same app after a
 * deploy), with its own clock, Redis prefix and whatever option overrides (e.g. a rotated key ring).
 */
export function sibling(t: TestApp, overrides: Partial<StepUpOptions> = {}, redis: boolean | Redis = true): TestApp {
  const other = buildApp({ redis, clock: t.clock, overrides: { stores: { users: t.users, tenants: t.tenants, audit: t.audit }, ...overrides } });
  return { ...other, users: t.users, tenants: t.tenants, audit: t.audit };
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields?: Record<string, unknown>;
}

/** A logger that keeps every line, for MFA-58. */
export function recordingLogger(): { lines: LogLine[]; logger: NonNullable<StepUpOptions['logger']>; text(): string } {
  const lines: LogLine[] = [];
  const push = (level: LogLine['level']) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push({ level, msg, fields });
  };
  return { lines, logger: { debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') }, text: () => JSON.stringify(lines) };
}

/** Counts audit events of a type for a user (the processed-attempt measure of ATK-04). */
export async function auditCount(t: TestApp, tenantId: string, type: string, userId?: string): Promise<number> {
  const events = await t.audit.list(tenantId, { limit: 100000, userId });
  return events.filter((e) => e.type === type).length;
}

/** A 6-digit code that no step of the ±1 window accepts for this secret at this time. */
export function wrongCode(secret: string, nowMs: number): string {
  const window = [-1, 0, 1].map((o) => codeFor(secret, nowMs, o));
  let c = 100000;
  while (window.includes(String(c))) c++;
  return String(c);
}
