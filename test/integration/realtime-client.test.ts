/**
 * The example app's browser client against the real server, with `ws` standing in for the browser's
 * WebSocket (same event-handler API): reconnect after a drop, re-join the company room, stop on 4401.
 */
import WebSocket from 'ws';
import { RealtimeClient, type RealtimeStatus, type RealtimeStatusDetail, type SyncStatusEvent } from '../../client/realtime';
import { ORIGIN, startRealtimeApp, type RealtimeTestApp } from '../helpers/realtime-app';
import { withTimeout } from '../helpers/realtime-ws';

/** Resolves the next time `pick` returns a value for an event pushed through `push`. */
class Events<T> {
  private waiters: Array<{ pick: (e: T) => boolean; resolve: (e: T) => void }> = [];
  push(e: T): void {
    const i = this.waiters.findIndex((w) => w.pick(e));
    if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(e);
  }
  next(pick: (e: T) => boolean, what: string): Promise<T> {
    return withTimeout(new Promise<T>((resolve) => this.waiters.push({ pick, resolve })), 5000, what);
  }
}

describe('browser RealtimeClient against the server', () => {
  let app: RealtimeTestApp;

  beforeAll(async () => {
    app = await startRealtimeApp();
  });

  afterAll(async () => {
    await app.close();
  });

  it('reconnects after a drop, re-joins its company room, and stops when the session ends', async () => {
    const login = await app.login({ userId: 'c1', tenantId: 't1', tenant: 'acme' });
    const frames = new Events<{ type: string }>();
    const statuses = new Events<[RealtimeStatus, RealtimeStatusDetail]>();
    const sync = new Events<SyncStatusEvent>();
    let created = 0;
    const client = new RealtimeClient(app.wsUrl, {
      createSocket: (url) => {
        created += 1;
        const ws = new WebSocket(url, { headers: { cookie: login.cookie, origin: ORIGIN } });
        ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as { type: string }));
        return ws as unknown as globalThis.WebSocket;
      },
      onStatus: (s, d) => statuses.push([s, d]),
      baseDelayMs: 10,
      pingIntervalMs: 0,
    });
    client.onSyncStatus((e) => sync.push(e));

    const joined1 = frames.next((f) => f.type === 'joinedCompany', 'first join');
    client.joinCompany('acme');
    client.connect();
    await joined1;
    const got1 = sync.next((e) => e.status === 'started', 'first event');
    await app.realtime.emitSyncStatus('acme', { status: 'started' });
    expect((await got1).tenant).toBe('acme');

    // A drop that is not "session ended" (e.g. a server restart): the client comes back and re-joins.
    const dropped = statuses.next(([s]) => s === 'disconnected', 'drop');
    const joined2 = frames.next((f) => f.type === 'joinedCompany', 'second join');
    await app.realtime.closeSessions([login.sid], 1013);
    expect((await dropped)[1]).toMatchObject({ code: 1013 });
    await joined2;
    expect(created).toBe(2);
    const got2 = sync.next((e) => e.status === 'completed', 'event after reconnect');
    await app.realtime.emitSyncStatus('acme', { status: 'completed', progress: 100 });
    expect((await got2).progress).toBe(100);

    // The session ends: 4401, and the client gives up.
    const ended = statuses.next(([s]) => s === 'disconnected', 'session end');
    await app.realtime.closeSessions([login.sid]);
    expect((await ended)[1]).toEqual({ code: 4401, sessionEnded: true });
    client.close();
    expect(created).toBe(2);
  });
});
