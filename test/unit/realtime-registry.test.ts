import { WebSocket } from 'ws';
import { Registry, writeFrame, type Conn } from '../../lib/realtime/registry';
import { userRoom } from '../../lib/realtime/protocol';

interface FakeWs {
  readyState: number;
  // A ws instance carries the ready-state constants too (the plugin compares with `ws.OPEN`).
  CONNECTING: number;
  OPEN: number;
  CLOSING: number;
  CLOSED: number;
  bufferedAmount: number;
  sent: Buffer[];
  terminated: boolean;
  send(data: Buffer, opts: { binary: boolean }): void;
  terminate(): void;
}

function fakeWs(): FakeWs {
  return {
    readyState: WebSocket.OPEN,
    CONNECTING: WebSocket.CONNECTING,
    OPEN: WebSocket.OPEN,
    CLOSING: WebSocket.CLOSING,
    CLOSED: WebSocket.CLOSED,
    bufferedAmount: 0,
    sent: [],
    terminated: false,
    send(data, opts) {
      expect(opts.binary).toBe(false);
      this.sent.push(data);
    },
    terminate() {
      this.terminated = true;
      this.readyState = WebSocket.CLOSED;
    },
  };
}

function conn(sid: string, userId = 'u1', tenantId = 't1'): Conn & { fake: FakeWs } {
  const fake = fakeWs();
  return {
    ws: fake as unknown as WebSocket,
    fake,
    sid,
    user: { id: userId, tenantId, tenant: 'acme' },
    rooms: new Set(),
    alive: true,
    closed: false,
    tokens: 100,
    lastRefill: 0,
    queue: Promise.resolve(),
  };
}

describe('Registry', () => {
  it('indexes sockets by session and room, and forgets them entirely on remove', () => {
    const r = new Registry();
    const c1 = conn('s1');
    const c2 = conn('s1');
    const c3 = conn('s2', 'u2');
    for (const c of [c1, c2, c3]) {
      r.add(c);
      r.join(c, userRoom(c.user.tenantId, c.user.id));
    }
    r.join(c1, 'company:acme');
    expect(r.bySessionId('s1')).toEqual([c1, c2]);
    expect(r.stats()).toEqual({ sockets: 3, rooms: 3 });
    r.remove(c1);
    r.remove(c1); // idempotent
    expect(r.bySessionId('s1')).toEqual([c2]);
    expect(r.members('company:acme')).toBeUndefined();
    expect(c1.rooms.size).toBe(0);
    r.join(c1, 'company:acme'); // a removed socket cannot rejoin a room
    expect(r.members('company:acme')).toBeUndefined();
    expect(r.sessionIds().sort()).toEqual(['s1', 's2']);
  });

  it('caps connections per user, counting reserved slots of upgrades still being authenticated', () => {
    const r = new Registry();
    const user = { id: 'u1', tenantId: 't1', tenant: 'acme' };
    expect(r.reserve(user, 2)).toBe(true);
    expect(r.reserve(user, 2)).toBe(true);
    expect(r.reserve(user, 2)).toBe(false);
    r.release(user);
    const c = conn('s1');
    r.add(c);
    r.join(c, userRoom('t1', 'u1'));
    expect(r.reserve(user, 2)).toBe(false);
    expect(r.reserve({ ...user, id: 'u2' }, 2)).toBe(true); // another user is not affected
    r.release(user);
    r.remove(c);
    expect(r.reserve(user, 2)).toBe(true);
  });
});

describe('writeFrame', () => {
  it('writes the very same Buffer to each socket as a text frame', () => {
    const frame = Buffer.from('{"type":"pong"}');
    const a = conn('s1');
    const b = conn('s2');
    expect(writeFrame(a, frame, 1024, () => undefined)).toBe(true);
    expect(writeFrame(b, frame, 1024, () => undefined)).toBe(true);
    expect(a.fake.sent[0]).toBe(frame);
    expect(b.fake.sent[0]).toBe(frame);
  });

  it('terminates a slow consumer instead of buffering without bound', () => {
    const c = conn('s1');
    const slow = jest.fn();
    c.fake.bufferedAmount = 1000;
    expect(writeFrame(c, Buffer.alloc(25), 1024, slow)).toBe(false);
    expect(c.fake.terminated).toBe(true);
    expect(c.closed).toBe(true);
    expect(slow).toHaveBeenCalledTimes(1);
    expect(writeFrame(c, Buffer.alloc(1), 1024, slow)).toBe(false);
    expect(c.fake.sent).toEqual([]);
  });

  it('skips sockets that are closing or already given up', () => {
    const c = conn('s1');
    c.fake.readyState = WebSocket.CLOSING;
    expect(writeFrame(c, Buffer.from('x'), 1024)).toBe(false);
    const d = conn('s2');
    d.closed = true;
    expect(writeFrame(d, Buffer.from('x'), 1024)).toBe(false);
    expect([...c.fake.sent, ...d.fake.sent]).toEqual([]);
  });
});
