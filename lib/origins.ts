/**
 * THE origin normaliser (allowedOrigins for CSRF checks, sockets, passkeys and mail links). Browsers send
 * the serialised origin (`scheme://host[:port]`, lower case, default port left out); each entry is brought
 * to that form once, so a request's `Origin` can be compared as an exact string. Wildcards, paths,
 * credentials and non-http(s) schemes are refused: a URL without a web origin (`javascript:`, `file:`,
 * `data:`) serialises as "null", which sandboxed pages send, so allowlisting it would let any of them in.
 * Throws a TypeError naming `option`.
 */
export function normaliseOrigin(entry: unknown, option = 'allowedOrigins'): string {
  const fail = (why: string): never => {
    throw new TypeError(`passport-stepup: option "${option}" ${why}`);
  };
  if (typeof entry !== 'string' || entry.length === 0) fail('must hold non-empty strings');
  // Wildcards and substring rules are how CSWSH allowlists get bypassed: refuse them outright.
  if ((entry as string).includes('*')) fail('must not contain wildcards');
  let url: URL | undefined;
  try {
    url = new URL(entry as string);
  } catch {
    fail('holds an entry that is not a URL');
  }
  const u = url!;
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.origin === 'null') fail(`must hold http(s) origins, got "${u.protocol}"`);
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) fail('entries must be bare origins (scheme://host[:port])');
  return u.origin;
}

/** True when `entry` is an origin `normaliseOrigin` accepts. */
export function isOrigin(entry: unknown): boolean {
  try {
    normaliseOrigin(entry);
    return true;
  } catch {
    return false;
  }
}
