/**
 * A test app for passkeys on responses recorded from Chromium's virtual authenticators
 * (test/fixtures/webauthn): the app is configured for the recording's origin (RP ID `localhost`),
 * users get the recording's user ids (the user handle the authenticator signed), and the recorded
 * challenges are replayed through the WebAuthn service's `randomChallenge` hook.
 */
import { randomBytes } from 'node:crypto';
import { MemoryAuditStore, MemoryTenantStore, MemoryUserStore } from '../../index';
import { internalContextOf } from '../../testing';
import { WebauthnService } from '../../lib/factors/webauthn';
import type { NewUser, UserRecord } from '../../lib/types';
import { buildApp, TestClock, type TestApp } from './app';
import { FIXTURE_FILES, loadFixture, type SecondFactorFixture, type SingleAssertionFixture, type FlagsFixture } from '../fixtures/webauthn/fixtures';

export const fixtures = {
  secondFactor: () => loadFixture<SecondFactorFixture>(FIXTURE_FILES.secondFactor),
  unregistered: () => loadFixture<SingleAssertionFixture>(FIXTURE_FILES.unregistered),
  passwordless: () => loadFixture<SingleAssertionFixture>(FIXTURE_FILES.passwordless),
  flags: () => loadFixture<FlagsFixture>(FIXTURE_FILES.flags),
};

/** The origin the responses were recorded on (the same for every file). */
export const RECORDED_ORIGIN = fixtures.secondFactor().meta.origin;

/** Memory users whose next ids are chosen by the test (the recorded user handles). */
export class FixedIdUserStore extends MemoryUserStore {
  readonly nextIds: string[] = [];
  override async create(input: NewUser): Promise<UserRecord> {
    const user = await super.create(input);
    const id = this.nextIds.shift();
    if (!id) return user;
    // The base class keys users by id; move the record under the chosen id.
    const map = (this as unknown as { users: Map<string, UserRecord> }).users;
    const rec = map.get(user.id)!;
    map.delete(user.id);
    rec.id = id;
    map.set(id, rec);
    return { ...user, id };
  }
}

export interface PasskeyApp extends TestApp {
  users: FixedIdUserStore;
  /** The next options call issues this (recorded) challenge. */
  replay(challenge: string): void;
}

export function buildPasskeyApp(overrides: Parameters<typeof buildApp>[0] = {}): PasskeyApp {
  const clock = overrides.clock ?? new TestClock();
  const users = new FixedIdUserStore({ now: clock.now });
  const tenants = new MemoryTenantStore({ now: clock.now });
  const audit = new MemoryAuditStore();
  const t = buildApp({ ...overrides, clock, overrides: { allowedOrigins: [RECORDED_ORIGIN], stores: { users, tenants, audit }, ...(overrides.overrides ?? {}) } });
  const ctx = internalContextOf(t.stepUp);
  const built = ctx.webauthn!;
  const queue: string[] = [];
  // Same relying party as the one createStepUp built from the options; only the challenge source differs.
  ctx.webauthn = new WebauthnService({
    rpId: built.rpId,
    rpName: built.rpName,
    origins: [...built.origins],
    now: clock.now,
    challenges: ctx.ephemeral,
    randomChallenge: () => queue.shift() ?? randomBytes(32).toString('base64url'),
  });
  return { ...t, users, tenants, audit, replay: (c) => void queue.push(c) };
}
