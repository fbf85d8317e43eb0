import { redisDeadline, type RedisLike } from '../stores/ephemeral';
import type { RealtimeLogger } from './options';

/** Control messages every process applies to its own sockets. */
export type ControlMessage =
  | { t: 'closeSessions'; sids: string[]; code: number }
  | { t: 'closeUser'; tenantId: string; userId: string; code: number };

type Envelope = { v: 1; t: 'room'; room: string; frame: string } | ({ v: 1 } & ControlMessage);

export interface BusHandlers {
  /** Deliver a frame (already encoded, shared by every socket) to the local members of `room`. */
  room(room: string, frame: Buffer): void;
  control(msg: ControlMessage): void;
}

export interface Bus {
  /** Exactly one Redis PUBLISH (or one local delivery) per call. */
  publishRoom(room: string, frame: string): Promise<void>;
  publishControl(msg: ControlMessage): Promise<void>;
  /** Resolves once the subscriber listens (immediately without Redis). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** In-process delivery: one process, no Redis. */
export function createLocalBus(handlers: BusHandlers): Bus {
  return {
    publishRoom(room, frame) {
      handlers.room(room, Buffer.from(frame, 'utf8'));
      return Promise.resolve();
    },
    publishControl(msg) {
      handlers.control(msg);
      return Promise.resolve();
    },
    ready: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

const isStr = (v: unknown): v is string => typeof v === 'string';

/** Parse what came off the channel; anything else is dropped (another writer, another version). */
function parseEnvelope(raw: string): Envelope | null {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const e = v as Record<string, unknown>;
  if (e.v !== 1) return null;
  if (e.t === 'room' && isStr(e.room) && isStr(e.frame)) return { v: 1, t: 'room', room: e.room, frame: e.frame };
  if (e.t === 'closeSessions' && Array.isArray(e.sids) && e.sids.every(isStr) && typeof e.code === 'number') {
    return { v: 1, t: 'closeSessions', sids: e.sids, code: e.code };
  }
  if (e.t === 'closeUser' && isStr(e.tenantId) && isStr(e.userId) && typeof e.code === 'number') {
    return { v: 1, t: 'closeUser', tenantId: e.tenantId, userId: e.userId, code: e.code };
  }
  return null;
}

/**
 * Fan-out over Redis pub/sub: every process (this one included) receives each message on its own
 * subscriber connection and delivers to its own sockets. The caller's client publishes; the subscriber
 * is a `duplicate()` we own and quit on close.
 *
 * Works on a single Redis, Sentinel and Redis Cluster: classic (not sharded) pub/sub is broadcast to
 * every node of a cluster, so a PUBLISH on any node reaches a subscriber on any other. Each PUBLISH
 * races `timeoutMs` (default 1500) and rejects with RedisDeadlineError when Redis stalls.
 */
export function createRedisBus(redis: RedisLike, channel: string, handlers: BusHandlers, logger: RealtimeLogger, options: { timeoutMs?: number } = {}): Bus {
  const timeoutMs = options.timeoutMs ?? 1500;
  // Our own subscriber may queue its SUBSCRIBE until it connects, even when the caller's client
  // runs with `enableOfflineQueue: false` (the setting the README recommends for fail-fast requests).
  // A Cluster's duplicate takes (startupNodes, options); a Redis's takes (options).
  const sub = redis.isCluster ? redis.duplicate([], { enableOfflineQueue: true }) : redis.duplicate({ enableOfflineQueue: true });
  sub.on('error', (err: Error) => logger.warn('realtime: redis subscriber error', { error: err.message }));
  sub.on('message', (ch: string, raw: string) => {
    if (ch !== channel) return;
    const env = parseEnvelope(raw);
    if (!env) {
      logger.warn('realtime: dropped a malformed bus message', { bytes: raw.length });
      return;
    }
    try {
      if (env.t === 'room') handlers.room(env.room, Buffer.from(env.frame, 'utf8'));
      else handlers.control(env.t === 'closeSessions' ? { t: env.t, sids: env.sids, code: env.code } : { t: env.t, tenantId: env.tenantId, userId: env.userId, code: env.code });
    } catch (err) {
      logger.error('realtime: bus handler failed', { error: (err as Error).message });
    }
  });
  const subscribed = sub.subscribe(channel).then(() => undefined);
  // Keep the promise handled; callers that care await ready().
  subscribed.catch((err: Error) => logger.error('realtime: redis subscribe failed', { error: err.message }));

  const publish = async (env: Envelope): Promise<void> => {
    await redisDeadline(redis.publish(channel, JSON.stringify(env)), timeoutMs, 'PUBLISH');
  };

  return {
    publishRoom: (room, frame) => publish({ v: 1, t: 'room', room, frame }),
    publishControl: (msg) => publish({ v: 1, ...msg }),
    ready: () => subscribed,
    async close() {
      try {
        if (sub.status === 'ready') {
          await sub.unsubscribe(channel);
          await sub.quit();
        } else {
          sub.disconnect();
        }
      } catch {
        sub.disconnect();
      }
    },
  };
}
