/**
 * lib/lifecycle without I/O: single-use tokens (hashed at rest, constant-time, burned on use, current one
 * only, expiry on the injected clock), sliding-hour send caps, option checks, and the mail templates.
 */
import crypto from 'node:crypto';
import { LifecycleTokens, TOKEN_PATTERN } from '../../lib/account/tokens';
import { SendLimiter } from '../../lib/limits/send';
import { resolveLifecycle } from '../../lib/account/options';
import { passwordResetMessage, registrationExistsMessage, verificationMessage } from '../../lib/delivery/messages';
import { MemoryEphemeralStore, type EphemeralStore } from '../../lib/stores/ephemeral';

const T0 = Date.UTC(2026, 2, 1, 12);
const alice = { tenantId: 't1', userId: 'u1' };
const bob = { tenantId: 't1', userId: 'u2' };

/** A memory store that keeps a copy of every key and value ever written. */
function recordingStore(now: () => number): { store: EphemeralStore; written: string[] } {
  const inner = new MemoryEphemeralStore(now);
  const written: string[] = [];
  const store: EphemeralStore = Object.assign(Object.create(inner) as EphemeralStore, {
    set: (k: string, v: string, ttl: number) => (written.push(k, v), inner.set(k, v, ttl)),
    sadd: (k: string, m: string, ttl: number) => (written.push(k, m), inner.sadd(k, m, ttl)),
    slidingAdd: (k: string, m: string, ...rest: [number, number, number, number?]) => (written.push(k, m), inner.slidingAdd(k, m, ...rest)),
  });
  return { store, written };
}

function setup() {
  const clock = { t: T0 };
  const now = () => clock.t;
  const { store, written } = recordingStore(now);
  const keys = new Map([
    ['k1', crypto.randomBytes(32)],
    ['k2', crypto.randomBytes(32)],
  ]);
  let current = 'k1';
  const tokens = new LifecycleTokens(store, now, { currentId: () => current, get: (id) => keys.get(id) });
  return { clock, store, written, tokens, keys, rotate: (id: string) => (current = id) };
}

const flip = (token: string, at: number) => `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;

describe('LifecycleTokens', () => {
  it('issues 256-bit base64url tokens and answers the subject exactly once', async () => {
    const { tokens } = setup();
    const { token, expiresAt } = await tokens.issue('verify', alice, 86400);
    expect(token).toMatch(TOKEN_PATTERN);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(expiresAt).toBe(T0 + 86400_000);
    expect(await tokens.consume('verify', token)).toEqual(alice);
    expect(await tokens.consume('verify', token)).toBeNull();
  });

  it('expires on the injected clock: the last millisecond works, the expiry itself does not', async () => {
    const { tokens, clock } = setup();
    const a = (await tokens.issue('reset', alice, 1800)).token;
    const b = (await tokens.issue('reset', bob, 1800)).token;
    clock.t += 1800_000 - 1;
    expect(await tokens.consume('reset', a)).toEqual(alice);
    clock.t += 1;
    expect(await tokens.consume('reset', b)).toBeNull();
  });

  it('only the newest token of a (kind, user) works; kinds and users do not mix', async () => {
    const { tokens } = setup();
    const first = (await tokens.issue('reset', alice, 1800)).token;
    const verify = (await tokens.issue('verify', alice, 86400)).token;
    const other = (await tokens.issue('reset', bob, 1800)).token;
    const second = (await tokens.issue('reset', alice, 1800)).token;
    expect(await tokens.consume('reset', first)).toBeNull();
    expect(await tokens.consume('verify', second)).toBeNull(); // a reset token is no verification token
    expect(await tokens.consume('reset', other)).toEqual(bob);
    expect(await tokens.consume('reset', second)).toEqual(alice);
    expect(await tokens.consume('verify', verify)).toEqual(alice);
  });

  it('a superseded token is refused even when its record survived a race between two issues', async () => {
    const { tokens, store } = setup();
    const first = (await tokens.issue('reset', alice, 1800)).token;
    // Simulate the race: the second issue read no pointer, so it did not delete the first record.
    const take = jest.spyOn(store, 'take').mockResolvedValueOnce(null);
    const second = (await tokens.issue('reset', alice, 1800)).token;
    take.mockRestore();
    expect(await tokens.consume('reset', first)).toBeNull();
    expect(await tokens.consume('reset', second)).toEqual(alice);
  });

  it('a wrong verifier with the right selector is refused and burns the token; malformed input never reaches the store', async () => {
    const { tokens, store } = setup();
    const token = (await tokens.issue('verify', alice, 86400)).token;
    const take = jest.spyOn(store, 'take');
    for (const bad of ['', 'a'.repeat(42), 'a'.repeat(44), `${token.slice(0, 42)}=`, `${token.slice(0, 42)}+`, 42 as unknown as string]) {
      expect(await tokens.consume('verify', bad)).toBeNull();
    }
    expect(take).not.toHaveBeenCalled();
    expect(await tokens.consume('verify', flip(token, 30))).toBeNull();
    expect(await tokens.consume('verify', token)).toBeNull();
  });

  it('compares the MAC with crypto.timingSafeEqual', async () => {
    const { tokens } = setup();
    const token = (await tokens.issue('verify', alice, 86400)).token;
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    try {
      expect(await tokens.consume('verify', token)).toEqual(alice);
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('stores nothing of the token in clear: neither the token nor its halves appear in any key or value', async () => {
    const { tokens, written } = setup();
    const token = (await tokens.issue('reset', alice, 1800)).token;
    const raw = Buffer.from(token, 'base64url');
    const needles = [token, token.slice(0, 21), token.slice(22), raw.subarray(0, 16).toString('hex'), raw.subarray(16).toString('hex'), raw.toString('hex')];
    const text = written.join('\n');
    expect(needles.filter((n) => text.includes(n))).toEqual([]);
    expect(written.length).toBeGreaterThan(0);
  });

  it('keeps working across a key rotation; a key that left the ring fails closed', async () => {
    const { tokens, rotate, keys } = setup();
    const old = (await tokens.issue('verify', alice, 86400)).token;
    const gone = (await tokens.issue('reset', bob, 1800)).token;
    rotate('k2');
    expect(await tokens.consume('verify', old)).toEqual(alice);
    keys.delete('k1');
    expect(await tokens.consume('reset', gone)).toBeNull();
  });

  it('revoke makes the outstanding token unusable', async () => {
    const { tokens } = setup();
    const token = (await tokens.issue('reset', alice, 1800)).token;
    await tokens.revoke('reset', alice);
    expect(await tokens.consume('reset', token)).toBeNull();
  });

  it('of parallel consumes of one token exactly one wins', async () => {
    const { tokens } = setup();
    const token = (await tokens.issue('reset', alice, 1800)).token;
    const results = await Promise.all(Array.from({ length: 10 }, () => tokens.consume('reset', token)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

describe('SendLimiter', () => {
  function limiter() {
    const clock = { t: T0 };
    const { store, written } = recordingStore(() => clock.t);
    return { clock, written, l: new SendLimiter(store, () => clock.t, crypto.randomBytes(32)) };
  }

  it('a cooldown between sends, then a cap per sliding hour', async () => {
    const { clock, l } = limiter();
    expect(await l.reserve('verify', 'a@x', 3, 60)).toBeNull();
    clock.t += 10_000;
    expect(await l.reserve('verify', 'a@x', 3, 60)).toBe(50);
    clock.t += 51_000;
    expect(await l.reserve('verify', 'a@x', 3, 60)).toBeNull();
    clock.t += 61_000;
    expect(await l.reserve('verify', 'a@x', 3, 60)).toBeNull();
    clock.t += 61_000;
    expect(await l.reserve('verify', 'a@x', 3, 60)).toBe(3600 - 183);
    expect(await l.reserve('verify', 'b@x', 3, 60)).toBeNull(); // another address has its own log
    expect(await l.reserve('reset', 'a@x', 3, 60)).toBeNull(); // and another kind
    clock.t = T0 + 3600_000 + 1;
    expect(await l.reserve('verify', 'a@x', 3, 60)).toBeNull();
  });

  it('of parallel requests only the limit passes; refused ones do not count', async () => {
    const { l } = limiter();
    const results = await Promise.all(Array.from({ length: 10 }, () => l.reserve('ip', '192.0.2.1', 3)));
    expect(results.filter((r) => r === null)).toHaveLength(3);
    expect(await l.reserve('ip', '192.0.2.1', 4)).toBeNull();
  });

  it('names its keys with an HMAC, never the address or IP', async () => {
    const { l, written } = limiter();
    await l.reserve('verify', 'acme\nalice@example.com', 3);
    await l.reserve('ip', '192.0.2.1', 3);
    expect(written.join('\n')).not.toMatch(/alice|example|192\.0\.2/);
  });
});

describe('resolveLifecycle', () => {
  it('defaults: 24 h, 30 min, 3 an hour, 60 s, 20 per IP; links on the first allowed origin', () => {
    expect(resolveLifecycle(undefined, ['https://app.acme.example/'])).toEqual({
      links: { verifyEmail: 'https://app.acme.example/verify-email', resetPassword: 'https://app.acme.example/reset-password', forgotPassword: 'https://app.acme.example/forgot-password' },
      verifyTtlSeconds: 86400,
      resetTtlSeconds: 1800,
      sendsPerHour: 3,
      cooldownSeconds: 60,
      perIpPerHour: 20,
    });
    expect(resolveLifecycle({}, []).links).toEqual({ verifyEmail: undefined, resetPassword: undefined, forgotPassword: undefined });
    expect(resolveLifecycle({ links: { verifyEmail: 'https://x.test/v' } }, []).links.verifyEmail).toBe('https://x.test/v');
  });

  it('throws a TypeError naming the bad option', () => {
    for (const [bad, name] of [
      [{ resetTtlSeconds: 7200 }, 'lifecycle.resetTtlSeconds'],
      [{ verifyTtlSeconds: 1.5 }, 'lifecycle.verifyTtlSeconds'],
      [{ links: { resetPassword: 'javascript:alert(1)' } }, 'lifecycle.links.resetPassword'],
      [{ links: { verifyEmail: '/relative' } }, 'lifecycle.links.verifyEmail'],
      [{ perIpPerHour: 0 }, 'lifecycle.perIpPerHour'],
      [{ bogus: 1 }, 'lifecycle'],
    ] as const) {
      expect(() => resolveLifecycle(bad as never, [])).toThrow(new RegExp(`option "${name.replace(/\./g, '\\.')}`));
    }
  });
});

describe('lifecycle mails', () => {
  const token = 'Ab-_'.repeat(10) + 'xyz';
  const app = 'Acme <b>&';

  it('verification: the link carries the token in the fragment, never in the subject; HTML is escaped', () => {
    const m = verificationMessage({ token, link: 'https://app.test/verify-email?x=1#old', minutes: 1440, appName: app });
    expect(m.subject).toBe('Acme <b>&: Confirm your email address');
    expect(m.subject).not.toContain(token);
    expect(m.text).toContain(`https://app.test/verify-email?x=1#token=${token}`);
    expect(m.text).toContain('expires in 24 hours');
    expect(m.html).toContain('<h2>Acme &#60;b&#62;&#38;</h2>');
    expect(m.html).toContain(`href="https://app.test/verify-email?x=1#token=${token}"`);
    expect(m.html).not.toContain('<b>');
  });

  it('without a page the token is shown to paste; bad tokens and links are refused', () => {
    const m = passwordResetMessage({ token, minutes: 30, appName: 'Acme' });
    expect(m.text).toMatch(new RegExp(`^\\s+${token}$`, 'm'));
    expect(m.text).toContain('expires in 30 minutes');
    expect(m.text).toContain('does not turn off two-step verification');
    expect(() => passwordResetMessage({ token: 'a b', minutes: 30, appName: 'Acme' })).toThrow(TypeError);
    expect(() => verificationMessage({ token, link: 'javascript:alert(1)', minutes: 10, appName: 'Acme' })).toThrow(TypeError);
  });

  it('the "already registered" note holds no token and escapes what it shows', () => {
    const m = registrationExistsMessage({ appName: app, forgotLink: 'https://app.test/forgot-password' });
    expect(m.subject).toBe('Acme <b>&: You already have an account');
    expect(m.text).toContain('https://app.test/forgot-password');
    expect(m.html).not.toContain('<b>');
    expect(m.text).not.toMatch(/[A-Za-z0-9_-]{43}/);
  });
});
