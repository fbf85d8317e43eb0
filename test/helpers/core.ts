/**
 * The core without HTTP: `createContext` on memory stores and an injected clock, one tenant and one
 * user with TOTP (RFC 6238's test secret, sealed as enrolment seals it, step 0 used) and ten backup codes.
 */
import { createContext, type StepUpContext } from '../../lib/context';
import type { StepUpOptions } from '../../lib/config';
import { createTenant, createUser } from '../../lib/admin/provision';
import { newBackupCodeSet } from '../../lib/auth/enrolment';
import { totpAad } from '../../lib/auth/verifiers';
import { MemoryAuditStore, MemoryTenantStore, MemoryUserStore } from '../../lib/stores/memory';
import { StepUpError } from '../../lib/errors';
import type { RequestMeta, TenantPolicy, TenantRecord, UserRecord } from '../../lib/types';

export const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
/** RFC 6238 Appendix B, SHA-1, T = 59 s (step 1): 94287082, six digits. */
export const CODE_AT_59S = '287082';
export const META: RequestMeta = { ip: '203.0.113.7', userAgent: 'unit', sessionId: null };

export interface CoreWorld {
  ctx: StepUpContext;
  /** The injected clock (ms); starts at 59 s, inside TOTP step 1. */
  clock: { t: number };
  audit: MemoryAuditStore;
  tenant: TenantRecord;
  user: UserRecord;
  backupCodes: string[];
  /** The user as stored now. */
  reload(): Promise<UserRecord>;
  auditTypes(): Promise<string[]>;
}

export async function coreWorld(o: { policy?: Partial<TenantPolicy>; roles?: UserRecord['roles']; totp?: boolean; options?: Partial<StepUpOptions> } = {}): Promise<CoreWorld> {
  const clock = { t: 59_000 };
  const now = () => clock.t;
  const audit = new MemoryAuditStore();
  const ctx = createContext({
    issuer: 'Unit',
    session: { secret: 'unit-test-session-secret-0123456789abcdef' },
    keys: [{ id: 'k1', key: Buffer.alloc(32, 7) }],
    stores: { users: new MemoryUserStore({ now }), tenants: new MemoryTenantStore({ now }), audit },
    password: { argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 } },
    now,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    ...o.options,
  });
  const tenant = await createTenant(ctx, { slug: 'acme', name: 'Acme', policy: o.policy });
  const { user } = await createUser(ctx, { tenantId: tenant.id, email: 'alice@example.com', password: 'correct horse battery staple', roles: o.roles });
  let backupCodes: string[] = [];
  if (o.totp !== false) {
    const { codes, patch } = newBackupCodeSet(ctx);
    backupCodes = codes;
    await ctx.users.update(tenant.id, user.id, patch);
    await ctx.users.update(tenant.id, user.id, { mfa: { totp: { secret: ctx.box.seal(RFC_SECRET, totpAad(user)), enrolledAt: new Date(now()), lastStep: 0 } } });
  }
  const reload = async () => (await ctx.users.findById(tenant.id, user.id))!;
  return { ctx, clock, audit, tenant, user: await reload(), backupCodes, reload, auditTypes: async () => (await audit.list(tenant.id, { limit: 1000 })).map((e) => e.type) };
}

/** The StepUpError code (and details) a promise rejects with, or null when it resolves. */
export async function refusal(p: Promise<unknown>): Promise<{ code: string; retryAfterSeconds?: number; message: string } | null> {
  try {
    await p;
    return null;
  } catch (e) {
    if (!(e instanceof StepUpError)) throw e;
    return { code: e.code, retryAfterSeconds: e.retryAfterSeconds, message: e.message };
  }
}
