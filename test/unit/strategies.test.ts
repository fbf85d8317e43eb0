import type { Request } from 'express';
import { CODE_STRATEGIES, CodeStrategy, PasswordStrategy } from '../../strategies';
import { StepUpError } from '../../lib/errors';
import type { FactorAttempt, FactorTarget } from '../../lib/auth/second-factor';
import type { RequestMeta, TenantRecord, UserRecord } from '../../lib/types';

const USER = { id: 'u1', tenantId: 't1', email: 'alice@example.com', roles: ['user'], passwordHash: 'argon2-hash', mfa: { backupCodes: [] } } as unknown as UserRecord;
const TENANT = { id: 't1', slug: 'acme' } as TenantRecord;
const SAFE_USER = { id: 'u1', tenantId: 't1', tenant: 'acme', email: 'alice@example.com', name: undefined, roles: ['user'] };
const META: RequestMeta = { ip: '127.0.0.1', userAgent: 'jest', sessionId: 's1' };
const TARGET = { purpose: 'login', pending: { id: 'p1' }, validFrom: 0 } as unknown as FactorTarget;
const meta = () => META;

/** A verify function in the old shape (resolves the user or false), adapted to the pipeline's contract. */
type Verify = (attempt: FactorAttempt) => Promise<UserRecord | false>;
const pipeline = (verify: Verify) => async (a: FactorAttempt) => {
  const user = await verify(a);
  if (!user) throw new StepUpError('invalid_code');
  return { user, tenant: TENANT, method: a.method, aal: 2 as const };
};
const spec = (method: string) => CODE_STRATEGIES.find((c) => c.method === method)!;

type Outcome = { kind: 'success'; user: unknown; info: unknown } | { kind: 'fail'; info: unknown; status?: number } | { kind: 'error'; err: unknown };

/** Runs a strategy the way Passport does: `success`/`fail`/`error` put on the instance, then `authenticate`. */
function run(strategy: object, body: unknown, query: Record<string, unknown> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = Object.create(strategy) as {
      success: (user: unknown, info?: unknown) => void;
      fail: (info?: unknown, status?: number) => void;
      error: (err: unknown) => void;
      authenticate: (req: Request, options?: object) => void;
    };
    s.success = (user, info) => resolve({ kind: 'success', user, info });
    s.fail = (info, status) => resolve({ kind: 'fail', info, status: typeof info === 'number' ? info : status });
    s.error = (err) => resolve({ kind: 'error', err });
    s.authenticate({ body, query } as unknown as Request, {});
  });
}

describe.each<[string, (v: Verify) => CodeStrategy, string, string[]]>([
  ['CodeStrategy (totp)', (v) => new CodeStrategy(spec('totp'), { target: () => TARGET, meta, verify: v && pipeline(v) }), '081804', [' 287082', '81804', '０８１８０４', '2870820', '94287082', '28708a']],
  ['CodeStrategy (backup_code)', (v) => new CodeStrategy(spec('backup_code'), { target: () => TARGET, meta, verify: v && pipeline(v) }), 'ABCD efgh-ijkl mnop', ['abcd-efgh-ijkl', 'abcd-efgh-ijkl-mno1', 'abcd--efgh-ijkl-mnop', "abcd-efgh-ijkl-mnop' OR 1=1"]],
])('%s without HTTP', (_name, make, good, badStrings) => {
  it('throws a TypeError without a verify function', () => {
    expect(() => make(undefined as never)).toThrow(TypeError);
  });

  it('right code: success(safe user, {method, result}); req.user never holds the hash', async () => {
    const verify = jest.fn().mockResolvedValue(USER);
    const out = await run(make(verify), { code: good });
    expect(out).toMatchObject({ kind: 'success', user: SAFE_USER, info: { result: { user: USER, tenant: TENANT } } });
    expect(JSON.stringify((out as { user: unknown }).user)).not.toContain('argon2-hash');
    expect(verify).toHaveBeenCalledWith(expect.objectContaining({ code: good, target: TARGET, meta: META }));
  });

  it('wrong code: fail(info, 401) with the StepUpError', async () => {
    const out = await run(make(jest.fn().mockResolvedValue(false)), { code: good });
    expect(out).toMatchObject({ kind: 'fail', info: { code: 'invalid_code' }, status: 401 });
  });

  it.each<[string, unknown]>([
    ['no body', undefined],
    ['no code', {}],
    ['a number', { code: 81804 }],
    ['an array', { code: [good] }],
    ['an operator object', { code: { $ne: null } }],
    ['true', { code: true }],
    ['null', { code: null }],
  ])('bad input (%s): fail(info, 400) and verify never runs', async (_n, body) => {
    const verify = jest.fn();
    const out = await run(make(verify), body);
    expect(out).toMatchObject({ kind: 'fail', status: 400, info: { code: 'invalid_request' } });
    expect(verify).not.toHaveBeenCalled();
  });

  it('malformed strings: fail(info, 400)', async () => {
    for (const code of badStrings) {
      const verify = jest.fn();
      expect(await run(make(verify), { code })).toMatchObject({ kind: 'fail', status: 400 });
      expect(verify).not.toHaveBeenCalled();
    }
  });

  it('store trouble: error(err), whether verify rejects or throws', async () => {
    const boom = new Error('Connection is closed.');
    expect(await run(make(jest.fn().mockRejectedValue(boom)), { code: good })).toEqual({ kind: 'error', err: boom });
    const throwing = () => {
      throw boom;
    };
    expect(await run(make(throwing as never), { code: good })).toEqual({ kind: 'error', err: boom });
  });

  it('a refusal with its own status (locked, rate limited) is a fail with that status, not an error', async () => {
    const locked = new StepUpError('account_locked');
    const out = await run(make(jest.fn().mockRejectedValue(locked)), { code: good });
    expect(out).toMatchObject({ kind: 'fail', status: 423, info: { code: 'account_locked', error: locked } });
  });
});

describe('PasswordStrategy without HTTP', () => {
  const body = { tenant: 'acme', email: 'alice@example.com', password: 'correct horse battery staple' };

  it('throws a TypeError without a verify function', () => {
    expect(() => new PasswordStrategy(undefined as never, meta)).toThrow(TypeError);
  });

  it('right password: success with what verify found', async () => {
    const verify = jest.fn().mockResolvedValue({ user: USER, tenant: TENANT });
    const out = await run(new PasswordStrategy(verify, meta), body);
    expect(out).toMatchObject({ kind: 'success', user: SAFE_USER, info: { result: { user: USER, tenant: TENANT } } });
    expect(verify).toHaveBeenCalledWith(META, body.tenant, body.email, body.password);
  });

  it('wrong password or unknown user: fail (401 by default) with the same info', async () => {
    const out = await run(new PasswordStrategy(jest.fn().mockResolvedValue(false), meta), body);
    expect(out).toEqual({ kind: 'fail', info: { message: 'invalid_credentials' }, status: undefined });
  });

  it.each<[string, unknown]>([
    ['no body', undefined],
    ['no password', { email: 'a@b.c' }],
    ['an operator email', { ...body, email: { $ne: null } }],
    ['an operator password', { ...body, password: { $gt: '' } }],
    ['an array email', { ...body, email: ['a@b.c', 'c@d.e'] }],
    ['a numeric password', { ...body, password: 12345678 }],
    ['an object tenant', { ...body, tenant: { $ne: null } }],
  ])('bad input (%s): fail(info, 400) and verify never runs', async (_n, b) => {
    const verify = jest.fn();
    const out = await run(new PasswordStrategy(verify, meta), b);
    expect(out).toMatchObject({ kind: 'fail', status: 400 });
    expect(verify).not.toHaveBeenCalled();
  });

  it('never falls back to credentials in the query string', async () => {
    const verify = jest.fn().mockResolvedValue({ user: USER, tenant: TENANT });
    const out = await run(new PasswordStrategy(verify, meta), {}, { email: 'alice@example.com', password: 'x' });
    expect(out).toMatchObject({ kind: 'fail', status: 400 });
    expect(verify).not.toHaveBeenCalled();
  });

  it('store trouble: error(err)', async () => {
    const boom = new Error('Connection is closed.');
    expect(await run(new PasswordStrategy(jest.fn().mockRejectedValue(boom), meta), body)).toEqual({ kind: 'error', err: boom });
  });
});
