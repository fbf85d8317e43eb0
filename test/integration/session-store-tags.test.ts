/**
 * The Redis session store's tagged ids (docs/SECURITY.md SR-1; issue 14: a guarded request costs
 * Redis no more commands than connect-redis's GET + EXPIRE). A session id made at a login is
 * `<random>~<tag>`, the tag a digest of its user: the session and the user's revocation mark under that
 * tag are read with ONE MGET. The mark still ends the session whatever the id says.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SessionData } from 'express-session';
import { RedisSessionStore, sessionKeyOf, tagOfSid } from '../../routes/session-store';
import { sessionTag, tagMarkKey, revocationKey } from '../../lib/auth/sessions';
import { recordingRedis } from '../helpers/app';
import { describeWithRedis } from '../helpers/services';

const tagged = (uid: string) => `${randomBytes(24).toString('base64url')}~${sessionTag(uid)}`;

describe('tagged session ids', () => {
  it('only an id that ends in ~ and a 16-character tag is tagged; its key carries the tag as a hash tag', () => {
    const sid = tagged('t1:u1');
    expect(tagOfSid(sid)).toBe(sessionTag('t1:u1'));
    expect(sessionKeyOf('p:', sid)).toBe(`p:sess:{${sessionTag('t1:u1')}}${sid.split('~')[0]}`);
    for (const plain of ['abc', 'abc~short', `~${sessionTag('x')}`, randomBytes(24).toString('base64url')]) {
      expect(tagOfSid(plain)).toBeUndefined();
      expect(sessionKeyOf('p:', plain)).toBe(`p:sess:${plain}`);
    }
  });
});

describeWithRedis('RedisSessionStore with tagged ids', () => {
  let redis: Redis;
  let store: RedisSessionStore;
  let prefix: string;
  let sent: string[];

  beforeAll(() => {
    ({ redis, sent } = recordingRedis());
  });
  beforeEach(() => {
    prefix = `tags:${randomBytes(4).toString('hex')}:`;
    store = new RedisSessionStore(redis, { prefix, absoluteMs: 60_000, pendingMs: 10_000, timeoutMs: 2_000 });
  });
  afterAll(() => redis.quit());

  const sess = (uid: string, validFrom: number) => ({ cookie: { originalMaxAge: 60_000 }, mfa: { state: 'authenticated', uid, validFrom } }) as unknown as SessionData;
  const set = (sid: string, s: SessionData) => new Promise<void>((resolve, reject) => store.set(sid, s, (e) => (e ? reject(e) : resolve())));
  const get = (sid: string) => new Promise<SessionData | null | undefined>((resolve, reject) => store.get(sid, (e, v) => (e ? reject(e) : resolve(v))));

  it('loads with one MGET, and not once the mark under its tag is newer than the session', async () => {
    const sid = tagged('t1:u1');
    await set(sid, sess('t1:u1', 1000));
    expect(await redis.exists(sessionKeyOf(prefix, sid))).toBe(1);
    sent.length = 0;
    expect((await get(sid))?.mfa).toMatchObject({ uid: 't1:u1' });
    expect(sent).toEqual(['MGET']);
    await redis.set(`${prefix}${tagMarkKey(sessionTag('t1:u1'))}`, '999'); // older than the session: no effect
    expect(await get(sid)).not.toBeNull();
    await redis.set(`${prefix}${tagMarkKey(sessionTag('t1:u1'))}`, '1001');
    expect(await get(sid)).toBeNull();
  });

  it("a session under another user's tag is checked against its own user's mark", async () => {
    const sid = tagged('t1:someone-else');
    await set(sid, sess('t1:u2', 1000));
    expect(await get(sid)).not.toBeNull();
    await redis.set(`${prefix}${revocationKey('t1', 'u2')}`, '1001');
    expect(await get(sid)).toBeNull();
  });

  it('a destroyed tagged session stays dead: a late write does not bring it back', async () => {
    const sid = tagged('t1:u3');
    await set(sid, sess('t1:u3', 1000));
    await new Promise<void>((resolve, reject) => store.destroy(sid, (e) => (e ? reject(e) : resolve())));
    await set(sid, sess('t1:u3', 1000));
    expect(await get(sid)).toBeNull();
  });
});
