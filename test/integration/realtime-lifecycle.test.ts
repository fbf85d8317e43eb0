/**
 * A socket follows its session (MFA-15, MFA-17, MFA-63): logout, closeUser, revalidation (on demand, on a
 * privileged message, on the timer), heartbeat (ATK-22), coexistence with other upgrade listeners, shutdown.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { destroySession, startRealtimeApp, type RealtimeTestApp } from '../helpers/realtime-app';
import { IDLE_MS, startFixture, type Fixture } from '../helpers/realtime-fixture';
import { openSocket, refusedStatus, withTimeout } from '../helpers/realtime-ws';

describe('realtime session lifecycle (MemoryStore)', () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await startFixture();
  });

  afterAll(async () => {
    await f.close();
  });

  describe('a socket follows its session', () => {
    it('logout destroys the session and closes its socket with 4401; the old cookie is then refused', async () => {
      const login = await f.app.login({ userId: 'u-out', tenantId: 't1', tenant: 'acme' });
      const s = await f.open(login);
      const other = await f.open(f.full);
      await Promise.all([s.next('joined'), other.next('joined')]);
      await f.app.logout(login);
      expect((await withTimeout(s.closed, 5000, 'close')).code).toBe(4401);
      expect(await refusedStatus(f.app.wsUrl, { cookie: login.cookie })).toBe(401);
      other.send({ type: 'ping' });
      expect(await other.next('pong')).toEqual({ type: 'pong' });
      await other.close();
    });

    it('closeUser closes every socket of that user only', async () => {
      const l1 = await f.app.login({ userId: 'u-all', tenantId: 't1', tenant: 'acme' });
      const l2 = await f.app.login({ userId: 'u-all', tenantId: 't1', tenant: 'acme' });
      const [s1, s2, other] = await Promise.all([f.open(l1), f.open(l2), f.open(f.full)]);
      await f.app.realtime.closeUser('t1', 'u-all');
      expect((await withTimeout(s1!.closed, 5000, 'close')).code).toBe(4401);
      expect((await withTimeout(s2!.closed, 5000, 'close')).code).toBe(4401);
      other!.send({ type: 'ping' });
      expect(await other!.next('pong')).toEqual({ type: 'pong' });
      await other!.close();
    });

    it('revalidation closes a socket whose session was destroyed in the store', async () => {
      const login = await f.app.login({ userId: 'u-gone', tenantId: 't1', tenant: 'acme' });
      const s = await f.open(login);
      await s.next('joined');
      await destroySession(f.app.store, login.sid);
      await f.app.realtime.revalidate();
      expect((await withTimeout(s.closed, 5000, 'close')).code).toBe(4401);
    });

    it('joinCompany re-checks the session: a destroyed session is closed, not joined', async () => {
      const login = await f.app.login({ userId: 'u-join', tenantId: 't1', tenant: 'acme' });
      const s = await f.open(login);
      await s.next('joined');
      await destroySession(f.app.store, login.sid);
      s.send({ type: 'joinCompany', tenant: 'acme' });
      expect((await withTimeout(s.closed, 5000, 'close')).code).toBe(4401);
      expect(s.received.map((f) => f.type)).toEqual(['joined']);
    });

    it('revalidation closes sockets once the idle timeout passed (clock moved, no sleeping)', async () => {
      const login = await f.app.login({ userId: 'u-idle', tenantId: 't1', tenant: 'acme', lastSeen: f.clock.now });
      const s = await f.open(login);
      await s.next('joined');
      await f.app.realtime.revalidate();
      s.send({ type: 'ping' });
      expect(await s.next('pong')).toEqual({ type: 'pong' });
      f.clock.now += IDLE_MS;
      await f.app.realtime.revalidate();
      expect((await withTimeout(s.closed, 5000, 'close')).code).toBe(4401);
      f.clock.now -= IDLE_MS;
    });
  });
});

describe('realtime timers, coexistence and shutdown', () => {
  let app: RealtimeTestApp;

  beforeAll(async () => {
    app = await startRealtimeApp({ realtime: { heartbeatIntervalMs: 50, revalidateIntervalMs: 50 } });
  });

  afterAll(async () => {
    await app.close();
  });

  it('heartbeat terminates a peer that stops answering pings; a live peer stays', async () => {
    const login = await app.login();
    const live = await openSocket(app.wsUrl, { cookie: login.cookie });
    const deaf = await openSocket(app.wsUrl, { cookie: login.cookie, ws: { autoPong: false } });
    await Promise.all([live.next('joined'), deaf.next('joined')]);
    expect((await withTimeout(deaf.closed, 5000, 'heartbeat termination')).code).toBe(1006);
    live.send({ type: 'ping' });
    expect(await live.next('pong')).toEqual({ type: 'pong' });
    await live.close();
  });

  it('the revalidation timer closes a socket whose session was destroyed', async () => {
    const login = await app.login({ userId: 'u-timer' });
    const s = await openSocket(app.wsUrl, { cookie: login.cookie });
    await s.next('joined');
    await destroySession(app.store, login.sid);
    expect((await withTimeout(s.closed, 5000, 'revalidation close')).code).toBe(4401);
  });

  it('leaves other paths to another upgrade listener (a second ws server coexists)', async () => {
    const other = new WebSocketServer({ noServer: true });
    const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (req.url === '/other') other.handleUpgrade(req, socket, head, (ws) => ws.send(JSON.stringify({ type: 'other' })));
    };
    app.server.on('upgrade', onUpgrade);
    try {
      const s = await openSocket(app.wsUrl.replace(/\/ws$/, '/other'));
      expect(await s.next('other')).toEqual({ type: 'other' });
      await s.close();
    } finally {
      app.server.off('upgrade', onUpgrade);
      other.close();
    }
  });

  it('close() sends 1001 to every socket and empties the rooms', async () => {
    const login = await app.login();
    const s = await openSocket(app.wsUrl, { cookie: login.cookie });
    await s.next('joined');
    await app.realtime.close();
    expect((await withTimeout(s.closed, 5000, 'close')).code).toBe(1001);
    expect(app.realtime.stats()).toEqual({ sockets: 0, rooms: 0 });
  });
});

