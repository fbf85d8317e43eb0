import type { StepUpContext } from '../../lib/context';
import { StepUpError } from '../../lib/errors';
import { MemoryTenantStore } from '../../lib/stores/memory';
import { isSuperadmin, tenantInScope, type Actor } from '../../lib/admin/scope';
import { auditView, tenantView, userView } from '../../lib/admin/views';
import { DEFAULT_POLICY, type Role, type UserRecord } from '../../lib/types';

// Who may act on which tenant (ATK-19), decided from the session and the path only, and what the
// admin API shows of a user (never a secret).

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(StepUpError);
    return (e as StepUpError).code;
  }
}

describe('tenantInScope', () => {
  const tenants = new MemoryTenantStore();
  const ctx = { tenants } as unknown as StepUpContext;
  let ids: Record<string, string>;
  beforeAll(async () => {
    ids = {};
    for (const slug of ['platform', 'acme', 'globex']) ids[slug] = (await tenants.create({ slug, name: slug, policy: DEFAULT_POLICY })).id;
  });

  const actor = (slug: string, roles: Role[], tenantId = ids[slug]!): Actor => ({
    user: { id: 'a', tenantId, email: 'a@x.test', roles, passwordHash: 'h', mfa: { backupCodes: [] }, createdAt: new Date() },
    tenant: slug,
    superadmin: isSuperadmin(roles, slug),
  });

  it('lets an admin reach its own tenant only, refusing others before any lookup', async () => {
    const spy = jest.spyOn(tenants, 'findBySlug');
    const admin = actor('acme', ['admin']);
    expect((await tenantInScope(ctx, admin, 'acme')).id).toBe(ids.acme);
    spy.mockClear();
    for (const slug of ['globex', 'platform', 'no-such', 'ACME', 'acme ', '']) expect(await code(tenantInScope(ctx, admin, slug))).toBe('forbidden');
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });

  it('refuses an admin whose session slug points at another tenant id', async () => {
    expect(await code(tenantInScope(ctx, actor('acme', ['admin'], ids.globex), 'acme'))).toBe('forbidden');
  });

  it('lets a superadmin reach every tenant; unknown or malformed slugs are 404', async () => {
    const root = actor('platform', ['superadmin']);
    expect(root.superadmin).toBe(true);
    for (const slug of ['platform', 'acme', 'globex']) expect((await tenantInScope(ctx, root, slug)).slug).toBe(slug);
    for (const slug of ['no-such', '../acme', 'a'.repeat(100)]) expect(await code(tenantInScope(ctx, root, slug))).toBe('not_found');
  });

  it('counts the superadmin role only inside the platform tenant', () => {
    expect(isSuperadmin(['superadmin'], 'platform')).toBe(true);
    expect(isSuperadmin(['superadmin'], 'acme')).toBe(false);
    expect(isSuperadmin(['admin'], 'platform')).toBe(false);
  });
});

describe('admin views', () => {
  const secretUser: UserRecord = {
    id: 'u1',
    tenantId: 't1',
    email: 'bob@x.test',
    name: 'Bob',
    roles: ['user'],
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$SECRETSALT$SECRETHASH',
    mfa: {
      totp: { secret: 'v1.k1.SEALEDIV.SEALEDCIPHER.SEALEDTAG', enrolledAt: new Date('2026-01-01T00:00:00Z'), lastStep: 12345 },
      sms: { phone: '+12025552671', enabledAt: new Date('2026-01-02T00:00:00Z') },
      backupCodes: [{ hash: 'BACKUPHASH1', usedAt: null }, { hash: 'BACKUPHASH2', usedAt: new Date() }],
      backupCodeSalt: 'BACKUPSALT',
      backupCodeKeyId: 'KEYID',
      lastVerifiedAt: new Date('2026-01-03T00:00:00Z'),
    },
    createdAt: new Date('2025-12-31T00:00:00Z'),
  };

  it('shows a user with MFA status and nothing secret', () => {
    const view = userView(secretUser);
    const raw = JSON.stringify(view);
    for (const s of ['SECRETSALT', 'SECRETHASH', 'SEALED', 'BACKUPHASH', 'BACKUPSALT', 'KEYID', '12345', '5552671', 'passwordHash', 'secret', 'lastStep']) expect(raw).not.toContain(s);
    expect(view).toMatchObject({
      id: 'u1',
      email: 'bob@x.test',
      roles: ['user'],
      mfa: { enabled: true, methods: { totp: { enabled: true }, sms_otp: { enabled: true, phone: expect.stringMatching(/2671$/) } }, backupCodesRemaining: 1 },
    });
    expect(Object.keys(view).sort()).toEqual(['createdAt', 'disabledAt', 'email', 'emailVerifiedAt', 'id', 'mfa', 'name', 'roles']);
  });

  it('shows tenants and audit events through allow-lists', () => {
    const t = tenantView({ id: 't', slug: 'acme', name: 'Acme', policy: DEFAULT_POLICY, createdAt: new Date(0) });
    expect(Object.keys(t).sort()).toEqual(['createdAt', 'id', 'name', 'policy', 'slug']);
    const e = auditView({ tenantId: 't', type: 'x', at: new Date(0), details: { a: 1 } });
    expect(e).toEqual({ type: 'x', at: new Date(0).toISOString(), userId: null, actorId: null, ip: null, userAgent: null, details: { a: 1 } });
  });
});
