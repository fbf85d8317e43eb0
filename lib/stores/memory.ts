import { randomUUID } from 'node:crypto';
import { StepUpError } from '../errors';
import { safeEqual } from '../crypto/compare';
import type { AuditEvent, NewUser, TenantPolicy, TenantRecord, UserPatch, UserRecord, WebauthnCredentialRecord } from '../types';
import { webauthnListState, type AuditPage, type AuditStore, type StoreSet, type TenantStore, type UserStore } from './ports';

/** The memory stores take their time from the plugin's clock (`now`, ms), like every other part. */
export interface MemoryStoreOptions {
  now?: () => number;
}

const clone = <T>(v: T): T => structuredClone(v);

/** Applies a patch the way the mongoose adapter's `$set`/`$unset` does: field by field, null removes. */
export function applyUserPatch(user: UserRecord, patch: UserPatch): void {
  const { mfa, ...top } = patch;
  for (const [k, v] of Object.entries(top)) {
    if (v === undefined) continue;
    (user as unknown as Record<string, unknown>)[k] = v;
  }
  if (mfa) {
    for (const [k, v] of Object.entries(mfa)) {
      if (v === undefined) continue;
      (user.mfa as unknown as Record<string, unknown>)[k] = v;
    }
  }
}

/** In-process users for tests and the example app's embedded mode. Same contract as the mongoose adapter. */
export class MemoryUserStore implements UserStore {
  private readonly users = new Map<string, UserRecord>();
  private readonly now: () => number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  async create(input: NewUser): Promise<UserRecord> {
    for (const u of this.users.values()) {
      if (u.tenantId === input.tenantId && u.email === input.email) throw new StepUpError('conflict', 'A user with this email exists in the tenant.');
    }
    const user: UserRecord = {
      id: randomUUID(),
      tenantId: input.tenantId,
      email: input.email,
      name: input.name,
      roles: [...input.roles],
      passwordHash: input.passwordHash,
      mfa: { backupCodes: [] },
      emailVerifiedAt: input.emailVerifiedAt ?? null,
      disabledAt: null,
      createdAt: input.createdAt ?? new Date(this.now()),
    };
    this.users.set(user.id, user);
    return clone(user);
  }

  private get(tenantId: string, id: string): UserRecord | undefined {
    const u = this.users.get(id);
    return u && u.tenantId === tenantId ? u : undefined;
  }

  async findById(tenantId: string, id: string): Promise<UserRecord | null> {
    const u = this.get(tenantId, id);
    return u ? clone(u) : null;
  }

  async findByEmail(tenantId: string, email: string): Promise<UserRecord | null> {
    for (const u of this.users.values()) if (u.tenantId === tenantId && u.email === email) return clone(u);
    return null;
  }

  async list(tenantId: string, page: { limit: number; after?: string }): Promise<UserRecord[]> {
    return [...this.users.values()]
      .filter((u) => u.tenantId === tenantId && (page.after === undefined || u.id > page.after))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, page.limit)
      .map(clone);
  }

  async update(tenantId: string, id: string, patch: UserPatch): Promise<UserRecord | null> {
    const u = this.get(tenantId, id);
    if (!u) return null;
    applyUserPatch(u, clone(patch));
    return clone(u);
  }

  async advanceTotpStep(tenantId: string, id: string, step: number, enrolledAt?: Date): Promise<boolean> {
    const totp = this.get(tenantId, id)?.mfa.totp;
    if (!totp || !(totp.lastStep < step)) return false;
    if (enrolledAt && new Date(totp.enrolledAt).getTime() !== enrolledAt.getTime()) return false;
    totp.lastStep = step;
    return true;
  }

  async consumeBackupCode(tenantId: string, id: string, hash: string, at: Date): Promise<boolean> {
    const u = this.get(tenantId, id);
    if (!u) return false;
    // Look at every code (no early exit) and compare in constant time.
    let hit: { usedAt: Date | null } | undefined;
    for (const c of u.mfa.backupCodes) if (safeEqual(c.hash, hash) && !c.usedAt) hit = c;
    if (!hit) return false;
    hit.usedAt = at;
    return true;
  }

  async advanceWebauthnCounter(tenantId: string, id: string, credentialId: string, counter: number, at: Date): Promise<boolean> {
    const cred = this.get(tenantId, id)?.mfa.webauthn?.find((c) => c.id === credentialId);
    if (!cred || !(counter > cred.counter || (counter === 0 && cred.counter === 0))) return false;
    cred.counter = counter;
    cred.lastUsedAt = at;
    return true;
  }

  async replaceWebauthnCredentials(tenantId: string, id: string, expected: readonly WebauthnCredentialRecord[], patch: UserPatch): Promise<boolean> {
    const u = this.get(tenantId, id);
    // Compared and written in one synchronous step: atomic like a document update.
    if (!u || webauthnListState(u.mfa.webauthn) !== webauthnListState(expected)) return false;
    applyUserPatch(u, clone(patch));
    return true;
  }

  /** Every user of a tenant (its removal). */
  async deleteTenant(tenantId: string): Promise<void> {
    for (const [id, u] of this.users) if (u.tenantId === tenantId) this.users.delete(id);
  }
}

export class MemoryTenantStore implements TenantStore {
  private readonly tenants = new Map<string, TenantRecord>();
  private readonly now: () => number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  async create(input: { slug: string; name: string; policy: TenantPolicy }): Promise<TenantRecord> {
    for (const t of this.tenants.values()) if (t.slug === input.slug) throw new StepUpError('conflict', 'A tenant with this slug exists.');
    const t: TenantRecord = { id: randomUUID(), slug: input.slug, name: input.name, policy: clone(input.policy), createdAt: new Date(this.now()) };
    this.tenants.set(t.id, t);
    return clone(t);
  }

  async findBySlug(slug: string): Promise<TenantRecord | null> {
    for (const t of this.tenants.values()) if (t.slug === slug) return clone(t);
    return null;
  }

  async findById(id: string): Promise<TenantRecord | null> {
    const t = this.tenants.get(id);
    return t ? clone(t) : null;
  }

  async list(): Promise<TenantRecord[]> {
    return [...this.tenants.values()].sort((a, b) => a.slug.localeCompare(b.slug)).map(clone);
  }

  async updatePolicy(id: string, policy: TenantPolicy): Promise<TenantRecord | null> {
    const t = this.tenants.get(id);
    if (!t) return null;
    t.policy = clone(policy);
    return clone(t);
  }

  async delete(id: string): Promise<void> {
    this.tenants.delete(id);
  }
}

// Ids grow with insertion, fixed width, so they compare as strings like the mongoose adapter's ObjectIds.
const seqId = (n: number) => n.toString(16).padStart(24, '0');

export class MemoryAuditStore implements AuditStore {
  private readonly events: (AuditEvent & { id: string })[] = [];
  private seq = 0;

  async record(event: AuditEvent): Promise<void> {
    this.events.push({ ...clone(event), id: seqId(++this.seq) });
  }

  async list(tenantId: string, page: AuditPage): Promise<(AuditEvent & { id: string })[]> {
    // Newest first; events in the same millisecond newest-recorded first. The cursor is (at, id).
    const before = page.before?.getTime();
    const older = (e: AuditEvent & { id: string }) =>
      before === undefined || e.at.getTime() < before || (page.beforeId !== undefined && e.at.getTime() === before && e.id < page.beforeId);
    return this.events
      .filter((e) => e.tenantId === tenantId && older(e) && (!page.userId || e.userId === page.userId))
      .sort((a, b) => b.at.getTime() - a.at.getTime() || (a.id < b.id ? 1 : -1))
      .slice(0, page.limit)
      .map(clone);
  }

  async deleteTenant(tenantId: string): Promise<void> {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i]!.tenantId === tenantId) this.events.splice(i, 1);
  }
}

/** Memory stores on one clock, with the same deployment operations as `createMongooseStores`. */
export function createMemoryStores(opts: MemoryStoreOptions = {}): StoreSet & {
  users: MemoryUserStore;
  tenants: MemoryTenantStore;
  audit: MemoryAuditStore;
  ensureIndexes(): Promise<void>;
  dropTenantData(slug: string): Promise<void>;
} {
  const users = new MemoryUserStore(opts);
  const tenants = new MemoryTenantStore(opts);
  const audit = new MemoryAuditStore();
  return {
    users,
    tenants,
    audit,
    ensureIndexes: async () => undefined,
    async dropTenantData(slug) {
      if (slug === 'platform') throw new StepUpError('forbidden', 'The platform tenant cannot be removed.');
      const t = await tenants.findBySlug(slug);
      if (!t) return;
      await users.deleteTenant(t.id);
      await audit.deleteTenant(t.id);
      await tenants.delete(t.id);
    },
  };
}
