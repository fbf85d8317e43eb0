/**
 * lib/auth/sessions.ts as the core runs it: the user -> sessions index and the one way to end a user's
 * sessions, on the memory ephemeral store and the injected clock, with a plain map standing in for the
 * HTTP layer's session store (the core only destroys by id).
 */
import { UserSessions, revocationKey, sessionTag, tagMarkKey, type SessionDestroyer } from '../../lib/auth/sessions';
import { StepUpEvents, type SessionsEndedEvent } from '../../lib/events';
import { MemoryEphemeralStore } from '../../lib/stores/ephemeral';

const TTL_MS = 3_600_000;

function setup() {
  const clock = { t: Date.UTC(2030, 0, 1) };
  const now = () => clock.t;
  const store = new MemoryEphemeralStore(now);
  const events = new StepUpEvents();
  const ended: SessionsEndedEvent[] = [];
  events.on('sessions_ended', (e: SessionsEndedEvent) => ended.push(e));
  /** The session store: ids that exist, and what the revocation mark was when each was destroyed. */
  const live = new Set<string>();
  const markAtDestroy = new Map<string, string | null>();
  let failOn: string | null = null;
  const sessions: SessionDestroyer = {
    destroy(sid, cb) {
      // Both marks: by user, and under the tag the user's session ids carry (what the Redis store reads).
      void Promise.all([store.get(revocationKey('t1', 'u1')), store.get(tagMarkKey(sessionTag('t1:u1')))]).then(([mark, tagged]) => {
        markAtDestroy.set(sid, mark === tagged ? (mark as string | null) : `differ: ${String(mark)} / ${String(tagged)}`);
        if (sid === failOn) return cb?.(new Error('store down'));
        live.delete(sid);
        cb?.();
      });
    },
  };
  const users = new UserSessions(store, sessions, events, TTL_MS, now);
  return { clock, store, users, ended, live, markAtDestroy, failWith: (sid: string) => (failOn = sid) };
}

describe('UserSessions (the core’s session index and endAll)', () => {
  it('endAll writes the revocation mark before destroying anything, destroys every indexed session but the kept one, and says so once', async () => {
    const w = setup();
    for (const sid of ['a', 'b', 'c']) {
      w.live.add(sid);
      await w.users.add('t1', 'u1', sid);
    }
    const { at, ended } = await w.users.endAll('t1', 'u1', 'password_changed', 'b');
    expect(at).toBe(w.clock.t);
    expect(ended.sort()).toEqual(['a', 'c']);
    // SR-1: each destroy already saw the mark, so a request in flight cannot write a session back to life.
    expect(Object.fromEntries(w.markAtDestroy)).toEqual({ a: String(at), c: String(at) });
    expect([...w.live]).toEqual(['b']);
    expect(await w.users.list('t1', 'u1')).toEqual(['b']);
    expect(await w.users.revokedAt('t1', 'u1')).toBe(at);
    expect(w.ended).toEqual([{ tenantId: 't1', userId: 'u1', sessionIds: expect.arrayContaining(['a', 'c']), reason: 'password_changed' }]);
  });

  it('a failing session store does not undo the mark: endAll rejects, and every session older than the mark stays dead', async () => {
    const w = setup();
    await w.users.add('t1', 'u1', 'a');
    w.failWith('a');
    await expect(w.users.endAll('t1', 'u1', 'logout_all')).rejects.toThrow('store down');
    expect(await w.users.revokedAt('t1', 'u1')).toBe(w.clock.t);
  });

  it('index adds the new id, drops the replaced one, writes and deletes records, and answers the mark as it is now', async () => {
    const w = setup();
    await w.store.set('rec:old', 'x', TTL_MS);
    expect(await w.users.index('t1', 'u1', 'old')).toBe(0);
    const mark = (await w.users.endAll('t1', 'u1', 'logout_all')).at;
    w.clock.t += 1000;
    const got = await w.users.index('t1', 'u1', 'new', { replaced: 'old', set: [['rec:new', 'y', TTL_MS]], del: ['rec:old'] });
    expect(got).toBe(mark);
    expect(await w.users.list('t1', 'u1')).toEqual(['new']);
    expect([await w.store.get('rec:new'), await w.store.get('rec:old')]).toEqual(['y', null]);
  });

  it('one ended session leaves the index and closes its sockets; the index forgets on the clock', async () => {
    const w = setup();
    await w.users.add('t1', 'u1', 'a');
    await w.users.add('t1', 'u1', 'b');
    await w.users.ended('t1', 'u1', 'a', 'logout');
    expect(await w.users.list('t1', 'u1')).toEqual(['b']);
    expect(w.ended).toEqual([{ tenantId: 't1', userId: 'u1', sessionIds: ['a'], reason: 'logout' }]);
    w.clock.t += TTL_MS + 1;
    expect(await w.users.list('t1', 'u1')).toEqual([]);
  });
});
