/**
 * The app's one API client: passport-stepup's browser client (`client/`, served at
 * `/assets/client/`), on this page's origin. Plugin routes go through its typed methods
 * (`client.login(...)`); the app's own `/api/...` routes through `api()`, with the same errors.
 * Pages turn an ApiError into a sentence with describeError.
 */
import { ApiError, createClient, type HttpMethod, type Method, type SessionUser, type SessionView } from '../../client/index.js';

export { ApiError };
export type { Method, SessionUser, SessionView };

export const client = createClient();

export function api<T = Record<string, unknown>>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
  return client.request<T>(method, path, body);
}

/** The session; a server that cannot be reached counts as signed out (the page goes to sign-in). */
export const getSession = (): Promise<SessionView> => client.session();

export function isAdmin(user: SessionUser | undefined): boolean {
  return Boolean(user && (user.roles.includes('admin') || user.roles.includes('superadmin')));
}

export function isSuperadmin(user: SessionUser | undefined): boolean {
  return Boolean(user && user.roles.includes('superadmin') && user.tenant === 'platform');
}
