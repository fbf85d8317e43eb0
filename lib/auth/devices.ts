import { createHmac, randomBytes } from 'node:crypto';
import type { StepUpContext } from '../context';
import { deriveKey, randomId } from '../crypto/codes';
import { safeEqual } from '../crypto/compare';
import { StepUpError } from '../errors';
import type { LoginDecision, MfaSession } from '../state/machine';
import { isPrivileged } from '../state/policy';
import type { RememberedDeviceRecord, RequestMeta, TenantPolicy, TenantRecord, UserRecord } from '../types';
import { summariseUserAgent } from './session-meta';

// Remembered browsers (tenant policy `rememberDeviceDays`, off by default). After a successful second
// factor at login the browser may get a device token; at a later login of THE SAME user, after a correct
// password, that token stands in for the second factor. It never stands in for a step-up (the session
// gets no factor proof), for enrolment, or for a privileged user. The token is random (256 bits), lives
// in its own cookie, is stored only as an HMAC bound to the tenant, the user and the device id, is
// single use (a new one at each use) and dies with a password change or reset, an MFA reset, a disable
// or "sign out everywhere" (they empty the list and move `sessionsValidAfter`, which also kills a device
// a racing request writes back).

/** At most this many remembered browsers per user: the oldest goes first. */
export const MAX_DEVICES = 10;
const DAY_MS = 86_400_000;
const LOCK_MS = 5000;

/** What the route puts in the device cookie (Max-Age from `maxAgeMs`). */
export interface DeviceToken {
  value: string;
  maxAgeMs: number;
  device: RememberedDeviceRecord;
}

/** What a session established by a remembered browser carries besides the state machine's fields. */
export interface RememberedDeviceMark {
  rememberedDevice?: { id: string; at: number };
}

/** Days a browser may be remembered for this user under the policy: 0 when off, and always 0 for admins. */
export function rememberDays(user: UserRecord, policy: TenantPolicy): number {
  if (isPrivileged(user.roles)) return 0; // privileged accounts prove a factor at every login
  return Math.max(0, Math.min(90, Math.floor(policy.rememberDeviceDays ?? 0)));
}

/** What the challenge page may offer for this pending login ("Remember this browser for N days"), 0 for nothing. */
export function rememberOffer(user: UserRecord, tenant: TenantRecord, decision: LoginDecision): number {
  // A login that goes on to enrolment (phasing out a disallowed factor) is never remembered.
  if (decision.state !== 'mfa_required' || decision.next !== 'authenticated') return 0;
  return rememberDays(user, tenant.policy);
}

function parse(value: string | undefined): { tenantId: string; userId: string; deviceId: string; secret: string } | null {
  if (!value || value.length > 512) return null;
  const parts = value.split('.');
  if (parts.length !== 5 || parts[0] !== 'v1') return null;
  const [, t, u, deviceId, secret] = parts as [string, string, string, string, string];
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(deviceId) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  const tenantId = Buffer.from(t, 'base64url').toString('utf8');
  const userId = Buffer.from(u, 'base64url').toString('utf8');
  if (!tenantId || !userId) return null;
  return { tenantId, userId, deviceId, secret };
}

function macUnder(master: Buffer, tenantId: string, userId: string, deviceId: string, secret: string): string {
  return createHmac('sha256', deriveKey(master, 'remembered-devices')).update(`${tenantId}\0${userId}\0${deviceId}\0${secret}`).digest('hex');
}

/** Every key of the ring is tried, so a key rotation does not forget the browsers remembered before it. */
function matches(ctx: StepUpContext, stored: string, tenantId: string, userId: string, deviceId: string, secret: string): boolean {
  let ok = false;
  for (const k of ctx.opts.keys) {
    const master = ctx.box.keyFor(k.id);
    if (master && safeEqual(macUnder(master, tenantId, userId, deviceId, secret), stored)) ok = true;
  }
  return ok;
}

/** When a device stops working: its own expiry, or earlier when the tenant shortened the policy since. */
function expiryOf(d: RememberedDeviceRecord, days: number): number {
  return Math.min(new Date(d.expiresAt).getTime(), new Date(d.createdAt).getTime() + days * DAY_MS);
}

/** Devices that still work for this user (not expired, not older than the user's last revocation). */
export function liveDevices(user: UserRecord, policy: TenantPolicy, now: number): RememberedDeviceRecord[] {
  const days = rememberDays(user, policy);
  const since = user.sessionsValidAfter ? new Date(user.sessionsValidAfter).getTime() : 0;
  if (days === 0) return [];
  return (user.rememberedDevices ?? []).filter((d) => expiryOf(d, days) > now && new Date(d.createdAt).getTime() >= since);
}

function newToken(ctx: StepUpContext, tenantId: string, userId: string, deviceId: string): { value: string; hash: string } {
  const secret = randomBytes(32).toString('base64url');
  const b = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
  return {
    value: ['v1', b(tenantId), b(userId), deviceId, secret].join('.'),
    hash: macUnder(ctx.box.keyFor(ctx.box.currentKeyId)!, tenantId, userId, deviceId, secret),
  };
}

/**
 * One writer at a time per user's device list (issue, use, forget): the store replaces the list whole,
 * so two writers could otherwise bring back a forgotten device or let one token be used twice.
 */
async function withDeviceLock<T>(ctx: StepUpContext, tenantId: string, userId: string, wait: boolean, fn: () => Promise<T>): Promise<T | null> {
  const key = `devlock:{${tenantId}:${userId}}`;
  for (let i = 0; ; i++) {
    if ((await ctx.ephemeral.incr(key, LOCK_MS)) === 1) break;
    if (!wait) return null;
    if (i >= 40) throw new StepUpError('unavailable');
    await new Promise((r) => setTimeout(r, 25));
  }
  try {
    return await fn();
  } finally {
    await ctx.ephemeral.del(key);
  }
}

/**
 * Remembers this browser after a verified second factor at login (the route asked with `remember: true`).
 * Returns null when the policy does not allow it for this user, or when the user's sessions were revoked
 * since this login's password step (`validFrom`).
 */
export async function rememberDevice(ctx: StepUpContext, meta: RequestMeta, user: UserRecord, tenant: TenantRecord, validFrom: number): Promise<DeviceToken | null> {
  const days = rememberDays(user, tenant.policy);
  if (days === 0) return null;
  const made = await withDeviceLock(ctx, user.tenantId, user.id, true, async () => {
    const now = ctx.now();
    const fresh = await ctx.users.findById(user.tenantId, user.id);
    if (!fresh) throw new StepUpError('unauthenticated');
    // Revoked since this login's password step (password change, reset, sign out everywhere): no device.
    if (fresh.disabledAt || (fresh.sessionsValidAfter && new Date(fresh.sessionsValidAfter).getTime() > validFrom)) return null;
    const id = randomId(12);
    const token = newToken(ctx, user.tenantId, user.id, id);
    const device: RememberedDeviceRecord = {
      id,
      hash: token.hash,
      label: summariseUserAgent(meta.userAgent),
      createdAt: new Date(now),
      expiresAt: new Date(now + days * DAY_MS),
      lastUsedAt: null,
    };
    const kept = liveDevices(fresh, tenant.policy, now).sort((a, b) => new Date(b.createdAt).getTime() - new Date(a.createdAt).getTime()).slice(0, MAX_DEVICES - 1);
    await ctx.users.update(user.tenantId, user.id, { rememberedDevices: [...kept, device] });
    return { value: token.value, maxAgeMs: days * DAY_MS, device };
  });
  if (!made) return null;
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'remembered_device_added', details: { deviceId: made.device.id, label: made.device.label, days } });
  return made;
}

/**
 * At login, after a correct password (`mfa_required` going to `authenticated`): a valid device token
 * of THIS user and tenant stands in for the second factor. The token is single use: a new one comes
 * back (same device, same expiry). Null when it does not apply; the login then asks for a factor.
 */
export async function useRememberedDevice(
  ctx: StepUpContext,
  meta: RequestMeta,
  user: UserRecord,
  tenant: TenantRecord,
  decision: LoginDecision,
  cookieValue: string | undefined,
): Promise<DeviceToken | null> {
  if (rememberOffer(user, tenant, decision) === 0) return null;
  const t = parse(cookieValue);
  // Another user's (or tenant's) browser token: not this login's business, and not an attack on it.
  if (!t || t.tenantId !== user.tenantId || t.userId !== user.id) return null;
  const used = await withDeviceLock(ctx, user.tenantId, user.id, false, async () => {
    const now = ctx.now();
    const fresh = await ctx.users.findById(user.tenantId, user.id);
    if (!fresh || fresh.disabledAt) return null;
    // A second-factor lock (someone guessing codes) is not lifted by a remembered browser either.
    if (fresh.lockedUntil && new Date(fresh.lockedUntil).getTime() > now) return null;
    const device = liveDevices(fresh, tenant.policy, now).find((d) => d.id === t.deviceId);
    if (!device || !matches(ctx, device.hash, user.tenantId, user.id, t.deviceId, t.secret)) return null;
    const token = newToken(ctx, user.tenantId, user.id, device.id);
    const rotated: RememberedDeviceRecord = { ...device, hash: token.hash, lastUsedAt: new Date(now) };
    const list = liveDevices(fresh, tenant.policy, now).map((d) => (d.id === device.id ? rotated : d));
    await ctx.users.update(user.tenantId, user.id, { rememberedDevices: list });
    return { value: token.value, maxAgeMs: expiryOf(device, rememberDays(fresh, tenant.policy)) - now, device: rotated };
  });
  if (!used) {
    await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'remembered_device_refused', details: { deviceId: t.deviceId } });
    return null;
  }
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'remembered_device_used', details: { deviceId: used.device.id } });
  return used;
}

/**
 * The session a remembered browser gets: authenticated at aal 2 (what users expect of "remember this
 * browser" in Keycloak or Authelia), but with NO factor proof: `mfaVerifiedAt` and `proof` stay unset,
 * so every step-up (and every admin route's fresh factor) still asks for a real factor.
 * (A transition of the state machine: kept here until lib/state/machine.ts has `afterRememberedDevice`.)
 */
export function afterRememberedDevice(prev: MfaSession, deviceId: string, policy: TenantPolicy, now: number): MfaSession & RememberedDeviceMark {
  const pending = prev.pending!;
  return {
    state: 'authenticated',
    uid: prev.uid ?? `${pending.tenantId}:${pending.userId}`,
    aal: 2,
    authTime: prev.authTime ?? now,
    validFrom: prev.validFrom ?? now,
    lastSeen: now,
    amr: [],
    rememberedDevice: { id: deviceId, at: now },
    stepUpMaxAgeSeconds: policy.stepUpMaxAgeSeconds,
  };
}

/** Which remembered device this browser's cookie is, if it is one of the user's. */
export function currentDeviceId(ctx: StepUpContext, user: UserRecord, cookieValue: string | undefined): string | null {
  const t = parse(cookieValue);
  if (!t || t.tenantId !== user.tenantId || t.userId !== user.id) return null;
  const d = (user.rememberedDevices ?? []).find((x) => x.id === t.deviceId);
  return d && matches(ctx, d.hash, user.tenantId, user.id, t.deviceId, t.secret) ? d.id : null;
}

/** `GET /auth/devices`: the user's working remembered browsers, newest first. */
export function deviceView(ctx: StepUpContext, user: UserRecord, tenant: TenantRecord, cookieValue: string | undefined) {
  const now = ctx.now();
  const days = rememberDays(user, tenant.policy);
  const current = currentDeviceId(ctx, user, cookieValue);
  const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);
  return liveDevices(user, tenant.policy, now)
    .sort((a, b) => new Date(b.createdAt).getTime() - new Date(a.createdAt).getTime())
    .map((d) => ({ id: d.id, label: d.label, createdAt: iso(d.createdAt), lastUsedAt: iso(d.lastUsedAt), expiresAt: new Date(expiryOf(d, days)).toISOString(), current: d.id === current }));
}

/** Forgets one remembered browser of the user; false when the user has no such device. Audited. */
export async function forgetDevice(ctx: StepUpContext, meta: RequestMeta, tenantId: string, userId: string, deviceId: string): Promise<boolean> {
  const gone = await withDeviceLock(ctx, tenantId, userId, true, async () => {
    const user = await ctx.users.findById(tenantId, userId);
    const list = user?.rememberedDevices ?? [];
    if (!list.some((d) => d.id === deviceId)) return false;
    await ctx.users.update(tenantId, userId, { rememberedDevices: list.filter((d) => d.id !== deviceId) });
    return true;
  });
  if (gone) await ctx.record(meta, { tenantId, userId, actorId: userId, type: 'remembered_device_forgotten', details: { deviceId } });
  return gone === true;
}
