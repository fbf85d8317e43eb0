/**
 * The acceptance flow on MongoDB (issue 13), in both layouts: a superadmin provisions a tenant and its admin,
 * the admin provisions a user, the user enrols TOTP and passes challenges (a replay and a reused backup code
 * refused), the admin resets the user's MFA; secrets are sealed in the raw documents, and a rotated key
 * ring opens what the old key sealed. Against MONGODB_URI or the private FerretDB.
 */
import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { createMongooseStores, tenantDatabaseName, type MongooseLayout, type MongooseStoreOptions } from '../../lib/stores/mongoose';
import { agent, buildApp, codeFor, enrolTotp, TEST_KEY, TestClock, type TestApp } from '../helpers/app';
import { connect, dbPrefix, describeWithMongo, dropDatabases } from '../helpers/mongo';

const PREFIX = dbPrefix('accept');
const ROOT = { email: 'root@platform.test', password: 'root password for the platform' };

describeWithMongo('acceptance flow on MongoDB', () => {
  let conn: Connection;
  beforeAll(async () => {
    conn = await connect(`${PREFIX}_probe`);
  });
  afterAll(() => dropDatabases(conn, PREFIX));

  for (const layout of ['shared', 'database-per-tenant'] as MongooseLayout[]) {
    it(`${layout}: provision, enrol, challenge, reset; sealed at rest; key rotation`, async () => {
      const clock = new TestClock();
      const db = conn.useDb(`${PREFIX}_${layout === 'shared' ? 's' : 'p'}`, { useCache: true });
      const options: MongooseStoreOptions = { layout, databasePrefix: `${db.name}_`, now: clock.now };
      const stores = createMongooseStores(db, options);
      const build = (keys = [TEST_KEY]) => buildApp({ clock, overrides: { stores, keys } });
      const t: TestApp = build();
      await t.stepUp.stores.ensureIndexes();
      const rawUser = (slug: string, id: string) => conn.useDb(tenantDatabaseName(db, options, slug)).collection('users').findOne({ _id: id as never });
      const login = (a: ReturnType<typeof agent>, tenant: string, email: string, password: string) =>
        a.post('/auth/login').send({ tenant, email, password }).expect(200).then((r) => r.body.state as string);
      const next = (secret: string) => {
        t.clock.advance(30);
        return codeFor(secret, t.clock.now());
      };

      // Superadmin: bootstrap, first login must enrol.
      await t.stepUp.bootstrapSuperadmin(ROOT);
      const root = agent(t);
      expect(await login(root, 'platform', ROOT.email, ROOT.password)).toBe('enrollment_required');
      await enrolTotp(t, root);

      // Provision a tenant (its admin) and, as that admin, a user.
      const made = await root.post('/admin/tenants').send({ slug: 'acme', name: 'Acme', admin: { email: 'boss@acme.test' } }).expect(201);
      const boss = agent(t);
      expect(await login(boss, 'acme', 'boss@acme.test', made.body.initialPassword)).toBe('enrollment_required');
      const { secret: bossSecret } = await enrolTotp(t, boss);
      const provisioned = await boss.post('/admin/tenants/acme/users').send({ email: 'alice@acme.test', name: 'Alice' }).expect(201);
      const aliceId = provisioned.body.user.id as string;
      const alicePassword = provisioned.body.initialPassword as string;

      // The user enrols; the raw document holds only a sealed secret and hashed backup codes.
      const alice = agent(t);
      expect(await login(alice, 'acme', 'alice@acme.test', alicePassword)).toBe('authenticated');
      const { secret, backupCodes } = await enrolTotp(t, alice);
      const raw = (await rawUser('acme', aliceId))!;
      const sealed = (raw.mfa as { totp: { secret: string } }).totp.secret;
      expect(sealed).toMatch(/^v1\.k1\./);
      const rawText = JSON.stringify(raw);
      expect(rawText).not.toContain(secret);
      for (const c of backupCodes) expect(rawText).not.toContain(c.replace(/-/g, ''));
      expect(rawText).not.toContain(alicePassword);

      // Challenge: a fresh code passes once; the same code on another login is a replay; a backup code works once.
      await alice.post('/auth/logout').expect(204);
      expect(await login(alice, 'acme', 'alice@acme.test', alicePassword)).toBe('mfa_required');
      const code = next(secret);
      await alice.post('/auth/mfa/challenge').send({ method: 'totp', code }).expect(200);
      const other = agent(t);
      expect(await login(other, 'acme', 'alice@acme.test', alicePassword)).toBe('mfa_required');
      expect((await other.post('/auth/mfa/challenge').send({ method: 'totp', code })).status).toBe(401);
      await other.post('/auth/mfa/challenge').send({ method: 'backup_code', code: backupCodes[0] }).expect(200);
      const third = agent(t);
      expect(await login(third, 'acme', 'alice@acme.test', alicePassword)).toBe('mfa_required');
      expect((await third.post('/auth/mfa/challenge').send({ method: 'backup_code', code: backupCodes[0] })).status).toBe(401);

      // Key rotation: a second app with [k2, k1] opens what k1 sealed; its enrolments are sealed with k2.
      const k2 = { id: 'k2', key: randomBytes(32) };
      const rotated = build([k2, TEST_KEY]);
      const onRotated = agent(rotated);
      expect(await login(onRotated, 'acme', 'alice@acme.test', alicePassword)).toBe('mfa_required');
      await onRotated.post('/auth/mfa/challenge').send({ method: 'totp', code: next(secret) }).expect(200);

      // Reset: the admin (fresh second factor) resets the user's MFA; audited in the tenant's trail.
      await boss.post('/auth/logout').expect(204);
      expect(await login(boss, 'acme', 'boss@acme.test', made.body.initialPassword)).toBe('mfa_required');
      await boss.post('/auth/mfa/challenge').send({ method: 'totp', code: next(bossSecret) }).expect(200);
      await boss.post(`/admin/tenants/acme/users/${aliceId}/mfa/reset`).send({}).expect(204);
      const reset = (await rawUser('acme', aliceId))!;
      expect((reset.mfa as { totp?: unknown }).totp ?? null).toBeNull();
      expect((reset.mfa as { backupCodes: unknown[] }).backupCodes).toEqual([]);
      const trail = (await boss.get('/admin/tenants/acme/audit').expect(200)).body.events as { type: string }[];
      expect(trail.map((e) => e.type)).toEqual(expect.arrayContaining(['tenant_created', 'user_provisioned', 'mfa_enrolled', 'admin_mfa_reset']));

      // After the reset the user enrols again, on the rotated app: sealed under k2.
      const again = agent(rotated);
      expect(await login(again, 'acme', 'alice@acme.test', alicePassword)).toBe('authenticated');
      await enrolTotp(rotated, again);
      expect(((await rawUser('acme', aliceId))!.mfa as { totp: { secret: string } }).totp.secret).toMatch(/^v1\.k2\./);
      await Promise.all([t.close(), rotated.close()]);
    }, 60_000);
  }
});
