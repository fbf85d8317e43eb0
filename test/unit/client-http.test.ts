/**
 * passport-stepup/client against the plugin on a real HTTP server (test/helpers/app.ts buildApp on
 * a free port): Node's fetch is injected with a small cookie jar standing in for the browser's.
 * The typed wrapper (paths, bodies, 204s, errors with status, code and Retry-After) and the step-up
 * helper (ask, verify, retry once; a wrong code asks again; cancel; no loop).
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { ApiError, createClient, isApiError, type FetchLike, type StepUpClient } from '../../client/http';
import { StepUpCancelled, withStepUp, type StepUpPromptContext } from '../../client/stepup';
import { buildApp, codeFor, seedTenant, seedUser, type TestApp } from '../helpers/app';

/** A browser's cookie jar, reduced to what one origin needs: names and values, replaced on Set-Cookie. */
function cookieFetch(): FetchLike & { calls: { url: string; init: RequestInit }[] } {
  const jar = new Map<string, string>();
  const calls: { url: string; init: RequestInit }[] = [];
  const f = async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const headers = new Headers(init.headers);
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  };
  return Object.assign(f, { calls });
}

describe('client: typed fetch wrapper and step-up helper against a real server', () => {
  let t: TestApp;
  let server: Server;
  let base = '';
  let tenantSlug = '';
  const password = 'correct horse battery staple';
  let secret = '';

  beforeAll(async () => {
    t = buildApp();
    const tenant = await seedTenant(t, 'acme');
    tenantSlug = tenant.slug;
    await seedUser(t, tenant.id, 'alice@example.com', password);
    server = createServer(t.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    if (server) await new Promise((resolve) => server.close(resolve));
    await t.close();
  });

  const newClient = (): { api: StepUpClient; f: ReturnType<typeof cookieFetch> } => {
    const f = cookieFetch();
    return { api: createClient({ baseUrl: `${base}/`, fetch: f }), f };
  };

  it('logs in, reads the session, enrols TOTP, logs out (paths, JSON bodies, 204 as void)', async () => {
    const { api, f } = newClient();
    expect(await api.session()).toEqual({ state: 'anonymous' });
    const login = await api.login({ tenant: tenantSlug, email: 'alice@example.com', password });
    expect(login.state).toBe('authenticated');
    const s = await api.session();
    expect(s.state).toBe('authenticated');
    expect(s.user?.email).toBe('alice@example.com');

    const enrol = await api.enrolTotp();
    expect(enrol.qrCode).toMatch(/^data:image\/png;base64,/);
    secret = enrol.secret;
    const confirmed = await api.confirmTotp(codeFor(secret, t.clock.now()));
    expect(confirmed.enabled).toBe(true);
    expect(confirmed.backupCodes).toHaveLength(10);
    const status = await api.mfaStatus();
    expect(status.methods.totp.enabled).toBe(true);
    expect(status.backupCodesRemaining).toBe(10);

    // Writes carry a JSON body and the content type the plugin requires; reads carry none.
    const post = f.calls.find((c) => c.url.endsWith('/auth/login'))!;
    expect(post.url).toBe(`${base}/auth/login`);
    expect(post.init.method).toBe('POST');
    expect(new Headers(post.init.headers).get('content-type')).toBe('application/json');
    const get = f.calls.find((c) => c.url.endsWith('/auth/session'))!;
    expect(get.init.body).toBeUndefined();

    await expect(api.logout()).resolves.toBeUndefined();
    expect((await api.session()).state).toBe('anonymous');
  });

  it('turns every failure into an ApiError with status, code and message; a second factor completes the login', async () => {
    const { api } = newClient();
    const wrong = await api.login({ tenant: tenantSlug, email: 'alice@example.com', password: 'nope' }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(ApiError);
    expect(isApiError(wrong)).toBe(true);
    expect(wrong).toMatchObject({ status: 401, code: 'invalid_credentials' });

    const bad = await api.request('POST', '/auth/login', { tenant: 'Not A Slug', email: 'x', password: 'y' }).catch((e: ApiError) => e);
    expect(bad).toMatchObject({ status: 400, code: 'invalid_request' });
    expect((bad as ApiError).message).toMatch(/"tenant"/);

    const first = await api.login({ tenant: tenantSlug, email: 'alice@example.com', password });
    expect(first).toMatchObject({ state: 'mfa_required', methods: expect.arrayContaining(['totp', 'backup_code']) });
    t.clock.advance(30);
    const wrongCode = await api.challenge({ method: 'totp', code: '000000' }).catch((e: ApiError) => e);
    expect(wrongCode).toMatchObject({ status: 401, code: 'invalid_code' });
    const done = await api.challenge({ method: 'totp', code: codeFor(secret, t.clock.now()) });
    expect(done).toMatchObject({ state: 'authenticated', aal: 2 });

    // Not reached at all: code `network`, status 0.
    const offline = createClient({ baseUrl: 'http://127.0.0.1:1', fetch: () => Promise.reject(new TypeError('fetch failed')) });
    await expect(offline.session()).rejects.toMatchObject({ status: 0, code: 'network' });
    await api.logout();
  });

  it('withStepUp: step_up_required -> asks for a code (the methods listed), a wrong one asks again, then retries the action once', async () => {
    const { api } = newClient();
    await api.login({ tenant: tenantSlug, email: 'alice@example.com', password });
    t.clock.advance(30);
    await api.challenge({ method: 'totp', code: codeFor(secret, t.clock.now()) });
    // Past the step-up window: regenerating backup codes needs a fresh factor.
    t.clock.advance(301);
    await expect(api.regenerateBackupCodes()).rejects.toMatchObject({ status: 401, code: 'step_up_required' });

    const asked: StepUpPromptContext[] = [];
    let actions = 0;
    let closed = 0;
    const r = await withStepUp(
      api,
      () => {
        actions += 1;
        return api.regenerateBackupCodes();
      },
      {
        prompt: async (ctx) => {
          asked.push(ctx);
          if (ctx.attempt === 1) return { method: 'totp', code: '000000' };
          t.clock.advance(30);
          return { method: 'totp', code: codeFor(secret, t.clock.now()) };
        },
        done: () => (closed += 1),
      },
    );
    expect(r.backupCodes).toHaveLength(10);
    expect(actions).toBe(2);
    expect(closed).toBe(1);
    expect(asked.map((a) => a.attempt)).toEqual([1, 2]);
    expect(asked[0]!.methods).toContain('totp');
    expect(asked[0]!.error).toBeUndefined();
    expect(asked[1]!.error).toMatchObject({ code: 'invalid_code' });
    await api.logout();
  });

  it('withStepUp: cancelling throws StepUpCancelled and the action is not run again; other errors pass through', async () => {
    const { api } = newClient();
    await api.login({ tenant: tenantSlug, email: 'alice@example.com', password });
    t.clock.advance(30);
    await api.challenge({ method: 'totp', code: codeFor(secret, t.clock.now()) });
    t.clock.advance(301);
    let actions = 0;
    const cancelled = withStepUp(
      api,
      () => {
        actions += 1;
        return api.disableMethod('totp');
      },
      { prompt: async () => null },
    );
    await expect(cancelled).rejects.toBeInstanceOf(StepUpCancelled);
    expect(actions).toBe(1);
    expect((await api.mfaStatus()).methods.totp.enabled).toBe(true);

    // Not a step-up: thrown as is, no question asked.
    const prompt = jest.fn();
    await expect(withStepUp(api, () => api.admin.listTenants(), { prompt })).rejects.toMatchObject({ code: 'forbidden' });
    expect(prompt).not.toHaveBeenCalled();
    await api.logout();
  });

  it('withStepUp never loops: a second step_up_required after a verified code is thrown', async () => {
    let calls = 0;
    const stepUps: unknown[] = [];
    const fake = {
      stepUp: async (input: unknown) => {
        stepUps.push(input);
        return { aal: 2 as const, mfaVerifiedAt: new Date().toISOString() };
      },
      mfaStatus: async () => ({
        enabled: true,
        methods: { totp: { enabled: true, enrolledAt: null }, email_otp: { enabled: false, enrolledAt: null }, sms_otp: { enabled: false, enrolledAt: null } },
        backupCodesRemaining: 3,
        lastVerifiedAt: null,
      }),
    };
    const action = async () => {
      calls += 1;
      throw new ApiError(401, 'step_up_required', { error: 'step_up_required', message: 'Step up.' });
    };
    const asked: StepUpPromptContext[] = [];
    await expect(withStepUp(fake, action, { prompt: async (ctx) => (asked.push(ctx), { method: 'totp', code: '123456' }) })).rejects.toMatchObject({ code: 'step_up_required' });
    expect(calls).toBe(2);
    expect(stepUps).toHaveLength(1);
    // No methods in the answer: the user's own, from the status route.
    expect(asked[0]!.methods).toEqual(['totp', 'backup_code']);
  });

  it('reads Retry-After on 429 and names admin routes under the admin mount', async () => {
    const responses: { url: string; method?: string }[] = [];
    const f: FetchLike = async (url, init) => {
      responses.push({ url, method: init.method });
      return new Response(JSON.stringify({ error: 'rate_limited', message: 'Slow down.' }), { status: 429, headers: { 'retry-after': '42', 'content-type': 'application/json' } });
    };
    const api = createClient({ baseUrl: 'https://app.example', adminPath: '/ops', authPath: '/mfa', fetch: f });
    await expect(api.sendCode('sms')).rejects.toMatchObject({ status: 429, code: 'rate_limited', retryAfter: 42, message: 'Slow down.' });
    await api.admin.audit('acme corp', { limit: 5, before: '2026-01-01T00:00:00.000Z' }).catch(() => undefined);
    await api.admin.resetMfa('acme', 'u/1').catch(() => undefined);
    expect(responses.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST https://app.example/mfa/mfa/sms/send',
      'GET https://app.example/ops/tenants/acme%20corp/audit?limit=5&before=2026-01-01T00%3A00%3A00.000Z',
      'POST https://app.example/ops/tenants/acme/users/u%2F1/mfa/reset',
    ]);
  });
});
