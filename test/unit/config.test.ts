import { randomBytes } from 'node:crypto';
import { resolveOptions, type StepUpOptions } from '../../lib/config';
import { createStepUp } from '../../index';
import { MemoryTenantStore, MemoryUserStore } from '../../lib/stores/memory';
import { Passport } from 'passport';

const SECRET = 'a-session-secret-of-at-least-32-characters!';

function base(): StepUpOptions {
  return {
    issuer: 'Acme',
    session: { secret: SECRET },
    keys: [{ id: 'k1', key: randomBytes(32) }],
    stores: { users: new MemoryUserStore(), tenants: new MemoryTenantStore() },
  };
}

function typeErrorOf(fn: () => unknown): TypeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TypeError);
    return e as TypeError;
  }
  throw new Error('expected a TypeError');
}

describe('options: defaults', () => {
  it('fills the documented defaults', () => {
    const o = resolveOptions(base());
    expect(o.session).toMatchObject({ secrets: [SECRET], secureCookie: 'auto', sameSite: 'lax', idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43200 });
    expect(o.pendingTtlSeconds).toBe(300);
    expect(o.challengeMaxFailures).toBe(5);
    expect(o.lockout).toEqual({ maxFailures: 10, lockSeconds: 900, maxLocksPerDay: 3 });
    expect(o.totp).toEqual({ windowPast: 1, windowFuture: 1 });
    expect(o.redisPrefix).toBe('stepup:');
    expect(o.allowedOrigins).toEqual([]);
    expect(o.emailOtpCountsAsSecondFactor).toBe(false);
    expect(typeof o.now).toBe('function');
  });
});

describe('options: one TypeError naming the bad option', () => {
  const cases: [string, (o: StepUpOptions) => unknown, RegExp][] = [
    ['session.secret too short', (o) => (o.session.secret = 'short'), /"session\.secret"/],
    ['session.secret list with a short one', (o) => (o.session.secret = [SECRET, 'short']), /"session\.secret/],
    ['session missing', (o) => delete (o as Partial<StepUpOptions>).session, /"session"/],
    ['keys missing', (o) => delete (o as Partial<StepUpOptions>).keys, /"keys"/],
    ['keys empty', (o) => (o.keys = []), /"keys"/],
    ['stores.users missing', (o) => delete (o.stores as Partial<StepUpOptions['stores']>).users, /"stores\.users"/],
    ['issuer empty', (o) => (o.issuer = ''), /"issuer"/],
    ['allowedOrigins not a URL', (o) => (o.allowedOrigins = ['not a url']), /"allowedOrigins\.0"/],
    ['allowedOrigins not an array', (o) => (o.allowedOrigins = 'https://a.example' as never), /"allowedOrigins"/],
    ['pendingTtlSeconds zero', (o) => (o.pendingTtlSeconds = 0), /"pendingTtlSeconds"/],
    ['lockout above the NIST cap of 100', (o) => (o.lockout = { maxFailures: 101 }), /"lockout\.maxFailures"/],
    ['totp window of 3 steps', (o) => (o.totp = { windowFuture: 3 }), /"totp\.windowFuture"/],
    ['idle timeout as a string', (o) => (o.session.idleTimeoutSeconds = '1800' as never), /"session\.idleTimeoutSeconds"/],
    ['sameSite none', (o) => (o.session.sameSite = 'none' as never), /"session\.sameSite"/],
    ['cookie name with a space', (o) => (o.session.cookieName = 'my sid'), /"session\.cookieName"/],
    ['now not a function', (o) => (o.now = 5 as never), /"now"/],
  ];
  it.each(cases)('%s', (_name, mutate, message) => {
    const o = base();
    mutate(o);
    expect(typeErrorOf(() => resolveOptions(o)).message).toMatch(message);
  });

  it('no options at all', () => {
    expect(typeErrorOf(() => resolveOptions(undefined as never)).message).toMatch(/options/);
  });

  it('a bad key is refused when the plugin is built', () => {
    const o = { ...base(), keys: [{ id: 'k1', key: randomBytes(16) }], passport: new Passport() };
    expect(typeErrorOf(() => createStepUp(o)).message).toMatch(/keys\[k1\]\.key/);
  });

  it('allowedOrigins that have no web origin (javascript:, file:, data:) are refused: they would allowlist "Origin: null"', () => {
    // Guarded in routes/common.ts originCheck (construction-time TypeError); config.ts accepts any URL.
    for (const bad of ['javascript:alert(1)', 'file:///etc/passwd', 'data:text/html,x']) {
      const o = { ...base(), allowedOrigins: [bad], passport: new Passport() };
      expect(typeErrorOf(() => createStepUp(o)).message).toMatch(/allowedOrigins/);
    }
  });
});
