import { EventEmitter } from 'node:events';
import session from 'express-session';
import type { Redis } from 'ioredis';
import { createRedisBus, type BusHandlers, type ControlMessage } from '../../lib/realtime/bus';
import { createRealtime } from '../../lib/realtime';

/** Just enough of ioredis: `publish` on the caller's client, a `duplicate()` subscriber we can drive. */
class FakeSubscriber extends EventEmitter {
  status = 'ready';
  channels: string[] = [];
  quitCalled = false;
  async subscribe(channel: string): Promise<number> {
    this.channels.push(channel);
    return 1;
  }
  async unsubscribe(channel: string): Promise<number> {
    this.channels = this.channels.filter((c) => c !== channel);
    return 0;
  }
  async quit(): Promise<'OK'> {
    this.quitCalled = true;
    this.status = 'end';
    return 'OK';
  }
  disconnect(): void {
    this.status = 'end';
  }
}

function fakeRedis(publishResult: () => Promise<number> = async () => 1) {
  const sub = new FakeSubscriber();
  const published: Array<[string, string]> = [];
  const redis = {
    quitCalled: false,
    duplicate: () => sub,
    publish: (channel: string, message: string) => {
      published.push([channel, message]);
      return publishResult();
    },
    quit() {
      this.quitCalled = true;
    },
  };
  return { redis, sub, published, asRedis: redis as unknown as Redis };
}

const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };

describe('Redis bus', () => {
  it('publishes exactly once per call and delivers what comes back on the channel', async () => {
    const { sub, published, asRedis } = fakeRedis();
    const rooms: Array<[string, string]> = [];
    const controls: ControlMessage[] = [];
    const handlers: BusHandlers = { room: (room, frame) => rooms.push([room, frame.toString()]), control: (m) => controls.push(m) };
    const bus = createRedisBus(asRedis, 'p:bus', handlers, logger);
    await bus.ready();
    expect(sub.channels).toEqual(['p:bus']);

    await bus.publishRoom('company:acme', '{"type":"syncStatus"}');
    await bus.publishControl({ t: 'closeSessions', sids: ['s1'], code: 4401 });
    expect(published).toHaveLength(2);
    // Nothing is delivered locally until the message comes back from Redis: one path for every process.
    expect(rooms).toEqual([]);
    for (const [channel, message] of published) sub.emit('message', channel, message);
    expect(rooms).toEqual([['company:acme', '{"type":"syncStatus"}']]);
    expect(controls).toEqual([{ t: 'closeSessions', sids: ['s1'], code: 4401 }]);
  });

  it('drops garbage and messages of other channels', async () => {
    const { sub, asRedis } = fakeRedis();
    const handlers = { room: jest.fn(), control: jest.fn() };
    createRedisBus(asRedis, 'p:bus', handlers, logger);
    for (const raw of ['nope', '{}', '{"v":2,"t":"room","room":"r","frame":"f"}', '{"v":1,"t":"room","room":1,"frame":"f"}', '{"v":1,"t":"closeSessions","sids":[1],"code":4401}']) {
      sub.emit('message', 'p:bus', raw);
    }
    sub.emit('message', 'other', '{"v":1,"t":"room","room":"r","frame":"f"}');
    expect(handlers.room).not.toHaveBeenCalled();
    expect(handlers.control).not.toHaveBeenCalled();
    expect(logger.warn).toHaveBeenCalled();
  });

  it('close() quits its own subscriber, never the caller\'s client', async () => {
    const { redis, sub, asRedis } = fakeRedis();
    const bus = createRedisBus(asRedis, 'p:bus', { room: jest.fn(), control: jest.fn() }, logger);
    await bus.ready();
    await bus.close();
    expect(sub.quitCalled).toBe(true);
    expect(sub.channels).toEqual([]);
    expect(redis.quitCalled).toBe(false);
  });
});

describe('createRealtime with Redis (no sockets)', () => {
  const base = { sessionStore: new session.MemoryStore(), secret: 'k', allowedOrigins: ['https://app.example.com'], logger };

  it('one PUBLISH per emit on `<channelPrefix>bus`, the frame encoded in it', async () => {
    const { published, asRedis } = fakeRedis();
    const rt = createRealtime({ ...base, redis: asRedis, channelPrefix: 'x:', now: () => 42 });
    await expect(rt.emitSyncStatus('acme', { status: 'started' })).resolves.toBe(true);
    expect(published).toHaveLength(1);
    const [channel, message] = published[0]!;
    expect(channel).toBe('x:bus');
    const env = JSON.parse(message) as { room: string; frame: string };
    expect(env.room).toBe('company:acme');
    expect(JSON.parse(env.frame)).toEqual({ type: 'syncStatus', tenant: 'acme', status: 'started', at: 42 });
    await rt.close();
  });

  it('a failed publish: emits resolve false (logged), closeSessions rejects', async () => {
    const { asRedis } = fakeRedis(() => Promise.reject(new Error('connection lost')));
    const rt = createRealtime({ ...base, redis: asRedis });
    await expect(rt.emitNotification('u1', { level: 'info', title: 't', message: 'm' })).resolves.toBe(false);
    await expect(rt.closeSessions(['s1'])).rejects.toThrow('connection lost');
    await expect(rt.closeSessions([])).resolves.toBeUndefined();
    await rt.close();
  });
});
