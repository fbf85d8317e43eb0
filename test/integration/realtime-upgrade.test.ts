/**
 * Upgrade authentication in the HTTP `upgrade` handler (MFA-60, ATK-21) and the Origin allowlist
 * (MFA-61, ATK-20): every refusal is a bare 401/403/404/503 and nothing is upgraded.
 */
import type { AddressInfo } from 'node:net';
import { sign } from 'cookie-signature';
import { startRealtimeApp, SECRET } from '../helpers/realtime-app';
import { IDLE_MS, startFixture, type Fixture } from '../helpers/realtime-fixture';
import { openSocket, rawUpgrade, refusedStatus } from '../helpers/realtime-ws';

const cookieOf = (value: string): string => `connect.sid=${encodeURIComponent(value)}`;

describe('realtime upgrade (MemoryStore)', () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await startFixture();
  });

  afterAll(async () => {
    await f.close();
  });

  describe('refused upgrades (nothing is upgraded)', () => {
    it('no cookie: 401', async () => {
      expect(await refusedStatus(f.app.wsUrl)).toBe(401);
    });

    it('a refusal is a bare status line, then the connection closes (no 101, no body)', async () => {
      const port = (f.app.server.address() as AddressInfo).port;
      const pending = await f.app.login({ state: 'mfa_required' });
      expect(await rawUpgrade(port, { Origin: 'https://app.example.com', Cookie: pending.cookie })).toBe(
        'HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
      expect(await rawUpgrade(port, { Origin: 'https://evil.example', Cookie: f.full.cookie })).toBe(
        'HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
    });

    it('a forged signature: 401', async () => {
      expect(await refusedStatus(f.app.wsUrl, { cookie: cookieOf(`s:${f.full.sid}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`) })).toBe(401);
    });

    it('an unsigned session id: 401', async () => {
      expect(await refusedStatus(f.app.wsUrl, { cookie: cookieOf(f.full.sid) })).toBe(401);
    });

    it('a cookie signed with another secret: 401', async () => {
      expect(await refusedStatus(f.app.wsUrl, { cookie: cookieOf(`s:${sign(f.full.sid, 'another-secret-another-secret-xx')}`) })).toBe(401);
    });

    it('a session id in the URL is never read: 401', async () => {
      const value = encodeURIComponent(`s:${sign(f.full.sid, SECRET)}`);
      expect(await refusedStatus(`${f.app.wsUrl}?sid=${f.full.sid}&connect.sid=${value}`)).toBe(401);
    });

    it.each(['mfa_required', 'enrollment_required'] as const)('a pending %s session: 401', async (state) => {
      const pending = await f.app.login({ state, noUser: true });
      expect(await refusedStatus(f.app.wsUrl, { cookie: pending.cookie })).toBe(401);
      const pendingWithUser = await f.app.login({ state });
      expect(await refusedStatus(f.app.wsUrl, { cookie: pendingWithUser.cookie })).toBe(401);
    });

    it('an authenticated state without a Passport user: 401', async () => {
      const odd = await f.app.login({ noUser: true });
      expect(await refusedStatus(f.app.wsUrl, { cookie: odd.cookie })).toBe(401);
    });

    it('an idle-expired session (host hook, clock moved): 401', async () => {
      const stale = await f.app.login({ lastSeen: f.clock.now - IDLE_MS - 1 });
      expect(await refusedStatus(f.app.wsUrl, { cookie: stale.cookie })).toBe(401);
    });

    it.each([
      'https://evil.example',
      'null',
      'https://app.example.com.evil.example',
      'https://evil-app.example.com',
      'http://app.example.com',
      'HTTPS://APP.EXAMPLE.COM',
      'https://app.example.com:8443',
      'https://app.example.com/',
    ])('Origin %s: 403', async (origin) => {
      expect(await refusedStatus(f.app.wsUrl, { cookie: f.full.cookie, origin })).toBe(403);
    });

    it('the exact configured origin is accepted (control case)', async () => {
      const s = await openSocket(f.app.wsUrl, { cookie: f.full.cookie, origin: 'https://app.example.com' });
      expect(await s.next('joined')).toEqual({ type: 'joined', userId: 'u1' });
      await s.close();
    });

    it('allowMissingOrigin lets Origin-less clients in, and still refuses foreign origins', async () => {
      const lax = await startRealtimeApp({ realtime: { allowMissingOrigin: true } });
      try {
        const login = await lax.login();
        const s = await openSocket(lax.wsUrl, { cookie: login.cookie, origin: null });
        expect(await s.next('joined')).toMatchObject({ type: 'joined' });
        await s.close();
        expect(await refusedStatus(lax.wsUrl, { cookie: login.cookie, origin: 'https://evil.example' })).toBe(403);
      } finally {
        await lax.close();
      }
    });

    it('a missing Origin: 403', async () => {
      expect(await refusedStatus(f.app.wsUrl, { cookie: f.full.cookie, origin: null })).toBe(403);
    });

    it('Origin is checked before the session: a foreign origin without cookie is 403', async () => {
      expect(await refusedStatus(f.app.wsUrl, { origin: 'https://evil.example' })).toBe(403);
    });

    it.each(['/other', '/ws/extra', '/wsx'])('path %s: not upgraded (404 when no other listener)', async (path) => {
      expect(await refusedStatus(f.app.wsUrl.replace(/\/ws$/, path), { cookie: f.full.cookie })).toBe(404);
    });

    it('a session store failure: 503 (fail closed)', async () => {
      const broken = await startRealtimeApp({
        realtime: { sessionStore: { get: (_sid, cb) => cb(new Error('store down')) } },
      });
      try {
        const login = await broken.login();
        expect(await refusedStatus(broken.wsUrl, { cookie: login.cookie })).toBe(503);
      } finally {
        await broken.close();
      }
    });
  });

  it('no log line carries a cookie or a session id', () => {
    expect(f.logLines.length).toBeGreaterThan(10);
    f.expectNoSecretsLogged();
  });
});
