import { Types, type Model } from 'mongoose';
import { StepUpError } from '../../errors';
import type { AuditEvent, TenantPolicy, TenantRecord } from '../../types';
import type { AuditPage, AuditStore, TenantStore } from '../ports';
import { isDuplicate, Q, toTenant, type Doc, type Runner } from './common';

export class MongooseTenantStore implements TenantStore {
  constructor(
    readonly model: Model<Doc>,
    private readonly run: Runner,
    private readonly now: () => number,
    /** Called after a tenant is registered (database-per-tenant: its database gets its indexes). */
    private readonly onCreate: (t: TenantRecord) => Promise<void> = async () => undefined,
  ) {}

  async create(input: { slug: string; name: string; policy: TenantPolicy }): Promise<TenantRecord> {
    let t: TenantRecord;
    try {
      t = toTenant((await this.run('tenants.create', () => this.model.create({ ...input, createdAt: new Date(this.now()) }))).toObject() as Doc)!;
    } catch (err) {
      if (isDuplicate(err)) throw new StepUpError('conflict', 'A tenant with this slug exists.');
      throw err;
    }
    await this.onCreate(t);
    return t;
  }

  async findBySlug(slug: string): Promise<TenantRecord | null> {
    return toTenant(await this.run('tenants.findBySlug', () => this.model.findOne({ slug }, null, Q).lean<Doc>().exec()));
  }

  async findById(id: string): Promise<TenantRecord | null> {
    return toTenant(await this.run('tenants.findById', () => this.model.findOne({ _id: id }, null, Q).lean<Doc>().exec()));
  }

  async list(): Promise<TenantRecord[]> {
    return (await this.run('tenants.list', () => this.model.find({}).sort({ slug: 1 }).lean<Doc[]>().exec())).map((d) => toTenant(d)!);
  }

  async updatePolicy(id: string, policy: TenantPolicy): Promise<TenantRecord | null> {
    return toTenant(
      await this.run('tenants.updatePolicy', () => this.model.findOneAndUpdate({ _id: id }, { $set: { policy } }, { ...Q, returnDocument: 'after' }).lean<Doc>().exec()),
    );
  }

  /** Removes the registry entry (the last step of a tenant's removal). */
  async delete(id: string): Promise<void> {
    await this.run('tenants.delete', () => this.model.deleteOne({ _id: id }).exec());
  }
}

type AuditDoc = Omit<AuditEvent, 'at'> & { _id: Types.ObjectId; at: Date };
export type AuditModelFor = (tenantId: string) => Promise<Model<Record<string, unknown>>>;

export class MongooseAuditStore implements AuditStore {
  constructor(
    private readonly modelFor: AuditModelFor,
    private readonly run: Runner,
  ) {}

  async record(event: AuditEvent): Promise<void> {
    const model = await this.modelFor(event.tenantId);
    await this.run('audit.record', () => model.create({ ...event }));
  }

  async list(tenantId: string, page: AuditPage): Promise<(AuditEvent & { id: string })[]> {
    const model = await this.modelFor(tenantId);
    const filter: Record<string, unknown> = { tenantId };
    if (page.userId) filter.userId = String(page.userId);
    if (page.before) {
      // (at, _id) cursor: older events, or the same millisecond and a lower id. `$or` and `$lt` on
      // ObjectIds run on FerretDB and MongoDB alike.
      const beforeId = page.beforeId && Types.ObjectId.isValid(page.beforeId) && /^[0-9a-f]{24}$/i.test(page.beforeId) ? new Types.ObjectId(page.beforeId) : null;
      if (beforeId) filter.$or = [{ at: { $lt: page.before } }, { at: page.before, _id: { $lt: beforeId } }];
      else filter.at = { $lt: page.before };
    }
    const docs = await this.run('audit.list', () => model.find(filter).sort({ at: -1, _id: -1 }).limit(page.limit).lean<AuditDoc[]>().exec());
    return docs.map(({ _id, ...e }) => ({ ...e, id: _id.toHexString() }));
  }

  async deleteTenant(tenantId: string): Promise<void> {
    const model = await this.modelFor(tenantId);
    await this.run('audit.deleteTenant', () => model.deleteMany({ tenantId }).exec());
  }
}
