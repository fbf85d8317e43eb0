import { randomBytes } from 'node:crypto';
/**
 * WebauthnService on responses recorded from Chromium's virtual authenticators
 * (test/fixtures/webauthn/record.ts): every signature, flag and hash checked here is a real one.
 * The recorded challenges are replayed through the `randomChallenge` option, so the service issues
 * exactly the challenge the authenticator signed; everything else is the service's own work.
 */
import {
  WebauthnService,
  commitAuthentication,
  peekAssertion,
  type AuthenticationSuccess,
  type WebauthnServiceOptions,
} from '../../lib/factors/webauthn';
import { MemoryEphemeralStore } from '../../lib/stores/ephemeral';
import { MemoryUserStore } from '../../lib/stores/memory';
import type { WebauthnCredentialRecord } from '../../lib/types';
import {
  FIXTURE_FILES,
  loadFixture,
  type FlagsFixture,
  type RecordedAuthentication,
  type SecondFactorFixture,
  type SingleAssertionFixture,
} from '../fixtures/webauthn/fixtures';

const T0 = Date.UTC(2030, 0, 1);
const sf = () => loadFixture<SecondFactorFixture>(FIXTURE_FILES.secondFactor);
const unregistered = () => loadFixture<SingleAssertionFixture>(FIXTURE_FILES.unregistered);
const passwordless = () => loadFixture<SingleAssertionFixture>(FIXTURE_FILES.passwordless);
const flags = () => loadFixture<FlagsFixture>(FIXTURE_FILES.flags);

/** Records every key written, to check what the challenge store sees. */
class KeyLog extends MemoryEphemeralStore {
  readonly keys: string[] = [];
  override async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.keys.push(key);
    return super.set(key, value, ttlMs);
  }
}

interface Harness {
  service: WebauthnService;
  clock: { now: () => number; advance: (seconds: number) => void };
  store: KeyLog;
  /** The challenge the next options call issues (a recorded one); crypto-random when none is queued. */
  replay: (challenge: string) => void;
}

function harness(origin: string, overrides: Partial<WebauthnServiceOptions> = {}): Harness {
  let t = T0;
  const clock = { now: () => t, advance: (s: number) => void (t += s * 1000) };
  const store = new KeyLog(clock.now);
  const queue: string[] = [];
  const service = new WebauthnService({
    rpId: 'localhost',
    rpName: 'passport-stepup fixtures',
    origins: [origin],
    now: clock.now,
    challenges: store,
    randomChallenge: () => queue.shift() ?? randomBytes(32).toString('base64url'),
    ...overrides,
  });
  return { service, clock, store, replay: (c) => void queue.push(c) };
}

/** The credential record the service builds from a recorded registration. */
async function registered(fx: SecondFactorFixture | SingleAssertionFixture): Promise<WebauthnCredentialRecord> {
  const h = harness(fx.meta.origin);
  h.replay(fx.registration.options.challenge);
  await h.service.registrationOptions({ user: fx.user, existing: [], binding: fx.registration.binding });
  const r = await h.service.verifyRegistration({ user: fx.user, binding: fx.registration.binding, response: fx.registration.response, name: 'Laptop' });
  if (!r.ok) throw new Error(`recorded registration did not verify: ${r.reason}`);
  return r.credential;
}

/** Issues options replaying a recorded assertion's challenge, for the recorded binding and purpose. */
async function issueFor(h: Harness, fx: { user: SecondFactorFixture['user'] }, a: RecordedAuthentication, credentials: WebauthnCredentialRecord[]) {
  h.replay(a.options.challenge);
  if (a.purpose === 'passwordless') return h.service.authenticationOptions({ purpose: 'passwordless', binding: a.binding, tenantId: fx.user.tenantId });
  return h.service.authenticationOptions({ purpose: a.purpose, binding: a.binding, user: { ...fx.user, credentials } });
}

function verify(h: Harness, fx: { user: SecondFactorFixture['user'] }, a: RecordedAuthentication, credentials: WebauthnCredentialRecord[], extra: { binding?: string; purpose?: RecordedAuthentication['purpose']; requireUserVerification?: boolean } = {}) {
  return h.service.verifyAuthentication({
    user: fx.user,
    credentials,
    binding: extra.binding ?? a.binding,
    purpose: extra.purpose ?? a.purpose,
    response: a.response,
    requireUserVerification: extra.requireUserVerification ?? false,
  });
}

function success(r: Awaited<ReturnType<WebauthnService['verifyAuthentication']>>): AuthenticationSuccess {
  if (!r.ok) throw new Error(`expected a verified assertion, got ${r.reason}`);
  return r;
}

describe('WebauthnService options', () => {
  const base = { rpId: 'example.com', rpName: 'Example', origins: ['https://example.com'], now: () => T0, challenges: new MemoryEphemeralStore() };
  it.each([
    ['rpId', { rpId: 'https://example.com' }],
    ['rpId', { rpId: 'example.com:443' }],
    ['rpName', { rpName: ' ' }],
    ['origins', { origins: [] }],
    ['origins', { origins: ['https://example.com/login'] }],
    ['origins', { origins: ['http://example.com'] }],
    ['now', { now: 'soon' }],
    ['challenges', { challenges: {} }],
    ['challengeTtlSeconds', { challengeTtlSeconds: 0 }],
    ['challengeTtlSeconds', { challengeTtlSeconds: 601 }],
  ])('refuses a bad %s with a TypeError naming it', (name, patch) => {
    const make = () => new WebauthnService({ ...base, ...(patch as Partial<WebauthnServiceOptions>) });
    expect(make).toThrow(TypeError);
    expect(make).toThrow(new RegExp(`webauthn\\.${name}`));
  });

  it('accepts http only on localhost, for development', () => {
    expect(() => new WebauthnService({ ...base, rpId: 'localhost', origins: ['http://localhost:3000'] })).not.toThrow();
  });

  it('refuses an injected challenge source that gives fewer than 16 bytes', async () => {
    const s = new WebauthnService({ ...base, randomChallenge: () => Buffer.alloc(15).toString('base64url') });
    await expect(s.authenticationOptions({ purpose: 'passwordless', binding: 'b', tenantId: 't' })).rejects.toThrow(/16 bytes/);
  });

  it('refuses a user id that cannot be a user handle (over 64 bytes)', async () => {
    const s = new WebauthnService(base);
    const user = { id: 'x'.repeat(65), tenantId: 't', email: 'a@b.test' };
    await expect(s.registrationOptions({ user, existing: [], binding: 'b' })).rejects.toThrow(TypeError);
  });

  it('issues 32 random bytes by default, different each time', async () => {
    const s = new WebauthnService(base);
    const a = await s.authenticationOptions({ purpose: 'passwordless', binding: 'b1', tenantId: 't' });
    const b = await s.authenticationOptions({ purpose: 'passwordless', binding: 'b2', tenantId: 't' });
    expect(Buffer.from(a.challenge, 'base64url')).toHaveLength(32);
    expect(a.challenge).not.toBe(b.challenge);
  });
});

describe('registration', () => {
  it('verifies the recorded registration and returns the record to store', async () => {
    const fx = sf();
    const h = harness(fx.meta.origin);
    h.replay(fx.registration.options.challenge);
    const options = await h.service.registrationOptions({ user: fx.user, existing: [], binding: fx.registration.binding });
    expect(options).toMatchObject({
      challenge: fx.registration.options.challenge,
      rp: { id: 'localhost', name: 'passport-stepup fixtures' },
      user: { id: Buffer.from(fx.user.id).toString('base64url'), name: fx.user.email, displayName: fx.user.name },
      attestation: 'none',
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      timeout: 300_000,
    });
    h.clock.advance(30);
    const r = await h.service.verifyRegistration({ user: fx.user, binding: fx.registration.binding, response: fx.registration.response, name: '  Work\u0000 laptop\n' });
    expect(r).toMatchObject({ ok: true, userVerified: true });
    if (!r.ok) return;
    expect(r.credential).toEqual({
      id: fx.registration.response.id,
      publicKey: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/),
      counter: expect.any(Number),
      transports: ['internal'],
      backedUp: false,
      name: 'Work laptop',
      createdAt: new Date(T0 + 30_000),
      lastUsedAt: null,
    });
  });

  it('excludes the credentials the user already has', async () => {
    const fx = sf();
    const cred = await registered(fx);
    const h = harness(fx.meta.origin);
    const options = await h.service.registrationOptions({ user: fx.user, existing: [cred], binding: 's1' });
    expect(options.excludeCredentials).toEqual([{ id: cred.id, type: 'public-key', transports: ['internal'] }]);
  });

  it('refuses a credential the user already has', async () => {
    const fx = sf();
    const cred = await registered(fx);
    const h = harness(fx.meta.origin);
    h.replay(fx.registration.options.challenge);
    await h.service.registrationOptions({ user: fx.user, existing: [cred], binding: fx.registration.binding });
    const r = await h.service.verifyRegistration({ user: fx.user, binding: fx.registration.binding, response: fx.registration.response, name: 'again', existing: [cred] });
    expect(r).toEqual({ ok: false, reason: 'already_registered' });
  });

  it('uses a challenge once: the same response replayed fails, even into fresh options', async () => {
    const fx = sf();
    const h = harness(fx.meta.origin);
    h.replay(fx.registration.options.challenge);
    await h.service.registrationOptions({ user: fx.user, existing: [], binding: fx.registration.binding });
    const input = { user: fx.user, binding: fx.registration.binding, response: fx.registration.response, name: 'x' };
    expect((await h.service.verifyRegistration(input)).ok).toBe(true);
    expect(await h.service.verifyRegistration(input)).toEqual({ ok: false, reason: 'challenge_missing' });
    // New options for the same session carry a new random challenge: the captured response does not match it.
    await h.service.registrationOptions({ user: fx.user, existing: [], binding: fx.registration.binding });
    expect(await h.service.verifyRegistration(input)).toEqual({ ok: false, reason: 'invalid_response' });
  });

  it('binds the challenge to the session: another binding finds nothing and does not burn it', async () => {
    const fx = sf();
    const h = harness(fx.meta.origin);
    h.replay(fx.registration.options.challenge);
    await h.service.registrationOptions({ user: fx.user, existing: [], binding: fx.registration.binding });
    const other = await h.service.verifyRegistration({ user: fx.user, binding: 'attacker-session', response: fx.registration.response, name: 'x' });
    expect(other).toEqual({ ok: false, reason: 'challenge_missing' });
    const own = await h.service.verifyRegistration({ user: fx.user, binding: fx.registration.binding, response: fx.registration.response, name: 'x' });
    expect(own.ok).toBe(true);
  });

  it('binds the challenge to the user and the tenant', async () => {
    const fx = sf();
    const h = harness(fx.meta.origin);
    h.replay(fx.registration.options.challenge);
    await h.service.registrationOptions({ user: fx.user, existing: [], binding: fx.registration.binding });
    const otherTenant = await h.service.verifyRegistration({ user: { ...fx.user, tenantId: 'tenant-other' }, binding: fx.registration.binding, response: fx.registration.response, name: 'x' });
    expect(otherTenant).toEqual({ ok: false, reason: 'challenge_missing' });
    const otherUser = await h.service.verifyRegistration({ user: { ...fx.user, id: 'someone-else' }, binding: fx.registration.binding, response: fx.registration.response, name: 'x' });
    expect(otherUser).toEqual({ ok: false, reason: 'challenge_mismatch' });
  });

  it('expires the challenge after 5 minutes on the injected clock', async () => {
    const fx = sf();
    const h = harness(fx.meta.origin);
    const input = { user: fx.user, binding: fx.registration.binding, response: fx.registration.response, name: 'x' };
    h.replay(fx.registration.options.challenge);
    await h.service.registrationOptions({ user: fx.user, existing: [], binding: fx.registration.binding });
    h.clock.advance(299);
    expect((await h.service.verifyRegistration(input)).ok).toBe(true);

    h.replay(fx.registration.options.challenge);
    await h.service.registrationOptions({ user: fx.user, existing: [], binding: fx.registration.binding });
    h.clock.advance(300);
    expect(await h.service.verifyRegistration(input)).toEqual({ ok: false, reason: 'challenge_expired' });
  });

  it('reports challenge_expired when the store still holds an expired challenge', async () => {
    const fx = sf();
    let t = T0;
    // A store whose TTL runs on another (slower) clock: expiry must still follow the service's clock.
    const h = harness(fx.meta.origin, { now: () => t, challenges: new MemoryEphemeralStore(() => T0) });
    h.replay(fx.registration.options.challenge);
    await h.service.registrationOptions({ user: fx.user, existing: [], binding: fx.registration.binding });
    t += 301_000;
    const r = await h.service.verifyRegistration({ user: fx.user, binding: fx.registration.binding, response: fx.registration.response, name: 'x' });
    expect(r).toEqual({ ok: false, reason: 'challenge_expired' });
  });

  it.each([
    ['origin', { origins: ['https://evil.example'] }],
    ['RP ID', { rpId: 'example.com' }],
  ])('fails when the configured %s is not the one the browser used', async (_what, overrides) => {
    const fx = sf();
    const h = harness(fx.meta.origin, overrides);
    h.replay(fx.registration.options.challenge);
    await h.service.registrationOptions({ user: fx.user, existing: [], binding: fx.registration.binding });
    const r = await h.service.verifyRegistration({ user: fx.user, binding: fx.registration.binding, response: fx.registration.response, name: 'x' });
    expect(r).toEqual({ ok: false, reason: 'invalid_response' });
  });

  it('never puts the session id in a store key', async () => {
    const fx = sf();
    const h = harness(fx.meta.origin);
    await h.service.registrationOptions({ user: fx.user, existing: [], binding: 'sess:SECRET-SESSION-ID' });
    expect(h.store.keys).toHaveLength(1);
    expect(h.store.keys[0]).toMatch(/^webauthn:challenge:tenant-acme:register:/);
    expect(h.store.keys[0]).not.toContain('SECRET-SESSION-ID');
  });
});

describe('authentication as a second factor', () => {
  it('lists the user\'s credentials in the options', async () => {
    const fx = sf();
    const cred = await registered(fx);
    const h = harness(fx.meta.origin);
    const options = await issueFor(h, fx, fx.authentications[0], [cred]);
    expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'preferred', allowCredentials: [{ id: cred.id, type: 'public-key', transports: ['internal'] }] });
  });

  it('verifies two successive assertions and the counter moves in the store', async () => {
    const fx = sf();
    const cred = await registered(fx);
    const users = new MemoryUserStore({ now: () => T0 });
    const stored = await users.create({ tenantId: fx.user.tenantId, email: fx.user.email, roles: ['user'], passwordHash: 'x' });
    await users.update(stored.tenantId, stored.id, { mfa: { webauthn: [cred] } });
    const h = harness(fx.meta.origin);
    let counter = cred.counter;
    for (const a of fx.authentications) {
      const current = (await users.findById(stored.tenantId, stored.id))!.mfa.webauthn!;
      await issueFor(h, fx, a, current);
      const r = success(await verify(h, fx, a, current));
      expect(r).toMatchObject({ credentialId: cred.id, userVerified: true, userHandle: fx.user.id, backedUp: false });
      expect(r.newCounter).toBeGreaterThan(counter);
      const at = new Date(h.clock.now());
      // The store assigns its own user ids; the recordings carry the fixture's id as user handle.
      expect(await commitAuthentication(users, stored, r, at)).toEqual({ ok: true });
      const after = (await users.findById(stored.tenantId, stored.id))!.mfa.webauthn![0]!;
      expect(after).toMatchObject({ counter: r.newCounter, lastUsedAt: at });
      counter = r.newCounter;
      h.clock.advance(60);
    }
  });

  it('refuses a counter that goes backwards as counter_regression (second recording, then the first)', async () => {
    const fx = sf();
    const cred = await registered(fx);
    const [first, second] = fx.authentications;
    const h = harness(fx.meta.origin);
    await issueFor(h, fx, second, [cred]);
    const r2 = success(await verify(h, fx, second, [cred]));
    const afterSecond = { ...cred, counter: r2.newCounter };
    await issueFor(h, fx, first, [afterSecond]);
    expect(await verify(h, fx, first, [afterSecond])).toEqual({ ok: false, reason: 'counter_regression' });
  });

  it('refuses the regression atomically in the store when two verifications raced on a stale counter', async () => {
    const fx = sf();
    const cred = await registered(fx);
    const users = new MemoryUserStore();
    const stored = await users.create({ tenantId: fx.user.tenantId, email: fx.user.email, roles: ['user'], passwordHash: 'x' });
    await users.update(stored.tenantId, stored.id, { mfa: { webauthn: [cred] } });
    const [first, second] = fx.authentications;
    const h = harness(fx.meta.origin);
    // Both verified against the same (stale) stored counter, as two processes would.
    await issueFor(h, fx, first, [cred]);
    await issueFor(h, fx, second, [cred]);
    const r1 = success(await verify(h, fx, first, [cred]));
    const r2 = success(await verify(h, fx, second, [cred]));
    expect(await commitAuthentication(users, stored, r2, new Date(T0))).toEqual({ ok: true });
    expect(await commitAuthentication(users, stored, r1, new Date(T0))).toEqual({ ok: false, reason: 'counter_regression' });
    expect((await users.findById(stored.tenantId, stored.id))!.mfa.webauthn![0]!.counter).toBe(r2.newCounter);
  });

  it('uses a challenge once: a replayed assertion fails, even into fresh options', async () => {
    const fx = sf();
    const cred = await registered(fx);
    const a = fx.authentications[0];
    const h = harness(fx.meta.origin);
    await issueFor(h, fx, a, [cred]);
    expect((await verify(h, fx, a, [cred])).ok).toBe(true);
    expect(await verify(h, fx, a, [cred])).toEqual({ ok: false, reason: 'challenge_missing' });
    await h.service.authenticationOptions({ purpose: 'login', binding: a.binding, user: { ...fx.user, credentials: [cred] } });
    expect(await verify(h, fx, a, [cred])).toEqual({ ok: false, reason: 'invalid_response' });
  });

  it('lets exactly one of two concurrent verifications of the same assertion through', async () => {
    const fx = sf();
    const cred = await registered(fx);
    const a = fx.authentications[0];
    const h = harness(fx.meta.origin);
    await issueFor(h, fx, a, [cred]);
    const results = await Promise.all([verify(h, fx, a, [cred]), verify(h, fx, a, [cred])]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, reason: 'challenge_missing' }]);
  });

  it('binds the challenge to the session and the purpose', async () => {
    const fx = sf();
    const cred = await registered(fx);
    const a = fx.authentications[0]; // issued for purpose 'login'
    const h = harness(fx.meta.origin);
    await issueFor(h, fx, a, [cred]);
    expect(await verify(h, fx, a, [cred], { binding: 'another-session' })).toEqual({ ok: false, reason: 'challenge_missing' });
    expect(await verify(h, fx, a, [cred], { purpose: 'step_up' })).toEqual({ ok: false, reason: 'challenge_missing' });
    expect(await verify(h, fx, a, [cred], { purpose: 'passwordless' })).toEqual({ ok: false, reason: 'challenge_missing' });
    expect((await verify(h, fx, a, [cred])).ok).toBe(true);
  });

  it('expires the challenge after 5 minutes', async () => {
    const fx = sf();
    const cred = await registered(fx);
    const a = fx.authentications[0];
    const h = harness(fx.meta.origin);
    await issueFor(h, fx, a, [cred]);
    h.clock.advance(301);
    expect(await verify(h, fx, a, [cred])).toEqual({ ok: false, reason: 'challenge_expired' });
    // Long after, the store has dropped it: still refused.
    await issueFor(h, fx, a, [cred]);
    h.clock.advance(3600);
    expect(await verify(h, fx, a, [cred])).toEqual({ ok: false, reason: 'challenge_missing' });
  });

  it.each([
    ['origin', { origins: ['https://evil.example'] }],
    ['RP ID', { rpId: 'example.com' }],
  ])('fails when the configured %s is not the one the browser used', async (_what, overrides) => {
    const fx = sf();
    const cred = await registered(fx);
    const a = fx.authentications[0];
    const h = harness(fx.meta.origin, overrides);
    await issueFor(h, fx, a, [cred]);
    expect(await verify(h, fx, a, [cred])).toEqual({ ok: false, reason: 'invalid_response' });
  });

  it('fails on a tampered signature or authenticator data', async () => {
    const fx = sf();
    const cred = await registered(fx);
    const a = fx.authentications[0];
    const h = harness(fx.meta.origin);
    const sig = Buffer.from(a.response.response.signature, 'base64url');
    sig[sig.length - 1]! ^= 1;
    const tampered = { ...a, response: { ...a.response, response: { ...a.response.response, signature: sig.toString('base64url') } } };
    await issueFor(h, fx, a, [cred]);
    expect(await verify(h, fx, tampered, [cred])).toEqual({ ok: false, reason: 'invalid_response' });
  });

  it('refuses an assertion without user presence (UP = 0)', async () => {
    const fx = flags();
    const cred = await registered(sf());
    const a = fx.userNotPresent;
    const h = harness(fx.meta.origin);
    await issueFor(h, fx, a, [cred]);
    expect(await verify(h, fx, a, [cred], { requireUserVerification: false })).toEqual({ ok: false, reason: 'invalid_response' });
  });

  it('refuses an assertion without user verification (UV = 0) when it is required, and says so when not', async () => {
    const fx = flags();
    const cred = await registered(sf());
    const a = fx.userNotVerified;
    const h = harness(fx.meta.origin);
    await issueFor(h, fx, a, [cred]);
    expect(await verify(h, fx, a, [cred], { requireUserVerification: true })).toEqual({ ok: false, reason: 'invalid_response' });
    // After a password, UV is not required: the same assertion passes, reported as not user-verified.
    await issueFor(h, fx, a, [cred]);
    expect(success(await verify(h, fx, a, [cred], { requireUserVerification: false }))).toMatchObject({ userVerified: false });
  });

  it('refuses an assertion whose signature the authenticator zeroed', async () => {
    const fx = flags();
    const cred = await registered(sf());
    const a = fx.bogusSignature;
    const h = harness(fx.meta.origin);
    await issueFor(h, fx, a, [cred]);
    expect(await verify(h, fx, a, [cred])).toEqual({ ok: false, reason: 'invalid_response' });
  });

  it('refuses the assertion of an authenticator that is not registered', async () => {
    const fx = unregistered();
    const mine = await registered(sf());
    const a = fx.authentication;
    const h = harness(fx.meta.origin);
    await issueFor(h, fx, a, [mine]);
    expect(a.response.id).not.toBe(mine.id);
    expect(await verify(h, fx, a, [mine])).toEqual({ ok: false, reason: 'unknown_credential' });
    // The challenge went with the failed attempt: a second try needs new options.
    expect(await verify(h, fx, a, [mine])).toEqual({ ok: false, reason: 'challenge_missing' });
  });

  it('refuses a credential stored under the user when the assertion names another user', async () => {
    const fx = sf();
    const cred = await registered(fx);
    const a = fx.authentications[0];
    const h = harness(fx.meta.origin);
    const someoneElse = { ...fx.user, id: 'another-user-id' };
    h.replay(a.options.challenge);
    await h.service.authenticationOptions({ purpose: 'login', binding: a.binding, user: { ...someoneElse, credentials: [cred] } });
    const r = await h.service.verifyAuthentication({ user: someoneElse, credentials: [cred], binding: a.binding, purpose: 'login', response: a.response, requireUserVerification: false });
    expect(r).toEqual({ ok: false, reason: 'user_mismatch' });
  });
});

describe('passwordless sign-in with a discoverable passkey', () => {
  it('offers no allow list, requires user verification, and returns the user handle', async () => {
    const fx = passwordless();
    const cred = await registered(fx);
    const a = fx.authentication;
    const h = harness(fx.meta.origin);
    const options = await issueFor(h, fx, a, [cred]);
    expect(options).toMatchObject({ allowCredentials: [], userVerification: 'required' });
    // The pipeline finds the user from the (unverified) handle, then verifies everything.
    expect(peekAssertion(a.response)).toEqual({ credentialId: cred.id, userId: fx.user.id });
    const r = success(await verify(h, fx, a, [cred], { requireUserVerification: true }));
    expect(r).toMatchObject({ credentialId: cred.id, userHandle: fx.user.id, userVerified: true });
    expect(r.newCounter).toBeGreaterThan(cred.counter);
  });

  it('refuses when the user handle names another user than the one loaded', async () => {
    const fx = passwordless();
    const cred = await registered(fx);
    const a = fx.authentication;
    const h = harness(fx.meta.origin);
    await issueFor(h, fx, a, [cred]);
    const r = await h.service.verifyAuthentication({ user: { ...fx.user, id: 'alice' }, credentials: [cred], binding: a.binding, purpose: 'passwordless', response: a.response, requireUserVerification: true });
    expect(r).toEqual({ ok: false, reason: 'user_mismatch' });
  });

  it('a passwordless challenge is bound to its tenant', async () => {
    const fx = passwordless();
    const cred = await registered(fx);
    const a = fx.authentication;
    const h = harness(fx.meta.origin);
    await issueFor(h, fx, a, [cred]);
    const r = await h.service.verifyAuthentication({ user: { ...fx.user, tenantId: 'tenant-other' }, credentials: [cred], binding: a.binding, purpose: 'passwordless', response: a.response, requireUserVerification: true });
    expect(r).toEqual({ ok: false, reason: 'challenge_missing' });
  });

  it('peekAssertion reads nothing from a body that is not an assertion', () => {
    expect(peekAssertion(null)).toBeNull();
    expect(peekAssertion({ id: 5, response: {} })).toBeNull();
    expect(peekAssertion({ id: 'abc' })).toBeNull();
    expect(peekAssertion({ id: 'abc', response: {} })).toEqual({ credentialId: 'abc', userId: null });
  });
});
