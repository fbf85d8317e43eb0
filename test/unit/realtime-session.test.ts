import { sign } from 'cookie-signature';
import { checkSession, loadSession, readCookie, sameUser, sessionIdFromCookie, SessionLoadError } from '../../lib/realtime/session';

const SID = 'abcDEF123_-xyz';
const signed = (sid: string, secret: string): string => encodeURIComponent(`s:${sign(sid, secret)}`);

describe('readCookie', () => {
  it('finds the named cookie among others, decoded', () => {
    expect(readCookie('a=1; connect.sid=s%3Aabc.def; b=2', 'connect.sid')).toBe('s:abc.def');
    expect(readCookie('connect.sid="quoted"', 'connect.sid')).toBe('quoted');
  });

  it('takes the first occurrence, like express-session', () => {
    expect(readCookie('connect.sid=first; connect.sid=second', 'connect.sid')).toBe('first');
  });

  it('does not match on a name prefix or suffix', () => {
    expect(readCookie('xconnect.sid=1; connect.sidx=2', 'connect.sid')).toBeUndefined();
  });

  it('keeps an undecodable value raw and handles missing headers', () => {
    expect(readCookie('connect.sid=%E0%A4%A', 'connect.sid')).toBe('%E0%A4%A');
    expect(readCookie(undefined, 'connect.sid')).toBeUndefined();
    expect(readCookie('', 'connect.sid')).toBeUndefined();
    expect(readCookie('garbage', 'connect.sid')).toBeUndefined();
  });
});

describe('sessionIdFromCookie', () => {
  it('unsigns a cookie made with the secret', () => {
    expect(sessionIdFromCookie(`connect.sid=${signed(SID, 'k1')}`, 'connect.sid', ['k1'])).toBe(SID);
  });

  it('tries every secret (rotation)', () => {
    expect(sessionIdFromCookie(`connect.sid=${signed(SID, 'old')}`, 'connect.sid', ['new', 'old'])).toBe(SID);
  });

  it.each([
    ['no cookie', ''],
    ['another secret', `connect.sid=${signed(SID, 'evil')}`],
    ['an unsigned id', `connect.sid=${SID}`],
    ['a forged signature', `connect.sid=${encodeURIComponent(`s:${SID}.AAAA`)}`],
    ['a truncated signature', `connect.sid=${signed(SID, 'k1').slice(0, -3)}`],
    ['an empty signed value', `connect.sid=${encodeURIComponent('s:')}`],
    ['an empty sid with a valid signature', `connect.sid=${signed('', 'k1')}`],
    ['another cookie name', `sid=${signed(SID, 'k1')}`],
  ])('refuses %s', (_what, header) => {
    expect(sessionIdFromCookie(header, 'connect.sid', ['k1'])).toBeNull();
  });
});

describe('checkSession', () => {
  const user = { id: 'u1', tenantId: 't1', tenant: 'acme', email: 'a@example.com', roles: ['user'] };
  const full = { cookie: { expires: null }, mfa: { state: 'authenticated', aal: 2 }, passport: { user } };
  const now = 1_700_000_000_000;

  it('accepts a full session and returns its user', () => {
    expect(checkSession(full, { minAal: 1, now })).toEqual({ ok: true, user: { id: 'u1', tenantId: 't1', tenant: 'acme' } });
  });

  it.each<[string, unknown, number]>([
    ['no session', null, 1],
    ['a non-object', 'x', 1],
    ['no mfa', { passport: { user } }, 1],
    ['mfa_required', { ...full, mfa: { state: 'mfa_required', aal: 1 } }, 1],
    ['enrollment_required', { ...full, mfa: { state: 'enrollment_required' } }, 1],
    ['a missing aal (fails closed)', { ...full, mfa: { state: 'authenticated' } }, 1],
    ['aal 1 when 2 is required', { ...full, mfa: { state: 'authenticated', aal: 1 } }, 2],
    ['a string aal', { ...full, mfa: { state: 'authenticated', aal: '2' } }, 1],
    ['no passport user', { ...full, passport: {} }, 1],
    ['a user without tenant', { ...full, passport: { user: { id: 'u1', tenantId: 't1' } } }, 1],
    ['a user with a non-string id', { ...full, passport: { user: { ...user, id: { $ne: null } } } }, 1],
    ['an expired cookie', { ...full, cookie: { expires: new Date(now - 1).toISOString() } }, 1],
  ])('refuses %s', (_what, data, minAal) => {
    expect(checkSession(data, { minAal, now }).ok).toBe(false);
  });

  it('applies the host hook with the injected clock, and a throwing hook fails closed', () => {
    const seen: number[] = [];
    expect(checkSession(full, { minAal: 1, now, isSessionValid: (_d, t) => (seen.push(t), true) }).ok).toBe(true);
    expect(seen).toEqual([now]);
    expect(checkSession(full, { minAal: 1, now, isSessionValid: () => false }).ok).toBe(false);
    expect(
      checkSession(full, {
        minAal: 1,
        now,
        isSessionValid: () => {
          throw new Error('boom');
        },
      }).ok,
    ).toBe(false);
  });

  it('sameUser compares id, tenant id and slug', () => {
    const u = { id: 'u1', tenantId: 't1', tenant: 'acme' };
    expect(sameUser(u, { ...u })).toBe(true);
    expect(sameUser(u, { ...u, tenantId: 't2' })).toBe(false);
  });
});

describe('loadSession', () => {
  it('resolves what the store answers (null for none)', async () => {
    await expect(loadSession({ get: (_s, cb) => cb(null, { a: 1 }) }, 'sid', 100)).resolves.toEqual({ a: 1 });
    await expect(loadSession({ get: (_s, cb) => cb(null) }, 'sid', 100)).resolves.toBeNull();
  });

  it('turns store errors, throws and rejected promises into SessionLoadError', async () => {
    await expect(loadSession({ get: (_s, cb) => cb(new Error('x')) }, 'sid', 100)).rejects.toBeInstanceOf(SessionLoadError);
    await expect(
      loadSession(
        {
          get: () => {
            throw new Error('sync');
          },
        },
        'sid',
        100,
      ),
    ).rejects.toBeInstanceOf(SessionLoadError);
    await expect(loadSession({ get: (_s, cb) => (cb(new Error('y')), Promise.reject(new Error('y'))) }, 'sid', 100)).rejects.toBeInstanceOf(
      SessionLoadError,
    );
  });

  it('gives up on a store that never answers', async () => {
    jest.useFakeTimers();
    try {
      const p = loadSession({ get: () => undefined }, 'sid', 5000);
      jest.advanceTimersByTime(5000);
      await expect(p).rejects.toThrow('timeout');
    } finally {
      jest.useRealTimers();
    }
  });
});
