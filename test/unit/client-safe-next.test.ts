/**
 * The example app's one check for `?next=` after sign-in (example-app/public/next.ts). Browsers drop
 * tab, CR and LF from URLs and read `\` as `/`, so these values must not leave the app's origin.
 */
import { safeNext } from '../../example-app/public/next';

const ORIGIN = 'http://127.0.0.1:3000';

describe('safeNext', () => {
  it.each([
    ['/security', `${ORIGIN}/security`],
    ['/admin?tenant=acme#users', `${ORIGIN}/admin?tenant=acme#users`],
    ['security', `${ORIGIN}/security`],
  ])('keeps a same-origin path: %j', (next, expected) => {
    expect(safeNext(next, ORIGIN)).toBe(expected);
  });

  it.each([
    '//evil.example',
    '/\t/evil.example',
    '/\r/evil.example',
    '/\n/evil.example',
    '/\\evil.example',
    '\\/evil.example',
    '/\t\\evil.example/x',
    'https://evil.example/',
    'http://127.0.0.1:3001/',
    'javascript:alert(1)',
    'data:text/html,hi',
    ' //evil.example',
    '//evil.example@127.0.0.1:3000',
    'http://[::1',
  ])('refuses %j and sends home instead', (next) => {
    const out = safeNext(next, ORIGIN);
    expect(new URL(out).origin).toBe(ORIGIN);
    expect(out).toBe(`${ORIGIN}/`);
  });

  it('answers the parsed URL, never the raw text: a dot segment cannot turn into //host', () => {
    const out = safeNext('/.//evil.example', ORIGIN);
    // Whatever the path, what is followed is absolute and on this origin.
    expect(out.startsWith(`${ORIGIN}/`)).toBe(true);
    expect(new URL(out).origin).toBe(ORIGIN);
  });

  it('treats a missing or empty next as home', () => {
    expect(safeNext(null, ORIGIN)).toBe(`${ORIGIN}/`);
    expect(safeNext('', ORIGIN)).toBe(`${ORIGIN}/`);
    expect(safeNext(undefined, ORIGIN, '/security')).toBe(`${ORIGIN}/security`);
  });
});
