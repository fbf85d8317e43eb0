/** The browser client (client/realtime.ts) against fake sockets and a fake clock. */
import { RealtimeClient, type RealtimeStatus, type RealtimeStatusDetail } from '../../client/realtime';

class FakeSocket {
  readyState = 0;
  sent: unknown[] = [];
  closedWith: number | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  // server side
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  message(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }
  drop(code: number): void {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

function setup(random = () => 1, extra: { pingIntervalMs?: number } = {}) {
  const sockets: FakeSocket[] = [];
  const statuses: Array<[RealtimeStatus, RealtimeStatusDetail]> = [];
  const client = new RealtimeClient('wss://app.example.com/ws', {
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s as unknown as WebSocket;
    },
    onStatus: (s, d) => statuses.push([s, d]),
    random,
    pingIntervalMs: extra.pingIntervalMs ?? 0,
  });
  const last = (): FakeSocket => sockets[sockets.length - 1]!;
  return { client, sockets, statuses, last };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('RealtimeClient', () => {
  it('reports connected, dispatches events, and joins its company on open', () => {
    const { client, last, statuses } = setup();
    const sync = jest.fn();
    const notes = jest.fn();
    client.onSyncStatus(sync);
    const off = client.onNotification(notes);
    client.joinCompany('acme'); // before connect: remembered
    client.connect();
    last().open();
    expect(statuses.map((s) => s[0])).toEqual(['connecting', 'connected']);
    expect(last().sent).toEqual([{ type: 'joinCompany', tenant: 'acme' }]);
    last().message({ type: 'joined', userId: 'u1' });
    last().message({ type: 'syncStatus', tenant: 'acme', status: 'progress', progress: 10, at: 1 });
    last().message({ type: 'notification', level: 'info', title: 't', message: 'm', at: 1 });
    last().message('not json');
    expect(sync).toHaveBeenCalledWith(expect.objectContaining({ status: 'progress', progress: 10 }));
    expect(notes).toHaveBeenCalledTimes(1);
    off();
    last().message({ type: 'notification', level: 'info', title: 't', message: 'm', at: 2 });
    expect(notes).toHaveBeenCalledTimes(1);
  });

  it('reconnects with exponential backoff and full jitter, capped at 30 s, and rejoins its room', () => {
    const { client, sockets, statuses, last } = setup(() => 0.999999);
    client.connect();
    last().open();
    client.joinCompany('acme');
    const delays: number[] = [];
    for (let i = 0; i < 9; i += 1) {
      last().drop(1006);
      const detail = statuses[statuses.length - 1]![1];
      delays.push(detail.reconnectInMs!);
      jest.advanceTimersByTime(detail.reconnectInMs!);
    }
    expect(delays).toEqual([499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
    expect(sockets).toHaveLength(10);
    last().open();
    expect(last().sent).toEqual([{ type: 'joinCompany', tenant: 'acme' }]);
    // A successful (authenticated) connection resets the backoff.
    last().message({ type: 'joined', userId: 'u1' });
    last().drop(1001);
    expect(statuses[statuses.length - 1]![1].reconnectInMs).toBe(499);
  });

  it('jitter draws from the whole range', () => {
    const { client, statuses, last } = setup(() => 0);
    client.connect();
    last().drop(1006);
    expect(statuses[statuses.length - 1]).toEqual(['disconnected', { code: 1006, reconnectInMs: 0 }]);
  });

  it('stops for good on 4401 (session ended)', () => {
    const { client, sockets, statuses, last } = setup();
    client.connect();
    last().open();
    last().drop(4401);
    expect(statuses[statuses.length - 1]).toEqual(['disconnected', { code: 4401, sessionEnded: true }]);
    jest.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(1);
    client.connect(); // after a new login
    expect(sockets).toHaveLength(2);
  });

  it('stops after close(), also while a reconnect is pending', () => {
    const { client, sockets, last } = setup();
    client.connect();
    last().open();
    client.close();
    expect(last().closedWith).toBe(1000);
    jest.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(1);

    client.connect();
    last().drop(1006);
    client.close();
    jest.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(2);
  });

  it('treats a silent connection as dead after a missed ping', () => {
    const { client, sockets, last } = setup(() => 0, { pingIntervalMs: 1000 });
    client.connect();
    last().open();
    jest.advanceTimersByTime(1000);
    expect(last().sent).toEqual([{ type: 'ping' }]);
    last().message({ type: 'pong' });
    jest.advanceTimersByTime(1000);
    expect(sockets).toHaveLength(1);
    jest.advanceTimersByTime(1000); // no answer to the second ping
    expect(sockets[0]!.closedWith).toBe(4000);
    jest.advanceTimersByTime(1); // fake timers run a 0 ms timeout set during a tick 1 ms later
    expect(sockets).toHaveLength(2);
  });

  it('passes server error frames on', () => {
    const onError = jest.fn();
    const sockets: FakeSocket[] = [];
    const client = new RealtimeClient('wss://x/ws', {
      createSocket: (u) => {
        const s = new FakeSocket(u);
        sockets.push(s);
        return s as unknown as WebSocket;
      },
      onError,
      pingIntervalMs: 0,
    });
    client.connect();
    sockets[0]!.open();
    sockets[0]!.message({ type: 'error', error: 'forbidden' });
    expect(onError).toHaveBeenCalledWith('forbidden');
  });
});
