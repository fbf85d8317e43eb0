import type { Model } from 'mongoose';
import { StepUpError } from '../../errors';
import { safeEqual } from '../../crypto/compare';
import { createHash } from 'node:crypto';
import type { NewUser, UserPatch, UserRecord, WebauthnCredentialRecord } from '../../types';
import { webauthnListState, type UserStore } from '../ports';
import { isDuplicate, patchToUpdate, Q, toUser, type Doc, type Runner } from './common';

/**
 * Where a tenant's users (and their one-time claims) live: one shared collection, or the tenant's own
 * database. `null` for a tenant the registry does not know (database-per-tenant): nothing to find, nowhere
 * to write.
 */
export type UserModelFor = (tenantId: string, opts?: { fresh?: boolean }) => Promise<UserModels | null>;
export interface UserModels {
  users: Model<Doc>;
  claims: Model<Doc>;
}

/** Claims older than this are pruned: by then the user document holds the step or counter they guarded. */
const CLAIM_KEEP_MS = 10 * 60_000;

// Every filter names its tenant (in both layouts). The one-time primitives (TOTP step, backup code,
// passkey counter) are made atomic by a unique claim document, then the user document is written by
// the one winner. Array elements are addressed by index (`mfa.backupCodes.3.usedAt`): FerretDB has no
// `$elemMatch` on sub-documents and no positional `$` update, and MongoDB runs this form too
// (docs/DECISIONS.md).
export class MongooseUserStore implements UserStore {
  /** When this process last pruned a user's old claims, by kind. */
  private readonly prunedAt = new Map<string, number>();

  constructor(
    private readonly modelFor: UserModelFor,
    private readonly run: Runner,
    private readonly now: () => number,
  ) {}

  async create(input: NewUser): Promise<UserRecord> {
    // Fresh: a tenant removed by another process must not get its database re-created by a late write.
    const m = await this.modelFor(input.tenantId, { fresh: true });
    if (!m) throw new StepUpError('not_found', 'No such tenant.');
    try {
      const doc = await this.run('users.create', () =>
        m.users.create({ ...input, createdAt: input.createdAt ?? new Date(this.now()), mfa: { backupCodes: [] } }),
      );
      return toUser(doc.toObject() as Doc)!;
    } catch (err) {
      if (isDuplicate(err)) throw new StepUpError('conflict', 'A user with this email exists in the tenant.');
      throw err;
    }
  }

  private async one(tenantId: string, filter: Record<string, unknown>): Promise<Doc | null> {
    const m = await this.modelFor(tenantId);
    if (!m) return null;
    // The key field first: FerretDB pushes the first equality down to SQLite (`_id` uses its primary key).
    return this.run('users.findOne', () => m.users.findOne({ ...filter, tenantId }, null, Q).lean<Doc>().exec());
  }

  async findById(tenantId: string, id: string): Promise<UserRecord | null> {
    return toUser(await this.one(tenantId, { _id: id }));
  }

  async findByEmail(tenantId: string, email: string): Promise<UserRecord | null> {
    return toUser(await this.one(tenantId, { email }));
  }

  async list(tenantId: string, page: { limit: number; after?: string }): Promise<UserRecord[]> {
    const m = await this.modelFor(tenantId);
    if (!m) return [];
    const filter: Record<string, unknown> = { tenantId };
    if (page.after !== undefined) filter._id = { $gt: String(page.after) };
    const docs = await this.run('users.list', () => m.users.find(filter).sort({ _id: 1 }).limit(page.limit).lean<Doc[]>().exec());
    return docs.map((d) => toUser(d)!);
  }

  async update(tenantId: string, id: string, patch: UserPatch): Promise<UserRecord | null> {
    const m = await this.modelFor(tenantId);
    if (!m) return null;
    const { $set, $unset } = patchToUpdate(patch);
    const update: Record<string, unknown> = {};
    if (Object.keys($set).length) update.$set = $set;
    if (Object.keys($unset).length) update.$unset = $unset;
    if (!Object.keys(update).length) return this.findById(tenantId, id);
    return toUser(
      await this.run('users.update', () => m.users.findOneAndUpdate({ _id: id, tenantId }, update, { ...Q, returnDocument: 'after' }).lean<Doc>().exec()),
    );
  }

  /**
   * Inserts the claim `key`: true for exactly one caller, however many race (unique `_id`). The winner
   * prunes this user's old claims of the same kind.
   */
  private async claim(m: UserModels, tenantId: string, userId: string, kind: string, key: string): Promise<boolean> {
    const at = this.now();
    try {
      await this.run('users.claim', () => m.claims.create({ _id: `${kind}:${userId}:${key}`, tenantId, userId, kind, at: new Date(at) }));
    } catch (err) {
      if (isDuplicate(err)) return false;
      throw err;
    }
    // Housekeeping, not the guard: a user's old claims go at most once per keep period per process.
    const who = `${kind}:${tenantId}:${userId}`;
    if (!((this.prunedAt.get(who) ?? -Infinity) > at - CLAIM_KEEP_MS)) {
      if (this.prunedAt.size >= 10_000) this.prunedAt.clear();
      this.prunedAt.set(who, at);
      await this.run('users.pruneClaims', () => m.claims.deleteMany({ tenantId, userId, kind, at: { $lt: new Date(at - CLAIM_KEEP_MS) } }).exec());
    }
    return true;
  }

  async advanceTotpStep(tenantId: string, id: string, step: number, enrolledAt?: Date): Promise<boolean> {
    if (!Number.isSafeInteger(step)) return false;
    const m = await this.modelFor(tenantId);
    if (!m) return false;
    // The caller names the enrolment it verified against (no second read of the user); else it is read.
    let since = enrolledAt;
    if (!since) {
      const totp = (await this.findById(tenantId, id))?.mfa.totp;
      if (!totp || !(totp.lastStep < step)) return false;
      since = new Date(totp.enrolledAt);
    }
    // Scoped by the enrolment: a new secret starts a new series of steps.
    if (!(await this.claim(m, tenantId, id, 'totp', `${since.getTime()}:${step}`))) return false;
    // Still conditional: a reader that stalled while the step moved on must not win with an old step,
    // nor a code of a secret replaced meanwhile (on MongoDB this update alone is the compare-and-set).
    const res = await this.run('users.advanceTotpStep', () =>
      m.users.updateOne({ _id: id, tenantId, 'mfa.totp.enrolledAt': since, 'mfa.totp.lastStep': { $lt: step } }, { $set: { 'mfa.totp.lastStep': step } }).exec(),
    );
    return res.matchedCount === 1;
  }

  async consumeBackupCode(tenantId: string, id: string, hash: string, at: Date): Promise<boolean> {
    const m = await this.modelFor(tenantId);
    const user = await this.findById(tenantId, id);
    if (!m || !user) return false;
    // Every code is compared (no early exit), in constant time.
    let index = -1;
    user.mfa.backupCodes.forEach((c, i) => {
      if (safeEqual(c.hash, hash) && !c.usedAt) index = i;
    });
    if (index < 0) return false;
    const stored = user.mfa.backupCodes[index]!.hash;
    if (!(await this.claim(m, tenantId, id, 'backup', stored))) return false;
    // The hash in the filter: a list regenerated in between makes this a miss, not a wrong write.
    const p = `mfa.backupCodes.${index}`;
    const res = await this.run('users.consumeBackupCode', () =>
      m.users.updateOne({ _id: id, tenantId, [`${p}.hash`]: stored, [`${p}.usedAt`]: null }, { $set: { [`${p}.usedAt`]: at } }).exec(),
    );
    return res.matchedCount === 1;
  }

  async advanceWebauthnCounter(tenantId: string, id: string, credentialId: string, counter: number, at: Date): Promise<boolean> {
    if (!Number.isSafeInteger(counter) || counter < 0) return false;
    const m = await this.modelFor(tenantId);
    const creds = (await this.findById(tenantId, id))?.mfa.webauthn ?? [];
    const index = creds.findIndex((c) => c.id === credentialId);
    if (!m || index < 0) return false;
    const stored = creds[index]!.counter;
    const p = `mfa.webauthn.${index}`;
    const filter = { _id: id, tenantId, [`${p}.id`]: credentialId };
    if (counter === 0 && stored === 0) {
      // An authenticator without a counter: nothing to race for; note the use.
      const res = await this.run('users.advanceWebauthnCounter', () => m.users.updateOne({ ...filter, [`${p}.counter`]: 0 }, { $set: { [`${p}.lastUsedAt`]: at } }).exec());
      return res.matchedCount === 1;
    }
    if (!(counter > stored)) return false;
    if (!(await this.claim(m, tenantId, id, 'webauthn', `${credentialId}:${counter}`))) return false;
    const res = await this.run('users.advanceWebauthnCounter', () =>
      m.users.updateOne({ ...filter, [`${p}.counter`]: { $lt: counter } }, { $set: { [`${p}.counter`]: counter, [`${p}.lastUsedAt`]: at } }).exec(),
    );
    return res.matchedCount === 1;
  }

  async replaceWebauthnCredentials(tenantId: string, id: string, expected: readonly WebauthnCredentialRecord[], patch: UserPatch): Promise<boolean> {
    const m = await this.modelFor(tenantId);
    if (!m) return false;
    const state = webauthnListState(expected);
    if (webauthnListState((await this.findById(tenantId, id))?.mfa.webauthn) !== state) return false;
    // One writer per list state (the claim), then a write whose filter names that state element by
    // element (ids and counters by index, and no element past the end): a counter moved meanwhile, or
    // a list changed by a writer that got in first, matches nothing.
    const digest = createHash('sha256').update(state).digest('base64url');
    if (!(await this.claim(m, tenantId, id, 'webauthn-list', digest))) return false;
    try {
      const filter: Record<string, unknown> = { _id: id, tenantId, [`mfa.webauthn.${expected.length}`]: { $exists: false } };
      expected.forEach((c, i) => Object.assign(filter, { [`mfa.webauthn.${i}.id`]: c.id, [`mfa.webauthn.${i}.counter`]: c.counter }));
      const { $set, $unset } = patchToUpdate(patch);
      const update: Record<string, unknown> = { $set };
      if (Object.keys($unset).length) update.$unset = $unset;
      const res = await this.run('users.replaceWebauthnCredentials', () => m.users.updateOne(filter, update).exec());
      return res.matchedCount === 1;
    } finally {
      // The claim only serialises writers racing from this state; once written, the same list may
      // come back later (a passkey added, then removed) and must be writable from again.
      await this.run('users.releaseClaim', () => m.claims.deleteOne({ _id: `webauthn-list:${id}:${digest}`, tenantId }).exec()).catch(() => undefined);
    }
  }

  /** Every user of a tenant and their claims (shared layout: a tenant's removal). */
  async deleteTenant(tenantId: string): Promise<void> {
    const m = await this.modelFor(tenantId);
    if (!m) return;
    await this.run('users.deleteTenant', () => Promise.all([m.users.deleteMany({ tenantId }).exec(), m.claims.deleteMany({ tenantId }).exec()]));
  }
}
