import { randomBytes } from 'node:crypto';
import { StepUpError } from '../../lib/errors';
import type { AuditStore, TenantStore, UserStore } from '../../lib/stores/ports';
import { DEFAULT_POLICY, type NewUser, type RememberedDeviceRecord, type TenantPolicy, type WebauthnCredentialRecord } from '../../lib/types';

/**
 * One contract for every store adapter (memory, mongoose in both layouts, a host's own): the behaviour the
 * plugin relies on, including tenant scoping and the atomic one-time primitives under concurrency.
 * `makeStores` is called before each test with the clock the stores must use, and must return empty stores.
 * Users always belong to a registered tenant (a database-per-tenant adapter finds their database through it).
 */
export interface ContractStores {
  users: UserStore;
  tenants: TenantStore;
  audit: AuditStore;
  dropTenantData?(slug: string): Promise<void>;
}
export type MakeStores = (opts: { now: () => number }) => Promise<ContractStores>;

/** The stores' clock in the contract: a fixed instant, so `createdAt` proves where time came from. */
const CLOCK = Date.parse('2031-07-07T07:07:07.000Z');
const now = () => CLOCK;

/** Registers the two tenants the user and audit contracts write to; returns their ids. */
async function twoTenants(tenants: TenantStore): Promise<[string, string]> {
  const a = await tenants.create({ slug: 'one', name: 'One', policy: { ...DEFAULT_POLICY } });
  const b = await tenants.create({ slug: 'two', name: 'Two', policy: { ...DEFAULT_POLICY } });
  return [a.id, b.id];
}

function newUser(tenantId: string, email: string, extra: Partial<NewUser> = {}): NewUser {
  return { tenantId, email, name: 'N', roles: ['user'], passwordHash: '$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA', emailVerifiedAt: null, ...extra };
}

async function expectConflict(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StepUpError);
  expect((err as StepUpError).code).toBe('conflict');
}

/** A Date (from whatever realm: structuredClone and drivers build their own). */
function expectDate(v: unknown): void {
  expect(Object.prototype.toString.call(v)).toBe('[object Date]');
  expect(Number.isNaN((v as Date).getTime())).toBe(false);
}

const totp = (lastStep: number) => ({ secret: 'v1.k1.sealed', enrolledAt: new Date('2026-01-01T00:00:00Z'), lastStep });
const codes = (...hashes: string[]) => hashes.map((hash) => ({ hash, usedAt: null }));
const hex = () => randomBytes(32).toString('hex');

export function runUserStoreContract(name: string, makeStores: MakeStores): void {
  describe(`${name}: UserStore contract`, () => {
    let users: UserStore;
    let T1: string;
    let T2: string;
    beforeEach(async () => {
      const s = await makeStores({ now });
      users = s.users;
      [T1, T2] = await twoTenants(s.tenants);
    });

    it('creates a user with empty MFA state, createdAt from the injected clock', async () => {
      const u = await users.create(newUser(T1, 'a@x.test'));
      expect(u).toMatchObject({ id: expect.any(String), tenantId: T1, email: 'a@x.test', name: 'N', roles: ['user'] });
      expect(u.mfa.backupCodes).toEqual([]);
      expect(u.mfa.totp ?? null).toBeNull();
      expectDate(u.createdAt);
      expect(new Date(u.createdAt).getTime()).toBe(CLOCK);
      expect(new Date((await users.findById(T1, u.id))!.createdAt).getTime()).toBe(CLOCK);
      const given = new Date('2030-01-01T00:00:00Z');
      expect(new Date((await users.create(newUser(T1, 'b@x.test', { createdAt: given }))).createdAt).getTime()).toBe(given.getTime());
      expect(u.disabledAt ?? null).toBeNull();
      expect(await users.findById(T1, u.id)).toMatchObject({ id: u.id, email: 'a@x.test' });
    });

    it('keeps emails unique per tenant only', async () => {
      await users.create(newUser(T1, 'a@x.test'));
      await expectConflict(users.create(newUser(T1, 'a@x.test')));
      const other = await users.create(newUser(T2, 'a@x.test'));
      expect(other.tenantId).toBe(T2);
      expect((await users.findByEmail(T1, 'a@x.test'))!.id).not.toBe(other.id);
      expect((await users.findByEmail(T2, 'a@x.test'))!.id).toBe(other.id);
    });

    it('never finds a user through another tenant', async () => {
      const u = await users.create(newUser(T1, 'a@x.test'));
      expect(await users.findById(T2, u.id)).toBeNull();
      expect(await users.findByEmail(T2, 'a@x.test')).toBeNull();
      expect(await users.findById(T1, 'no-such-id')).toBeNull();
      expect(await users.update(T2, u.id, { name: 'hijacked', disabledAt: new Date() })).toBeNull();
      expect(await users.advanceTotpStep(T2, u.id, 5)).toBe(false);
      expect(await users.consumeBackupCode(T2, u.id, 'h', new Date())).toBe(false);
      expect((await users.findById(T1, u.id))!.name).toBe('N');
    });

    it('lists a tenant page by page, ordered by id', async () => {
      for (let i = 0; i < 5; i++) await users.create(newUser(T1, `u${i}@x.test`));
      for (let i = 0; i < 2; i++) await users.create(newUser(T2, `u${i}@x.test`));
      const seen: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 5; page++) {
        const got = await users.list(T1, { limit: 2, after });
        expect(got.length).toBeLessThanOrEqual(2);
        if (!got.length) break;
        expect(got.every((u) => u.tenantId === T1)).toBe(true);
        seen.push(...got.map((u) => u.id));
        after = got[got.length - 1]!.id;
      }
      expect(seen).toHaveLength(5);
      expect(new Set(seen).size).toBe(5);
      expect([...seen].sort()).toEqual(seen);
      expect(await users.list(T1, { limit: 10, after })).toEqual([]);
      expect(await users.list(T2, { limit: 10 })).toHaveLength(2);
    });

    it('updates field by field; null removes a field; mfa fields are set one by one', async () => {
      const u = await users.create(newUser(T1, 'a@x.test'));
      const at = new Date('2026-02-02T00:00:00Z');
      let got = await users.update(T1, u.id, { name: 'Ann', roles: ['admin'], disabledAt: at, mfa: { totp: totp(7), sms: { phone: '+12025550123', enabledAt: at } } });
      expect(got).toMatchObject({ name: 'Ann', roles: ['admin'], mfa: { totp: { lastStep: 7 }, sms: { phone: '+12025550123' } } });
      expect(new Date(got!.disabledAt!).getTime()).toBe(at.getTime());

      got = await users.update(T1, u.id, { disabledAt: null, mfa: { sms: null, email: { enabledAt: at } } });
      expect(got!.disabledAt ?? null).toBeNull();
      expect(got!.mfa.sms ?? null).toBeNull();
      expect(got!.mfa.totp).toMatchObject({ lastStep: 7, secret: 'v1.k1.sealed' });
      expect(got!.mfa.email).toBeTruthy();
      expect(got!.name).toBe('Ann');
      expect(await users.findById(T1, u.id)).toEqual(got);

      got = await users.update(T1, u.id, { mfa: { totp: null, email: null, backupCodes: [], backupCodeSalt: null } });
      expect(got!.mfa.totp ?? null).toBeNull();
      expect(got!.mfa.email ?? null).toBeNull();
      expect(got!.mfa.backupCodes).toEqual([]);
    });

    it('advances the TOTP step only forward, and exactly once under a race', async () => {
      const u = await users.create(newUser(T1, 'a@x.test'));
      expect(await users.advanceTotpStep(T1, u.id, 1)).toBe(false); // no TOTP yet
      await users.update(T1, u.id, { mfa: { totp: totp(100) } });
      expect(await users.advanceTotpStep(T1, u.id, 100)).toBe(false);
      expect(await users.advanceTotpStep(T1, u.id, 99)).toBe(false);
      expect(await users.advanceTotpStep(T1, u.id, 101)).toBe(true);
      const race = await Promise.all(Array.from({ length: 20 }, () => users.advanceTotpStep(T1, u.id, 102)));
      expect(race.filter(Boolean)).toHaveLength(1);
      expect((await users.findById(T1, u.id))!.mfa.totp!.lastStep).toBe(102);
    });

    it('with the enrolment the caller verified against: forward only, once under a race, and never for a secret replaced meanwhile', async () => {
      const u = await users.create(newUser(T1, 'e@x.test'));
      const first = totp(100);
      await users.update(T1, u.id, { mfa: { totp: first } });
      const at = new Date(first.enrolledAt);
      expect(await users.advanceTotpStep(T1, u.id, 100, at)).toBe(false);
      const race = await Promise.all(Array.from({ length: 20 }, () => users.advanceTotpStep(T1, u.id, 101, at)));
      expect(race.filter(Boolean)).toHaveLength(1);
      // Re-enrolled (a new secret, a new series of steps) while a code of the old one was being checked.
      const second = { ...totp(0), enrolledAt: new Date(at.getTime() + 60_000) };
      await users.update(T1, u.id, { mfa: { totp: second } });
      expect(await users.advanceTotpStep(T1, u.id, 102, at)).toBe(false);
      expect((await users.findById(T1, u.id))!.mfa.totp!.lastStep).toBe(0);
      expect(await users.advanceTotpStep(T1, u.id, 102, new Date(second.enrolledAt))).toBe(true);
    });

    it('consumes a backup code once, and exactly once under a race', async () => {
      const u = await users.create(newUser(T1, 'a@x.test'));
      const [h1, h2, h3] = [hex(), hex(), hex()];
      await users.update(T1, u.id, { mfa: { backupCodes: codes(h1!, h2!, h3!), backupCodeSalt: 'salt', backupCodeKeyId: 'k1' } });
      const at = new Date('2026-03-03T00:00:00Z');
      const race = await Promise.all(Array.from({ length: 20 }, () => users.consumeBackupCode(T1, u.id, h1!, at)));
      expect(race.filter(Boolean)).toHaveLength(1);
      expect(await users.consumeBackupCode(T1, u.id, h1!, at)).toBe(false);
      expect(await users.consumeBackupCode(T1, u.id, hex(), at)).toBe(false);
      expect(await users.consumeBackupCode(T2, u.id, h3!, at)).toBe(false);
      expect(await users.consumeBackupCode(T1, u.id, h2!, at)).toBe(true);
      const stored = (await users.findById(T1, u.id))!.mfa.backupCodes;
      expect(stored.map((c) => (c.usedAt ? new Date(c.usedAt).getTime() : null))).toEqual([at.getTime(), at.getTime(), null]);
    });

    it('round-trips sessionsValidAfter, lockedUntil, lockCount, rememberedDevices and passkeys', async () => {
      const u = await users.create(newUser(T1, 'a@x.test'));
      const t = (iso: string) => new Date(iso);
      const device: RememberedDeviceRecord = { id: 'dev-1', hash: hex(), label: 'Firefox on Linux', createdAt: t('2026-06-01T00:00:00Z'), expiresAt: t('2026-07-01T00:00:00Z'), lastUsedAt: null };
      const key = credential('cred-1', 7);
      const patch = {
        sessionsValidAfter: t('2026-06-02T00:00:00Z'),
        lockedUntil: t('2026-06-03T00:00:00Z'),
        lockCount: 3,
        rememberedDevices: [device],
        mfa: { webauthn: [key, credential('cred-2', 0)] },
      };
      const got = await users.update(T1, u.id, patch);
      const found = await users.findById(T1, u.id);
      expect(found).toEqual(got);
      for (const r of [got!, found!]) {
        expect(ms(r.sessionsValidAfter)).toBe(patch.sessionsValidAfter.getTime());
        expect(ms(r.lockedUntil)).toBe(patch.lockedUntil.getTime());
        expect(r.lockCount).toBe(3);
        expect(r.rememberedDevices).toHaveLength(1);
        expect({ ...r.rememberedDevices![0]!, createdAt: ms(r.rememberedDevices![0]!.createdAt), expiresAt: ms(r.rememberedDevices![0]!.expiresAt) }).toEqual({
          ...device,
          createdAt: device.createdAt.getTime(),
          expiresAt: device.expiresAt.getTime(),
        });
        expect(r.mfa.webauthn!.map((c) => ({ ...c, createdAt: ms(c.createdAt) }))).toEqual([
          { ...key, createdAt: key.createdAt.getTime() },
          { ...credential('cred-2', 0), createdAt: key.createdAt.getTime() },
        ]);
      }
      // null removes; lockCount back to 0; the other fields stay.
      const cleared = await users.update(T1, u.id, { sessionsValidAfter: null, lockedUntil: null, lockCount: 0, rememberedDevices: [] });
      expect(cleared!.sessionsValidAfter ?? null).toBeNull();
      expect(cleared!.lockedUntil ?? null).toBeNull();
      expect(cleared!.lockCount).toBe(0);
      expect(cleared!.rememberedDevices ?? []).toEqual([]);
      expect(cleared!.mfa.webauthn).toHaveLength(2);
      expect(await users.findById(T1, u.id)).toEqual(cleared);
      expect(await users.update(T2, u.id, { lockCount: 9 })).toBeNull();
    });

    it('replaces the passkey list only from the state it was read in: of concurrent writers exactly one wins', async () => {
      const u = await users.create(newUser(T1, 'pk@x.test'));
      const a = credential('cred-a', 0);
      expect(await users.replaceWebauthnCredentials(T1, u.id, [], { mfa: { webauthn: [a] } })).toBe(true);
      // Written from a stale read (the empty list): refused, nothing changes.
      expect(await users.replaceWebauthnCredentials(T1, u.id, [], { mfa: { webauthn: [credential('cred-x', 0)] } })).toBe(false);
      // Two tabs register at once from the same read: one lands, the other is refused (not silently lost).
      const [b, c] = [credential('cred-b', 0), credential('cred-c', 0)];
      const race = await Promise.all([
        users.replaceWebauthnCredentials(T1, u.id, [a], { mfa: { webauthn: [a, b] } }),
        users.replaceWebauthnCredentials(T1, u.id, [a], { mfa: { webauthn: [a, c] } }),
      ]);
      expect(race.filter(Boolean)).toHaveLength(1);
      const after = (await users.findById(T1, u.id))!.mfa.webauthn!;
      expect(after.map((x) => x.id)).toEqual(['cred-a', race[0] ? 'cred-b' : 'cred-c']);
      // A counter moved since the read: the stale list (with the old counter) is not written back.
      expect(await users.advanceWebauthnCounter(T1, u.id, 'cred-a', 5, new Date('2026-06-07T00:00:00Z'))).toBe(true);
      expect(await users.replaceWebauthnCredentials(T1, u.id, after, { mfa: { webauthn: after.slice(0, 1) } })).toBe(false);
      expect((await users.findById(T1, u.id))!.mfa.webauthn!.map((x) => [x.id, x.counter])).toEqual([['cred-a', 5], [after[1]!.id, 0]]);
      // A list that comes back to an earlier state (a passkey added, then removed) can be written from again.
      const now = (await users.findById(T1, u.id))!.mfa.webauthn!;
      expect(await users.replaceWebauthnCredentials(T1, u.id, now, { mfa: { webauthn: [now[0]!] } })).toBe(true);
      const one = (await users.findById(T1, u.id))!.mfa.webauthn!;
      expect(await users.replaceWebauthnCredentials(T1, u.id, one, { mfa: { webauthn: now } })).toBe(true);
      expect(await users.replaceWebauthnCredentials(T1, u.id, now, { mfa: { webauthn: [now[0]!] } })).toBe(true);
      // Another tenant's user of that id: nothing to compare with, nothing written.
      expect(await users.replaceWebauthnCredentials(T2, u.id, [], { mfa: { webauthn: [] } })).toBe(false);
    });

    it('advances a passkey counter only forward, exactly once under a race; 0 over 0 is accepted', async () => {
      const u = await users.create(newUser(T1, 'a@x.test'));
      const at = new Date('2026-06-06T00:00:00Z');
      expect(await users.advanceWebauthnCounter(T1, u.id, 'cred-1', 1, at)).toBe(false); // no passkey yet
      await users.update(T1, u.id, { mfa: { webauthn: [credential('cred-0', 0), credential('cred-1', 10)] } });
      expect(await users.advanceWebauthnCounter(T1, u.id, 'cred-1', 10, at)).toBe(false);
      expect(await users.advanceWebauthnCounter(T1, u.id, 'cred-1', 9, at)).toBe(false);
      expect(await users.advanceWebauthnCounter(T1, u.id, 'cred-1', 0, at)).toBe(false);
      expect(await users.advanceWebauthnCounter(T1, u.id, 'nope', 50, at)).toBe(false);
      expect(await users.advanceWebauthnCounter(T2, u.id, 'cred-1', 50, at)).toBe(false);
      const race = await Promise.all(Array.from({ length: 20 }, () => users.advanceWebauthnCounter(T1, u.id, 'cred-1', 11, at)));
      expect(race.filter(Boolean)).toHaveLength(1);
      expect(await users.advanceWebauthnCounter(T1, u.id, 'cred-1', 11, at)).toBe(false);
      // A counter-less authenticator: 0 over 0 passes every time; a counter that starts moving must keep moving.
      expect(await users.advanceWebauthnCounter(T1, u.id, 'cred-0', 0, at)).toBe(true);
      expect(await users.advanceWebauthnCounter(T1, u.id, 'cred-0', 0, new Date(at.getTime() + 1000))).toBe(true);
      const creds = (await users.findById(T1, u.id))!.mfa.webauthn!;
      expect(creds.map((c) => [c.id, c.counter, ms(c.lastUsedAt)])).toEqual([
        ['cred-0', 0, at.getTime() + 1000],
        ['cred-1', 11, at.getTime()],
      ]);
    });
  });
}

const ms = (d: Date | string | null | undefined): number | null => (d ? new Date(d).getTime() : null);

function credential(id: string, counter: number): WebauthnCredentialRecord {
  return { id, publicKey: `pk-${id}`, counter, transports: ['usb', 'internal'], backedUp: true, name: `Key ${id}`, createdAt: new Date('2026-05-01T00:00:00Z'), lastUsedAt: null };
}

const policy = (over: Partial<TenantPolicy> = {}): TenantPolicy => ({ ...DEFAULT_POLICY, allowedMethods: [...DEFAULT_POLICY.allowedMethods], ...over });

export function runTenantStoreContract(name: string, makeStores: MakeStores): void {
  describe(`${name}: TenantStore contract`, () => {
    let tenants: TenantStore;
    beforeEach(async () => {
      ({ tenants } = await makeStores({ now }));
    });

    it('creates, finds by slug and id, and refuses a taken slug', async () => {
      const t = await tenants.create({ slug: 'acme', name: 'Acme', policy: policy() });
      expect(t).toMatchObject({ id: expect.any(String), slug: 'acme', name: 'Acme', policy: { mfaRequired: false, stepUpMaxAgeSeconds: 300 } });
      expectDate(t.createdAt);
      expect(new Date(t.createdAt).getTime()).toBe(CLOCK);
      await expectConflict(tenants.create({ slug: 'acme', name: 'Other', policy: policy() }));
      expect((await tenants.findBySlug('acme'))!.id).toBe(t.id);
      expect((await tenants.findById(t.id))!.slug).toBe('acme');
      expect(await tenants.findBySlug('nope')).toBeNull();
      expect(await tenants.findById('nope')).toBeNull();
    });

    it('lists tenants by slug', async () => {
      for (const slug of ['zeta', 'acme', 'mid']) await tenants.create({ slug, name: slug, policy: policy() });
      expect((await tenants.list()).map((t) => t.slug)).toEqual(['acme', 'mid', 'zeta']);
    });

    it('replaces the policy, keeping mfaRequiredSince', async () => {
      const t = await tenants.create({ slug: 'acme', name: 'Acme', policy: policy() });
      const since = new Date('2026-04-04T04:04:04Z');
      const next = policy({ mfaRequired: true, mfaRequiredSince: since, allowedMethods: ['totp', 'backup_code'], gracePeriodDays: 3, stepUpMaxAgeSeconds: 60 });
      const got = await tenants.updatePolicy(t.id, next);
      expect(got!.policy).toMatchObject({ mfaRequired: true, allowedMethods: ['totp', 'backup_code'], gracePeriodDays: 3, stepUpMaxAgeSeconds: 60 });
      const stored = (await tenants.findById(t.id))!.policy;
      expect(stored).toMatchObject({ mfaRequired: true, gracePeriodDays: 3 });
      expect(stored.mfaRequiredSince ? new Date(stored.mfaRequiredSince).getTime() : null).toBe(since.getTime());
      expect(await tenants.updatePolicy('nope', next)).toBeNull();
    });
  });
}

export function runAuditStoreContract(name: string, makeStores: MakeStores): void {
  describe(`${name}: AuditStore contract`, () => {
    let audit: AuditStore;
    let T1: string;
    let T2: string;
    beforeEach(async () => {
      const s = await makeStores({ now });
      audit = s.audit;
      [T1, T2] = await twoTenants(s.tenants);
    });

    it('lists a tenant\'s events newest first, by page, by user', async () => {
      const base = Date.parse('2026-05-05T00:00:00Z');
      for (let i = 0; i < 5; i++) {
        await audit.record({ tenantId: T1, userId: i % 2 ? 'u1' : 'u2', actorId: 'admin', type: `e${i}`, ip: '127.0.0.1', userAgent: 'ua', at: new Date(base + i * 1000), details: { i } });
        await audit.record({ tenantId: T2, userId: 'u1', type: `other${i}`, at: new Date(base + i * 1000) });
      }
      const page1 = await audit.list(T1, { limit: 3 });
      expect(page1.map((e) => e.type)).toEqual(['e4', 'e3', 'e2']);
      expect(page1[0]).toMatchObject({ tenantId: T1, userId: 'u2', actorId: 'admin', details: { i: 4 } });
      const page2 = await audit.list(T1, { limit: 3, before: new Date(page1[2]!.at) });
      expect(page2.map((e) => e.type)).toEqual(['e1', 'e0']);
      expect((await audit.list(T1, { limit: 10, userId: 'u1' })).map((e) => e.type)).toEqual(['e3', 'e1']);
      expect((await audit.list(T2, { limit: 10 })).every((e) => e.tenantId === T2)).toBe(true);
      expect(await audit.list('nobody', { limit: 10 })).toEqual([]);
    });

    it('pages by (at, id): events sharing a millisecond are neither skipped nor repeated', async () => {
      const at = new Date('2026-05-05T00:00:00Z');
      for (let i = 0; i < 7; i++) await audit.record({ tenantId: T1, type: `same${i}`, at: i < 5 ? at : new Date(at.getTime() - 1000) });
      const seen: string[] = [];
      let cursor: { before?: Date; beforeId?: string } = {};
      for (let page = 0; page < 10; page++) {
        const got = await audit.list(T1, { limit: 2, ...cursor });
        if (!got.length) break;
        seen.push(...got.map((e) => e.type));
        const last = got[got.length - 1]!;
        expect(typeof last.id).toBe('string');
        cursor = { before: new Date(last.at), beforeId: last.id };
      }
      // Newest first; in one millisecond, the last recorded first.
      expect(seen).toEqual(['same4', 'same3', 'same2', 'same1', 'same0', 'same6', 'same5']);
    });
  });
}

export function runTenantRemovalContract(name: string, makeStores: MakeStores): void {
  describe(`${name}: dropTenantData`, () => {
    it('removes one tenant\'s users, audit trail and registry entry, and nothing of another tenant', async () => {
      const s = await makeStores({ now });
      if (!s.dropTenantData) throw new Error('this adapter set has no dropTenantData');
      const [T1, T2] = await twoTenants(s.tenants);
      const a = await s.users.create(newUser(T1, 'a@x.test'));
      const b = await s.users.create(newUser(T2, 'a@x.test'));
      await s.audit.record({ tenantId: T1, type: 'x', at: new Date(CLOCK) });
      await s.audit.record({ tenantId: T2, type: 'y', at: new Date(CLOCK) });
      await s.dropTenantData('one');
      expect(await s.tenants.findBySlug('one')).toBeNull();
      expect(await s.users.findById(T1, a.id)).toBeNull();
      expect(await s.users.list(T1, { limit: 10 })).toEqual([]);
      expect(await s.audit.list(T1, { limit: 10 })).toEqual([]);
      expect((await s.users.findById(T2, b.id))!.email).toBe('a@x.test');
      expect((await s.audit.list(T2, { limit: 10 })).map((e) => e.type)).toEqual(['y']);
      // Idempotent; the platform tenant cannot be removed; a new tenant may take the slug, empty.
      await s.dropTenantData('one');
      await expect(s.dropTenantData('platform')).rejects.toMatchObject({ code: 'forbidden' });
      const again = await s.tenants.create({ slug: 'one', name: 'One again', policy: policy() });
      expect(await s.users.findByEmail(again.id, 'a@x.test')).toBeNull();
      expect(await s.audit.list(again.id, { limit: 10 })).toEqual([]);
    });
  });
}

/** The three contracts for one set of adapters. */
export function runStoreContract(name: string, makeStores: MakeStores): void {
  runUserStoreContract(name, makeStores);
  runTenantStoreContract(name, makeStores);
  runAuditStoreContract(name, makeStores);
  runTenantRemovalContract(name, makeStores);
}
