/**
 * Accepted sockets on one process: rooms and tenant scoping (MFA-65), the message protocol and the
 * resource limits (MFA-64, ATK-22).
 */
import { startFixture, type Fixture } from '../helpers/realtime-fixture';
import { refusedStatus, waitUntil, withTimeout } from '../helpers/realtime-ws';

describe('realtime sockets (MemoryStore)', () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await startFixture();
  });

  afterAll(async () => {
    await f.close();
  });

  describe('accepted sockets', () => {
    it('a full session gets `joined`, and permessage-deflate is not negotiated although offered', async () => {
      const s = await f.open(f.full, { ws: { perMessageDeflate: true } });
      expect(await s.next('joined')).toEqual({ type: 'joined', userId: 'u1' });
      expect(s.ws.extensions).toBe('');
      await s.close();
    });

    it('user and company rooms get their events; another tenant gets none', async () => {
      const a = await f.open(f.full);
      const b = await f.open(await f.app.login({ userId: 'u2', tenantId: 't1', tenant: 'acme' }));
      const c = await f.open(await f.app.login({ userId: 'u3', tenantId: 't2', tenant: 'globex' }));
      for (const [s, tenant] of [[a, 'acme'], [b, 'acme'], [c, 'globex']] as const) {
        await s.next('joined');
        s.send({ type: 'joinCompany', tenant });
        expect(await s.next('joinedCompany')).toEqual({ type: 'joinedCompany', tenant });
      }

      f.clock.now += 1000;
      await f.app.realtime.emitSyncStatus('acme', { status: 'progress', progress: 40, message: 'importing', recordsImported: 12 });
      const expected = { type: 'syncStatus', tenant: 'acme', status: 'progress', progress: 40, message: 'importing', recordsImported: 12, at: f.clock.now };
      expect(await a.next('syncStatus')).toEqual(expected);
      expect(await b.next('syncStatus')).toEqual(expected);

      await f.app.realtime.emitNotification({ tenantId: 't1', userId: 'u1' }, { level: 'success', title: 'Done', message: 'Import finished' });
      expect(await a.next('notification')).toEqual({ type: 'notification', level: 'success', title: 'Done', message: 'Import finished', at: f.clock.now });
      await f.app.realtime.emitNotification('u2', { level: 'warning', title: 'Heads up', message: 'x' });
      expect(await b.next('notification')).toMatchObject({ level: 'warning', title: 'Heads up' });

      // Tenant t2 saw nothing of acme's sync, and u2 nothing of u1's notification.
      await f.drain(c, 't2', 'u3');
      expect(c.received.filter((f) => f.type === 'syncStatus')).toEqual([]);
      expect(b.received.filter((f) => f.title === 'Done')).toEqual([]);
      await Promise.all([a.close(), b.close(), c.close()]);
    });

    it('joinCompany of a foreign tenant: error forbidden, and none of its events', async () => {
      const s = await f.open(f.full);
      await s.next('joined');
      s.send({ type: 'joinCompany', tenant: 'globex' });
      expect(await s.next('error')).toEqual({ type: 'error', error: 'forbidden' });
      s.send({ type: 'leaveCompany', tenant: 'globex' });
      expect(await s.next('error')).toEqual({ type: 'error', error: 'forbidden' });
      await f.app.realtime.emitSyncStatus('globex', { status: 'started' });
      await f.drain(s, 't1', 'u1');
      expect(s.received.filter((f) => f.type === 'syncStatus')).toEqual([]);
      await s.close();
    });

    it('leaveCompany stops company events', async () => {
      const s = await f.open(f.full);
      await s.next('joined');
      s.send({ type: 'joinCompany', tenant: 'acme' });
      await s.next('joinedCompany');
      s.send({ type: 'leaveCompany', tenant: 'acme' });
      expect(await s.next('leftCompany')).toEqual({ type: 'leftCompany', tenant: 'acme' });
      await f.app.realtime.emitSyncStatus('acme', { status: 'completed' });
      await f.drain(s, 't1', 'u1');
      expect(s.received.filter((f) => f.type === 'syncStatus')).toEqual([]);
      await s.close();
    });

    it('malformed, binary and unknown messages get error frames and the socket stays usable', async () => {
      const s = await f.open(f.full);
      await s.next('joined');
      const cases: Array<[string | Buffer, string]> = [
        ['not json', 'invalid_message'],
        ['[1,2]', 'invalid_message'],
        ['"text"', 'invalid_message'],
        ['null', 'invalid_message'],
        ['{"type":5}', 'invalid_message'],
        ['{"type":"joinCompany"}', 'invalid_message'],
        [JSON.stringify({ type: 'joinCompany', tenant: { $ne: null } }), 'invalid_message'],
        ['{"__proto__":{"type":"ping"}}', 'invalid_message'],
        ['{"type":"subscribe","room":"company:globex"}', 'unknown_type'],
        [Buffer.from([1, 2, 3]), 'invalid_message'],
      ];
      for (const [data, error] of cases) {
        s.ws.send(data, { binary: Buffer.isBuffer(data) });
        expect(await s.next('error')).toEqual({ type: 'error', error });
      }
      s.send({ type: 'ping' });
      expect(await s.next('pong')).toEqual({ type: 'pong' });
      await s.close();
    });

    it('a message over maxPayloadBytes closes the socket with 1009', async () => {
      const s = await f.open(f.full);
      await s.next('joined');
      s.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(17 * 1024) }));
      expect((await withTimeout(s.closed, 5000, 'close')).code).toBe(1009);
    });

    it('a message flood (more than 100 a minute) closes the socket with 1008', async () => {
      const s = await f.open(f.full);
      await s.next('joined');
      for (let i = 0; i < 150; i += 1) s.send({ type: 'ping' });
      expect((await withTimeout(s.closed, 5000, 'close')).code).toBe(1008);
      expect(s.received.filter((f) => f.type === 'pong').length).toBeLessThanOrEqual(100);
    });

    it('the 11th connection of one user is refused with 429; a freed slot can be used again', async () => {
      await waitUntil(() => f.app.realtime.stats().sockets === 0, 'earlier sockets gone server-side');
      const capped = await f.app.login({ userId: 'u-cap', tenantId: 't1', tenant: 'acme' });
      const ten = await Promise.all(Array.from({ length: 10 }, () => f.open(capped)));
      expect(await refusedStatus(f.app.wsUrl, { cookie: capped.cookie })).toBe(429);
      // Another user of the same tenant is not affected by u-cap's cap.
      const other = await f.open(f.full);
      await other.next('joined');
      expect(f.app.realtime.stats().sockets).toBe(11);
      await ten[0]?.close();
      await waitUntil(() => f.app.realtime.stats().sockets === 10, 'server-side close');
      const again = await f.open(capped);
      expect(await again.next('joined')).toEqual({ type: 'joined', userId: 'u-cap' });
      await Promise.all([...ten, again, other].map((s) => s.close()));
    });

    it('emit payloads are validated (TypeError)', () => {
      const r = f.app.realtime;
      const bad = (fn: () => unknown): void => expect(fn).toThrow(TypeError);
      bad(() => r.emitSyncStatus('acme', { status: 'bogus' } as never));
      bad(() => r.emitSyncStatus('acme', { status: 'progress', progress: 101 }));
      bad(() => r.emitSyncStatus('acme', { status: 'progress', progress: Number.NaN }));
      bad(() => r.emitSyncStatus('acme', { status: 'error', error: 'e'.repeat(501) }));
      bad(() => r.emitSyncStatus('acme', { status: 'started', extra: 1 } as never));
      bad(() => r.emitSyncStatus('', { status: 'started' }));
      bad(() => r.emitNotification('u1', { level: 'fatal', title: 't', message: 'm' } as never));
      bad(() => r.emitNotification('u1', { level: 'info', title: 't' } as never));
      bad(() => r.emitNotification({ tenantId: 't1' } as never, { level: 'info', title: 't', message: 'm' }));
      bad(() => r.closeSessions(['sid'], 1006));
    });
  });

  it('no log line carries a cookie or a session id', () => {
    f.expectNoSecretsLogged();
  });
});
