/** Wire format: JSON text frames, one object each, discriminated by `type`. */

export type ClientMessage =
  | { type: 'ping' }
  | { type: 'joinCompany'; tenant: string }
  | { type: 'leaveCompany'; tenant: string };

export type ProtocolError = 'forbidden' | 'invalid_message' | 'unknown_type';

export const SYNC_STATUSES = ['started', 'progress', 'completed', 'error'] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

export const NOTIFICATION_LEVELS = ['info', 'success', 'warning', 'error'] as const;
export type NotificationLevel = (typeof NOTIFICATION_LEVELS)[number];

export interface SyncStatusPayload {
  status: SyncStatus;
  /** 0..100 */
  progress?: number;
  message?: string;
  recordsImported?: number;
  error?: string;
}

export interface NotificationPayload {
  level: NotificationLevel;
  title: string;
  message: string;
}

export type NotificationTarget = string | { tenantId: string; userId: string };

export const LIMITS = {
  slug: 100,
  id: 200,
  title: 200,
  message: 2000,
  syncMessage: 500,
  syncError: 500,
} as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export type ParseResult = { ok: true; msg: ClientMessage } | { ok: false; error: 'invalid_message' | 'unknown_type' };

/** Parse one client frame. Never throws: anything unexpected is `invalid_message`. */
export function parseClientMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): ParseResult {
  if (isBinary) return { ok: false, error: 'invalid_message' };
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch {
    return { ok: false, error: 'invalid_message' };
  }
  if (!isObject(value) || typeof value.type !== 'string') return { ok: false, error: 'invalid_message' };
  switch (value.type) {
    case 'ping':
      return { ok: true, msg: { type: 'ping' } };
    case 'joinCompany':
    case 'leaveCompany': {
      const tenant = value.tenant;
      if (typeof tenant !== 'string' || tenant.length === 0 || tenant.length > LIMITS.slug) {
        return { ok: false, error: 'invalid_message' };
      }
      return { ok: true, msg: { type: value.type, tenant } };
    }
    default:
      return { ok: false, error: 'unknown_type' };
  }
}

/** Small server frames (pong, joined, errors) are built per socket; they are tiny and not fanned out. */
export function encodeFrame(frame: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(frame), 'utf8');
}

function bad(what: string, why: string): never {
  throw new TypeError(`realtime: ${what} ${why}`);
}

function optString(obj: Record<string, unknown>, key: string, max: number, where: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > max) bad(`${where}.${key}`, `must be a string of at most ${max} characters`);
  return v;
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) bad(`${where}.${k}`, 'is not a known field');
}

export function checkSlug(slug: unknown, what = 'tenant'): string {
  if (typeof slug !== 'string' || slug.length === 0 || slug.length > LIMITS.slug) {
    bad(what, `must be a non-empty string of at most ${LIMITS.slug} characters`);
  }
  return slug;
}

export function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > LIMITS.id) {
    bad(what, `must be a non-empty string of at most ${LIMITS.id} characters`);
  }
  return id;
}

/** Validate a sync status and build its frame (a copy: nothing the caller adds later leaks out). */
export function syncStatusFrame(tenant: string, payload: unknown, at: number): Record<string, unknown> {
  if (!isObject(payload)) bad('payload', 'must be an object');
  onlyKeys(payload, ['status', 'progress', 'message', 'recordsImported', 'error'], 'payload');
  const status = payload.status;
  if (typeof status !== 'string' || !(SYNC_STATUSES as readonly string[]).includes(status)) {
    bad('payload.status', `must be one of ${SYNC_STATUSES.join(', ')}`);
  }
  const frame: Record<string, unknown> = { type: 'syncStatus', tenant, status };
  if (payload.progress !== undefined) {
    const p = payload.progress;
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 100) bad('payload.progress', 'must be a number from 0 to 100');
    frame.progress = p;
  }
  const message = optString(payload, 'message', LIMITS.syncMessage, 'payload');
  if (message !== undefined) frame.message = message;
  if (payload.recordsImported !== undefined) {
    const n = payload.recordsImported;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) bad('payload.recordsImported', 'must be a non-negative integer');
    frame.recordsImported = n;
  }
  const error = optString(payload, 'error', LIMITS.syncError, 'payload');
  if (error !== undefined) frame.error = error;
  frame.at = at;
  return frame;
}

/** Validate a notification and build its frame. */
export function notificationFrame(payload: unknown, at: number): Record<string, unknown> {
  if (!isObject(payload)) bad('payload', 'must be an object');
  onlyKeys(payload, ['level', 'title', 'message'], 'payload');
  const level = payload.level;
  if (typeof level !== 'string' || !(NOTIFICATION_LEVELS as readonly string[]).includes(level)) {
    bad('payload.level', `must be one of ${NOTIFICATION_LEVELS.join(', ')}`);
  }
  const title = optString(payload, 'title', LIMITS.title, 'payload');
  const message = optString(payload, 'message', LIMITS.message, 'payload');
  if (title === undefined) bad('payload.title', 'is required');
  if (message === undefined) bad('payload.message', 'is required');
  return { type: 'notification', level, title, message, at };
}

// JSON-encoded parts keep room names unambiguous whatever characters an id holds (no `a:b`+`c` = `a`+`b:c`).
export const userRoom = (tenantId: string, userId: string): string => `user:${JSON.stringify([tenantId, userId])}`;
/** Room for a bare user id (ids are UUIDs, unique across tenants). */
export const userIdRoom = (userId: string): string => `uid:${userId}`;
export const companyRoom = (slug: string): string => `company:${slug}`;

/** The room an `emitNotification` target addresses. */
export function notificationRoom(target: unknown): string {
  if (typeof target === 'string') return userIdRoom(checkId(target, 'userId'));
  if (!isObject(target)) bad('target', 'must be a user id or { tenantId, userId }');
  return userRoom(checkId(target.tenantId, 'target.tenantId'), checkId(target.userId, 'target.userId'));
}
