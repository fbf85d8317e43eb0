import session, { Store, type SessionData } from 'express-session';
import type { RedisLike, SessionStoreLike } from '../lib/config';
import type { EphemeralStore } from '../lib/stores/ephemeral';
import { revocationKey, SESSION_TAG_LENGTH, sessionTag, tagMarkKey } from '../lib/auth/sessions';
import { withDeadline } from '../lib/errors';

// The session stores (docs/SECURITY.md SR-1, SR-14). Whatever the backend:
// - a destroyed session leaves a tombstone, so a request still in flight cannot write it back;
// - a session whose `mfa.validFrom` is older than its user's revocation mark does not load;
// - a pending login lives in the store only as long as the pending state (not the 12-hour cookie);
// - every call has a deadline: a stalled store fails the request (503), it never hangs it.

type Cb<T = void> = (err?: unknown, value?: T) => void;
type Data = SessionData & { mfa?: { uid?: string; validFrom?: number; pending?: unknown } };

const TOMBSTONE = '!';

export interface StoreSettings {
  /**
   * Key prefix of the plugin (`stepup:`): sessions are `<prefix>sess:<sid>` (`<prefix>sess:{<tag>}<random>`
   * for an id that carries its user's tag), marks `<prefix>revoked:<uid>` and `<prefix>rv:{<tag>}`.
   */
  prefix: string;
  /** Lifetime of an authenticated session (and of a tombstone), ms. */
  absoluteMs: number;
  /** Lifetime of a pending login, ms. */
  pendingMs: number;
  /** Deadline of one store call, ms. */
  timeoutMs: number;
}

/** A store call that took longer than its deadline: classified as a store outage (503). */
export class StoreTimeoutError extends Error {
  override name = 'StoreTimeoutError';
  constructor(what: string) {
    super(`session store: ${what} timed out`);
  }
}

const bounded = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => withDeadline(p, ms, () => new StoreTimeoutError(what));

/**
 * What each Session object was last saved with (its cookie aside). express-session saves a session
 * again at the end of any request that regenerated it, even when Passport's login already saved the
 * very same content: that second write is skipped (the Session object lives for one request).
 */
const lastSaved = new WeakMap<object, { sid: string; body: string }>();
/** The session's JSON without its cookie (what is compared), stringified once per save. */
function bodyOf(sess: SessionData): string {
  const { cookie: _cookie, ...rest } = sess as SessionData & { cookie?: unknown };
  return JSON.stringify(rest);
}
function alreadySaved(sid: string, sess: SessionData): string | null {
  const body = bodyOf(sess);
  const last = lastSaved.get(sess);
  return last && last.sid === sid && last.body === body ? null : body;
}

const ttlOf = (sess: Data, s: StoreSettings) => (sess.mfa?.pending ? s.pendingMs : s.absoluteMs);

/**
 * `<uid>|<validFrom>\n<json>`: the header lets one Redis script check the revocation mark without parsing
 * JSON. `body` is `bodyOf(sess)`: the cookie is put in front of it rather than the session stringified again.
 */
function encode(sess: Data, body: string): string {
  const uid = typeof sess.mfa?.uid === 'string' ? sess.mfa.uid.replace(/[|\n]/g, '') : '';
  const from = typeof sess.mfa?.validFrom === 'number' ? sess.mfa.validFrom : 0;
  const cookie = (sess as { cookie?: unknown }).cookie;
  const json = cookie === undefined ? body : `{"cookie":${JSON.stringify(cookie)}${body === '{}' ? '' : `,${body.slice(1, -1)}`}}`;
  return `${uid}|${from}\n${json}`;
}

function decode(raw: string | null): { uid: string; validFrom: number; json: string } | null {
  if (raw === null || raw === TOMBSTONE) return null;
  const nl = raw.indexOf('\n');
  if (nl < 0) return { uid: '', validFrom: 0, json: raw };
  const head = raw.slice(0, nl);
  const bar = head.indexOf('|');
  return { uid: head.slice(0, bar), validFrom: Number(head.slice(bar + 1)) || 0, json: raw.slice(nl + 1) };
}

/** The user tag of a session id made at a login (`<random>~<tag>`), or undefined. */
export function tagOfSid(sid: string): string | undefined {
  const i = sid.lastIndexOf('~');
  return i > 0 && sid.length - i - 1 === SESSION_TAG_LENGTH ? sid.slice(i + 1) : undefined;
}

/** The Redis key of a session: a tagged id's key carries the tag as its hash tag (the slot of its user's mark). */
export function sessionKeyOf(prefix: string, sid: string): string {
  const tag = tagOfSid(sid);
  return tag ? `${prefix}sess:{${tag}}${sid.slice(0, -(SESSION_TAG_LENGTH + 1))}` : `${prefix}sess:${sid}`;
}

// One round trip for an id without a tag: the session, unless it is a tombstone or its user's mark is newer than it.
const GET_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if (not v) or v == '${TOMBSTONE}' then return false end
local nl = string.find(v, '\\n', 1, true)
if not nl then return v end
local head = string.sub(v, 1, nl - 1)
local bar = string.find(head, '|', 1, true)
local uid = string.sub(head, 1, bar - 1)
if uid ~= '' then
  local mark = redis.call('GET', ARGV[1] .. uid)
  if mark and tonumber(mark) > (tonumber(string.sub(head, bar + 1)) or 0) then return false end
end
return string.sub(v, nl + 1)`;

// A write never revives a destroyed session.
const SET_SCRIPT = `
if redis.call('GET', KEYS[1]) == '${TOMBSTONE}' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** The commands this store sends, through ioredis' generic `call` (a Redis, a Sentinel Redis or a Cluster). */
class ScriptClient {
  constructor(private readonly redis: RedisLike) {}
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown> {
    return this.redis.call('EVAL', script, numKeys, ...args);
  }
  get(key: string): Promise<string | null> {
    return this.redis.call('GET', key) as Promise<string | null>;
  }
  mget(a: string, b: string): Promise<[string | null, string | null]> {
    return this.redis.call('MGET', a, b) as Promise<[string | null, string | null]>;
  }
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown> {
    return this.redis.call('SET', key, value, px, ms);
  }
}

/**
 * The plugin's Redis session store (instead of connect-redis): loading a session and checking its
 * user's revocation mark is ONE command, cheaper than connect-redis's GET + EXPIRE. A session id made at
 * a login carries its user's tag (`<random>~<tag>`), so the session and the mark under that tag are one
 * MGET, in one slot on a Redis Cluster too. An id without a tag (an anonymous session, a host's own
 * express-session, one made before ids had tags) takes one script on a single Redis, or two GETs on a Cluster.
 */
export class RedisSessionStore extends Store {
  private readonly client: ScriptClient;
  private readonly cluster: boolean;
  /** Tagged keys share a slot only when the prefix has no hash tag of its own. */
  private readonly tagged: boolean;

  constructor(
    redis: RedisLike,
    private readonly s: StoreSettings,
  ) {
    super();
    this.client = new ScriptClient(redis);
    this.cluster = redis.isCluster === true;
    this.tagged = !this.cluster || !/[{}]/.test(s.prefix);
  }

  private key(sid: string): string {
    return sessionKeyOf(this.s.prefix, sid);
  }

  private async read(sid: string): Promise<Data | null> {
    const tag = this.tagged ? tagOfSid(sid) : undefined;
    if (tag) {
      const [raw, mark] = await this.client.mget(this.key(sid), `${this.s.prefix}${tagMarkKey(tag)}`);
      const d = decode(raw);
      if (!d) return null;
      // The tag was made from this session's user; a session of another user under it (never written
      // so) is checked against its own user's mark.
      if (d.uid && sessionTag(d.uid) !== tag) return this.checkedByUid(d);
      if (mark !== null && Number(mark) > d.validFrom) return null;
      return JSON.parse(d.json) as Data;
    }
    if (!this.cluster) {
      const json = (await this.client.eval(GET_SCRIPT, 1, this.key(sid), `${this.s.prefix}revoked:`)) as string | null;
      return json ? (JSON.parse(json) as Data) : null;
    }
    const d = decode(await this.client.get(this.key(sid)));
    return d ? this.checkedByUid(d) : null;
  }

  /** The session, unless its user's mark (by user id) is newer than it. */
  private async checkedByUid(d: { uid: string; validFrom: number; json: string }): Promise<Data | null> {
    if (d.uid) {
      const mark = Number((await this.client.get(`${this.s.prefix}revoked:${d.uid}`)) ?? 0);
      if (mark > d.validFrom) return null;
    }
    return JSON.parse(d.json) as Data;
  }

  override get(sid: string, cb: Cb<SessionData | null>): void {
    bounded(this.read(sid), this.s.timeoutMs, 'get').then((v) => cb(null, v), cb);
  }

  override set(sid: string, sess: SessionData, cb?: Cb): void {
    const body = alreadySaved(sid, sess);
    if (body === null) return void cb?.();
    const p = this.client.eval(SET_SCRIPT, 1, this.key(sid), encode(sess as Data, body), ttlOf(sess as Data, this.s));
    bounded(p, this.s.timeoutMs, 'set').then(
      () => {
        lastSaved.set(sess, { sid, body });
        cb?.();
      },
      (e) => cb?.(e),
    );
  }

  override destroy(sid: string, cb?: Cb): void {
    const p = this.client.set(this.key(sid), TOMBSTONE, 'PX', this.s.absoluteMs);
    bounded(p, this.s.timeoutMs, 'destroy').then(() => cb?.(), (e) => cb?.(e));
  }

  /** Nothing to do: every write sets the TTL, and the absolute timeout caps a session's life anyway. */
  override touch(_sid: string, _sess: SessionData, cb?: Cb): void {
    cb?.();
  }
}

/**
 * Any other store (express-session's MemoryStore by default, or the host's own) with the same rules,
 * kept in the ephemeral store beside it: tombstones and the mark cost one more call each.
 */
export class GuardedSessionStore extends Store {
  constructor(
    private readonly inner: SessionStoreLike,
    private readonly ephemeral: EphemeralStore,
    private readonly s: StoreSettings,
  ) {
    super();
  }

  private call<T>(fn: (cb: Cb<T>) => unknown, what: string): Promise<T | undefined> {
    const p = new Promise<T | undefined>((resolve, reject) => {
      const ret = fn((err, v) => (err ? reject(err) : resolve(v)));
      if (ret && typeof (ret as Promise<unknown>).catch === 'function') (ret as Promise<unknown>).catch(reject);
    });
    return bounded(p, this.s.timeoutMs, what);
  }

  private async read(sid: string): Promise<Data | null> {
    const sess = (await this.call<Data | null>((cb) => this.inner.get(sid, cb as never), 'get')) ?? null;
    if (!sess) return null;
    const uid = sess.mfa?.uid;
    if (uid) {
      const [tenantId, userId] = [uid.slice(0, uid.indexOf(':')), uid.slice(uid.indexOf(':') + 1)];
      const mark = Number((await bounded(this.ephemeral.get(revocationKey(tenantId, userId)), this.s.timeoutMs, 'mark')) ?? 0);
      if (mark > (sess.mfa?.validFrom ?? 0)) return null;
    }
    return sess;
  }

  override get(sid: string, cb: Cb<SessionData | null>): void {
    this.read(sid).then((v) => cb(null, v), cb);
  }

  private async save(sid: string, sess: SessionData): Promise<void> {
    if ((await bounded(this.ephemeral.get(`tomb:${sid}`), this.s.timeoutMs, 'tombstone')) !== null) return;
    await this.call((cb) => this.inner.set(sid, sess as never, cb), 'set');
  }

  override set(sid: string, sess: SessionData, cb?: Cb): void {
    const body = alreadySaved(sid, sess);
    if (body === null) return void cb?.();
    this.save(sid, sess).then(
      () => {
        lastSaved.set(sess, { sid, body });
        cb?.();
      },
      (e) => cb?.(e),
    );
  }

  override destroy(sid: string, cb?: Cb): void {
    Promise.all([bounded(this.ephemeral.set(`tomb:${sid}`, '1', this.s.absoluteMs), this.s.timeoutMs, 'tombstone'), this.call((c) => this.inner.destroy(sid, c), 'destroy')]).then(
      () => cb?.(),
      (e) => cb?.(e),
    );
  }

  override touch(_sid: string, _sess: SessionData, cb?: Cb): void {
    cb?.();
  }
}

/** The store for the options: the plugin's Redis store, or the given (default: memory) one guarded. */
export function createSessionStore(o: { redis?: RedisLike; store?: SessionStoreLike; ephemeral: EphemeralStore; settings: StoreSettings }): Store {
  if (o.store) return new GuardedSessionStore(o.store, o.ephemeral, o.settings);
  if (o.redis) return new RedisSessionStore(o.redis, o.settings);
  return new GuardedSessionStore(new session.MemoryStore() as unknown as SessionStoreLike, o.ephemeral, o.settings);
}
