/**
 * `?next=` after sign-in: the ONE check for every place that reads it (the sign-in page, and the
 * pages that send an anonymous visitor to sign in). Imports nothing, so a unit test loads it.
 *
 * String prefixes cannot decide this: browsers drop tabs, CR and LF from a URL and read `\` as `/`,
 * so `/\t/evil.example` arrives at `location.assign` as `//evil.example`, another host. The value is
 * therefore parsed the way the browser will parse it, against this page's origin, and accepted only
 * when the result is on that origin. The answer is the parsed absolute URL (never the raw text), so
 * what is checked is exactly what is followed.
 */
export function safeNext(next: string | null | undefined, origin: string, fallback = '/'): string {
  const home = new URL(fallback, origin).href;
  if (typeof next !== 'string' || next === '') return home;
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return home;
  }
  if (url.origin !== new URL(origin).origin || (url.protocol !== 'http:' && url.protocol !== 'https:')) return home;
  // `//evil.example@host/`: same origin, but a path never carries credentials; refuse the trick.
  if (url.username || url.password) return home;
  return url.href;
}

/** The `next` to put in a sign-in link for the current page (a same-origin path). */
export function nextParam(loc: { pathname: string; search: string }): string {
  return encodeURIComponent(loc.pathname + loc.search);
}
