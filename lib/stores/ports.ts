import type { AuditEvent, NewUser, TenantPolicy, TenantRecord, UserPatch, UserRecord, WebauthnCredentialRecord } from '../types';

/**
 * Users, always addressed through their tenant. Adapters must make `advanceTotpStep` and
 * `consumeBackupCode` atomic (compare-and-set), so replays and races fail even across processes.
 */
export interface UserStore {
  /** Throws StepUpError('conflict') when the (tenantId, email) pair exists. */
  create(input: NewUser): Promise<UserRecord>;
  findById(tenantId: string, id: string): Promise<UserRecord | null>;
  findByEmail(tenantId: string, email: string): Promise<UserRecord | null>;
  /** Users of a tenant ordered by id; `after` is the last id of the previous page. */
  list(tenantId: string, page: { limit: number; after?: string }): Promise<UserRecord[]>;
  update(tenantId: string, id: string, patch: UserPatch): Promise<UserRecord | null>;
  /**
   * Sets `mfa.totp.lastStep = step` only if the stored step is lower. True when it moved. With
   * `enrolledAt` (the enrolment the caller verified the code against) the step moves only while that
   * enrolment is the stored one, and the store need not read the user first.
   */
  advanceTotpStep(tenantId: string, id: string, step: number, enrolledAt?: Date): Promise<boolean>;
  /** Marks the unused backup code with this hash as used. True for exactly one caller. */
  consumeBackupCode(tenantId: string, id: string, hash: string, at: Date): Promise<boolean>;
  /**
   * WebAuthn clone detection: sets the credential's `counter` (and `lastUsedAt`) only if `counter` is
   * greater than the stored one, or both are 0 (an authenticator without a counter). True when it moved.
   */
  advanceWebauthnCounter(tenantId: string, id: string, credentialId: string, counter: number, at: Date): Promise<boolean>;
  /**
   * Compare-and-set of the passkey list: writes `patch` (which carries the new `mfa.webauthn`) only
   * if the stored list still is `expected` (same ids, names and counters, in order). False when it
   * changed meanwhile, so of two concurrent registrations, renames or removals none silently undoes
   * the other: the loser is told to try again.
   */
  replaceWebauthnCredentials(tenantId: string, id: string, expected: readonly WebauthnCredentialRecord[], patch: UserPatch): Promise<boolean>;
}

/** What the passkey compare-and-set compares: the list's ids, names and counters, in order. */
export function webauthnListState(list: readonly WebauthnCredentialRecord[] | undefined): string {
  return JSON.stringify((list ?? []).map((c) => [c.id, c.name, c.counter]));
}

export interface TenantStore {
  /** Throws StepUpError('conflict') when the slug exists. */
  create(input: { slug: string; name: string; policy: TenantPolicy }): Promise<TenantRecord>;
  findBySlug(slug: string): Promise<TenantRecord | null>;
  findById(id: string): Promise<TenantRecord | null>;
  list(): Promise<TenantRecord[]>;
  updatePolicy(id: string, policy: TenantPolicy): Promise<TenantRecord | null>;
}

/**
 * A page of audit events, newest first. `before` alone pages back in time; with `beforeId` (the `id` of the
 * last event of the previous page) the cursor is `(at, id)`, so events sharing a millisecond are neither
 * skipped nor repeated.
 */
export interface AuditPage {
  limit: number;
  before?: Date;
  beforeId?: string;
  userId?: string;
}

export interface AuditStore {
  record(event: AuditEvent): Promise<void>;
  /** Newest first (ties: newest recorded first); events carry the `id` a cursor needs when the adapter has one. */
  list(tenantId: string, page: AuditPage): Promise<(AuditEvent & { id?: string })[]>;
}

/**
 * The stores the plugin takes (`options.stores`), plus the operations a deployment runs on them.
 * `ensureIndexes` creates what the adapter needs to keep its promises (a unique email per tenant);
 * `dropTenantData` removes a tenant: its users, its audit trail, then its registry entry.
 */
export interface StoreSet {
  users: UserStore;
  tenants: TenantStore;
  audit: AuditStore;
  ensureIndexes?(): Promise<void>;
  dropTenantData?(slug: string): Promise<void>;
}
