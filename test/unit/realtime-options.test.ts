import session from 'express-session';
import { createRealtime, type RealtimeOptions } from '../../lib/realtime';
import { normaliseOrigin, resolveOptions } from '../../lib/realtime/options';

const store = new session.MemoryStore();
const base: RealtimeOptions = { sessionStore: store, secret: 's3cret', allowedOrigins: ['https://app.example.com'] };

describe('realtime options', () => {
  it('has the documented defaults', () => {
    const o = resolveOptions(base);
    expect(o).toMatchObject({
      cookieName: 'connect.sid',
      allowMissingOrigin: false,
      channelPrefix: 'stepup:rt:',
      minAal: 1,
      maxPayloadBytes: 16 * 1024,
      maxMessagesPerMinute: 100,
      maxConnectionsPerUser: 10,
      maxBufferedBytes: 1024 * 1024,
      heartbeatIntervalMs: 30_000,
      revalidateIntervalMs: 30_000,
    });
    expect(o.secrets).toEqual(['s3cret']);
    expect([...o.allowedOrigins]).toEqual(['https://app.example.com']);
  });

  it.each<[string, Partial<Record<keyof RealtimeOptions, unknown>>]>([
    ['sessionStore', { sessionStore: {} }],
    ['sessionStore', { sessionStore: undefined }],
    ['secret', { secret: '' }],
    ['secret', { secret: [] }],
    ['secret', { secret: ['ok', 3] }],
    ['cookieName', { cookieName: 'bad name;' }],
    ['allowedOrigins', { allowedOrigins: 'https://app.example.com' }],
    ['allowedOrigins', { allowedOrigins: [] }],
    ['allowedOrigins', { allowedOrigins: ['https://*.example.com'] }],
    ['allowedOrigins', { allowedOrigins: ['app.example.com'] }],
    ['allowedOrigins', { allowedOrigins: ['ftp://app.example.com'] }],
    ['allowedOrigins', { allowedOrigins: ['https://app.example.com/path'] }],
    ['allowedOrigins', { allowedOrigins: ['null'] }],
    ['allowMissingOrigin', { allowMissingOrigin: 'yes' }],
    ['redis', { redis: {} }],
    ['channelPrefix', { channelPrefix: '' }],
    ['now', { now: 5 }],
    ['logger', { logger: { info() {} } }],
    ['isSessionValid', { isSessionValid: true }],
    ['minAal', { minAal: 3 }],
    ['maxPayloadBytes', { maxPayloadBytes: 0 }],
    ['maxMessagesPerMinute', { maxMessagesPerMinute: 1.5 }],
    ['maxConnectionsPerUser', { maxConnectionsPerUser: -1 }],
    ['maxBufferedBytes', { maxBufferedBytes: '1' }],
    ['heartbeatIntervalMs', { heartbeatIntervalMs: Number.NaN }],
    ['revalidateIntervalMs', { revalidateIntervalMs: 0 }],
  ])('a bad %s is a TypeError naming it', (name, patch) => {
    const opts = { ...base, ...patch } as RealtimeOptions;
    expect(() => createRealtime(opts)).toThrow(TypeError);
    expect(() => createRealtime(opts)).toThrow(`"${name}"`);
  });

  it('an empty allowlist is allowed only with allowMissingOrigin (non-browser clients)', () => {
    expect(() => resolveOptions({ ...base, allowedOrigins: [], allowMissingOrigin: true })).not.toThrow();
  });

  it('normalises allowlist entries to the serialised origin browsers send', () => {
    expect(normaliseOrigin('HTTPS://App.Example.COM:443')).toBe('https://app.example.com');
    expect(normaliseOrigin('http://localhost:3000/')).toBe('http://localhost:3000');
    expect(normaliseOrigin('https://[::1]:8443')).toBe('https://[::1]:8443');
  });

  it('keeps every secret, in order (rotation)', () => {
    expect(resolveOptions({ ...base, secret: ['new', 'old'] }).secrets).toEqual(['new', 'old']);
  });
});
