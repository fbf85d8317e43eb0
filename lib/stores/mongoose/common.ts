import type { UserPatch, UserRecord, TenantRecord } from '../../types';
import { withDeadline } from '../../errors';

export type Doc = Record<string, unknown> & { _id: string };

// sanitizeFilter is defence in depth: bodies are validated at the edge, but a stray object in a filter
// value becomes an equality match instead of an operator.
export const Q = { sanitizeFilter: true } as const;

export function toUser(d: Doc | null): UserRecord | null {
  if (!d) return null;
  const { _id, ...rest } = d;
  const u = { id: _id, ...rest } as unknown as UserRecord;
  u.mfa = { ...(u.mfa ?? {}), backupCodes: u.mfa?.backupCodes ?? [] };
  return u;
}

export function toTenant(d: Doc | null): TenantRecord | null {
  if (!d) return null;
  const { _id, ...rest } = d;
  return { id: _id, ...rest } as unknown as TenantRecord;
}

export const isDuplicate = (err: unknown): boolean => (err as { code?: number })?.code === 11000;

/** `$set`/`$unset` for a patch: null removes, mfa fields are addressed one by one. */
export function patchToUpdate(patch: UserPatch): { $set: Record<string, unknown>; $unset: Record<string, 1> } {
  const $set: Record<string, unknown> = {};
  const $unset: Record<string, 1> = {};
  const put = (path: string, v: unknown) => {
    if (v === undefined) return;
    if (v === null) $unset[path] = 1;
    else $set[path] = v;
  };
  const { mfa, ...top } = patch;
  for (const [k, v] of Object.entries(top)) put(k, v);
  for (const [k, v] of Object.entries(mfa ?? {})) put(`mfa.${k}`, v);
  return { $set, $unset };
}

/**
 * The error of an operation that did not finish within `timeoutMs` (server down, unreachable, or
 * stuck). Its name starts with `Mongo` and its code is ETIMEDOUT, so the routes answer 503 `unavailable`.
 */
export class MongoStoreTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(op: string, ms: number) {
    super(`MongoDB did not answer ${op} within ${ms} ms`);
    this.name = 'MongoStoreTimeoutError';
  }
}

/**
 * Bounds one store operation. The driver keeps retrying server selection for its own
 * `serverSelectionTimeoutMS` (30 s by default) and mongoose buffers while disconnected: a request must not
 * wait that long, so it gets a 503 after `timeoutMs`. A single-document write is atomic, so a write that
 * lands after the timeout is either whole or absent, never half-written.
 */
export type Runner = <T>(op: string, fn: () => Promise<T>) => Promise<T>;

export function runner(timeoutMs: number): Runner {
  return <T>(op: string, fn: () => Promise<T>): Promise<T> => withDeadline(Promise.resolve().then(fn), timeoutMs, () => new MongoStoreTimeoutError(op, timeoutMs));
}
