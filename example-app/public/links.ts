import { ApiError } from './api.js';

/**
 * The token of an emailed link. Links carry it in the URL fragment (`/verify-email#token=...`), which
 * browsers never send to a server and never put in a Referer. The page reads it once and removes it
 * from the address bar and the history entry, so it is not left behind on screen or in a bookmark.
 */
export const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

/** `#token=...` of the current address, or null; the fragment is removed either way. */
export function takeFragmentToken(): string | null {
  if (!location.hash) return null;
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  history.replaceState(history.state, '', location.pathname + location.search);
  return token === null ? null : token.trim();
}

/**
 * A token pasted by hand: the token alone (mails show it when the server has no link page) or the
 * whole link. Null when the text holds neither.
 */
export function tokenFromText(text: string): string | null {
  const t = text.trim();
  if (TOKEN_RE.test(t)) return t;
  const m = /#token=([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])/.exec(t);
  return m ? m[1]! : null;
}

/** An error that means this link will never work: only a new one helps. */
export const isDeadLink = (err: unknown): boolean =>
  err instanceof ApiError && (err.code === 'invalid_code' || (err.code === 'invalid_request' && err.message.includes('"token"')));
