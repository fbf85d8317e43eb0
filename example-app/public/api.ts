/**
 * JSON calls to the app's own API. Every failure becomes an ApiError carrying the contract's
 * `{error, message}` plus the status and `Retry-After`; pages turn it into a sentence with describeError.
 */

export class ApiError extends Error {
  readonly status: number;
  /** The contract's error code (`invalid_code`, ...), or `network` when the server was not reached. */
  readonly code: string;
  readonly body: Record<string, unknown>;
  /** Seconds, from `Retry-After`. */
  readonly retryAfter?: number;

  constructor(status: number, code: string, body: Record<string, unknown>, retryAfter?: number) {
    super(typeof body.message === 'string' ? body.message : code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

export interface SessionUser {
  id: string;
  tenantId: string;
  tenant: string;
  email: string;
  name?: string;
  roles: string[];
}

export type Method = 'totp' | 'backup_code' | 'email_otp' | 'sms_otp';

export interface SessionView {
  /** `verification_required`: the password was right but the address is not confirmed yet (resend the link, log out). */
  state: 'anonymous' | 'verification_required' | 'mfa_required' | 'enrollment_required' | 'authenticated';
  aal?: 1 | 2;
  user?: SessionUser;
  methods?: Method[];
  mfaVerifiedAt?: string | null;
  expiresAt?: string;
  enrollmentDeadline?: string;
}

export async function api<T = Record<string, unknown>>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (method !== 'GET') {
    // Always a JSON body on writes: the plugin accepts only application/json (no form posts, no CSRF by form).
    init.headers = { accept: 'application/json', 'content-type': 'application/json' };
    init.body = JSON.stringify(body ?? {});
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', {});
  }
  if (res.status === 204) return {} as T;
  let data: Record<string, unknown> = {};
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text) as Record<string, unknown>;
    } catch {
      data = {};
    }
  }
  if (!res.ok) {
    const retry = Number(res.headers.get('retry-after'));
    const code = typeof data.error === 'string' ? data.error : res.status === 404 ? 'not_found' : 'internal_error';
    throw new ApiError(res.status, code, data, Number.isFinite(retry) && retry > 0 ? retry : undefined);
  }
  return data as T;
}

export const getSession = (): Promise<SessionView> => api<SessionView>('GET', '/auth/session');

export function isAdmin(user: SessionUser | undefined): boolean {
  return Boolean(user && (user.roles.includes('admin') || user.roles.includes('superadmin')));
}

export function isSuperadmin(user: SessionUser | undefined): boolean {
  return Boolean(user && user.roles.includes('superadmin') && user.tenant === 'platform');
}
