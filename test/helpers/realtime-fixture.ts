/** The shared setup of the single-process realtime suites: app, clock, captured logs, one full login. */
import { startRealtimeApp, type Login, type RealtimeTestApp, type StartOptions } from './realtime-app';
import { openSocket, type OpenOptions, type TestSocket } from './realtime-ws';

export const IDLE_MS = 30 * 60_000;

/** The core's idle timeout, reproduced: `mfa.lastSeen` older than 30 minutes ends the session. */
export function idleCheck(data: unknown, now: number): boolean {
  const lastSeen = (data as { mfa?: { lastSeen?: number } }).mfa?.lastSeen;
  return typeof lastSeen === 'number' && now - lastSeen < IDLE_MS;
}

export interface Fixture {
  app: RealtimeTestApp;
  /** The injected clock (ms); tests move it instead of sleeping. */
  clock: { now: number };
  /** A full session: user u1 of tenant t1 (`acme`). */
  full: Login;
  /** Every log line written by the realtime server. */
  logLines: string[];
  /** Every login made through `app.login`. */
  issued: Login[];
  open(login: Login, opts?: OpenOptions): Promise<TestSocket>;
  /** Emit a marker to the socket's user and wait for it: whatever was emitted before has been delivered. */
  drain(s: TestSocket, tenantId: string, userId: string): Promise<void>;
  /** No log line holds a session id or a cookie signature (MFA-58, ATK-27). */
  expectNoSecretsLogged(): void;
  close(): Promise<void>;
}

export async function startFixture(options: StartOptions = {}): Promise<Fixture> {
  const clock = { now: Date.now() };
  const logLines: string[] = [];
  const line = (msg: string, fields?: object): void => void logLines.push(JSON.stringify([msg, fields]));
  const logger = { info: line, warn: line, error: line };
  const app = await startRealtimeApp({
    ...options,
    realtime: { now: () => clock.now, isSessionValid: idleCheck, logger, ...options.realtime },
  });
  const issued: Login[] = [];
  const login = app.login;
  app.login = async (input) => {
    const l = await login(input);
    issued.push(l);
    return l;
  };
  const sockets: TestSocket[] = [];
  const full = await app.login({ userId: 'u1', tenantId: 't1', tenant: 'acme' });
  return {
    app,
    clock,
    full,
    logLines,
    issued,
    async open(l, opts = {}) {
      const s = await openSocket(app.wsUrl, { cookie: l.cookie, ...opts });
      sockets.push(s);
      return s;
    },
    async drain(s, tenantId, userId) {
      await app.realtime.emitNotification({ tenantId, userId }, { level: 'info', title: 'marker', message: '' });
      await s.next('notification');
    },
    expectNoSecretsLogged() {
      for (const { sid, cookie } of issued) {
        const value = decodeURIComponent(cookie.split('=')[1] ?? '');
        const signature = value.slice(value.lastIndexOf('.') + 1);
        for (const l of logLines) {
          expect(l).not.toContain(sid);
          expect(l).not.toContain(signature);
        }
      }
    },
    async close() {
      await Promise.all(sockets.map((s) => s.close().catch(() => undefined)));
      await app.close();
    },
  };
}
