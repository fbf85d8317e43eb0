import {
  companyRoom,
  notificationFrame,
  notificationRoom,
  parseClientMessage,
  syncStatusFrame,
  userIdRoom,
  userRoom,
} from '../../lib/realtime/protocol';

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('parseClientMessage', () => {
  it.each([
    ['{"type":"ping"}', { type: 'ping' }],
    ['{"type":"ping","extra":1}', { type: 'ping' }],
    ['{"type":"joinCompany","tenant":"acme"}', { type: 'joinCompany', tenant: 'acme' }],
    ['{"type":"leaveCompany","tenant":"acme"}', { type: 'leaveCompany', tenant: 'acme' }],
  ])('accepts %s', (raw, msg) => {
    expect(parseClientMessage(text(raw), false)).toEqual({ ok: true, msg });
  });

  it.each([
    ['not json', 'invalid_message'],
    ['', 'invalid_message'],
    ['[]', 'invalid_message'],
    ['42', 'invalid_message'],
    ['null', 'invalid_message'],
    ['{}', 'invalid_message'],
    ['{"type":null}', 'invalid_message'],
    ['{"type":"joinCompany","tenant":""}', 'invalid_message'],
    ['{"type":"joinCompany","tenant":["acme"]}', 'invalid_message'],
    [`{"type":"joinCompany","tenant":"${'a'.repeat(101)}"}`, 'invalid_message'],
    ['{"type":"constructor"}', 'unknown_type'],
    ['{"type":"__proto__"}', 'unknown_type'],
    ['{"type":"emit","tenant":"acme"}', 'unknown_type'],
  ])('refuses %s as %s', (raw, error) => {
    expect(parseClientMessage(text(raw), false)).toEqual({ ok: false, error });
  });

  it('refuses binary frames whatever they hold', () => {
    expect(parseClientMessage(text('{"type":"ping"}'), true)).toEqual({ ok: false, error: 'invalid_message' });
  });

  it('reads fragmented and ArrayBuffer data', () => {
    expect(parseClientMessage([text('{"type":'), text('"ping"}')], false)).toEqual({ ok: true, msg: { type: 'ping' } });
    const ab = new TextEncoder().encode('{"type":"ping"}').buffer as ArrayBuffer;
    expect(parseClientMessage(ab, false)).toEqual({ ok: true, msg: { type: 'ping' } });
  });
});

describe('emit payloads', () => {
  it('builds a sync status frame with only the known fields', () => {
    expect(syncStatusFrame('acme', { status: 'completed', progress: 100, recordsImported: 0, message: 'ok' }, 5)).toEqual({
      type: 'syncStatus',
      tenant: 'acme',
      status: 'completed',
      progress: 100,
      message: 'ok',
      recordsImported: 0,
      at: 5,
    });
  });

  it.each<[unknown, string]>([
    [null, 'payload'],
    [{ status: 'done' }, 'payload.status'],
    [{ status: 'progress', progress: -1 }, 'payload.progress'],
    [{ status: 'progress', progress: '50' }, 'payload.progress'],
    [{ status: 'progress', progress: Infinity }, 'payload.progress'],
    [{ status: 'started', message: 'm'.repeat(501) }, 'payload.message'],
    [{ status: 'started', message: 5 }, 'payload.message'],
    [{ status: 'completed', recordsImported: 1.5 }, 'payload.recordsImported'],
    [{ status: 'completed', recordsImported: -1 }, 'payload.recordsImported'],
    [{ status: 'error', error: { stack: 'x' } }, 'payload.error'],
    [{ status: 'started', type: 'notification' }, 'payload.type'],
  ])('refuses sync payload %j (TypeError naming %s)', (payload, field) => {
    expect(() => syncStatusFrame('acme', payload, 0)).toThrow(TypeError);
    expect(() => syncStatusFrame('acme', payload, 0)).toThrow(field);
  });

  it('builds a notification frame', () => {
    expect(notificationFrame({ level: 'error', title: 'T', message: 'M' }, 7)).toEqual({ type: 'notification', level: 'error', title: 'T', message: 'M', at: 7 });
  });

  it.each<[unknown, string]>([
    [{ level: 'debug', title: 't', message: 'm' }, 'payload.level'],
    [{ level: 'info', message: 'm' }, 'payload.title'],
    [{ level: 'info', title: 't' }, 'payload.message'],
    [{ level: 'info', title: 't'.repeat(201), message: 'm' }, 'payload.title'],
    [{ level: 'info', title: 't', message: 'm'.repeat(2001) }, 'payload.message'],
    [{ level: 'info', title: 't', message: 'm', html: '<b>' }, 'payload.html'],
  ])('refuses notification %j (TypeError naming %s)', (payload, field) => {
    expect(() => notificationFrame(payload, 0)).toThrow(field);
  });
});

describe('room names', () => {
  it('addresses users by tenant and id, or by bare id', () => {
    expect(notificationRoom({ tenantId: 't1', userId: 'u1' })).toBe(userRoom('t1', 'u1'));
    expect(notificationRoom('u1')).toBe(userIdRoom('u1'));
    expect(() => notificationRoom({ userId: 'u1' })).toThrow(TypeError);
    expect(() => notificationRoom('')).toThrow(TypeError);
  });

  it('cannot be confused by separators inside ids', () => {
    expect(userRoom('a:b', 'c')).not.toBe(userRoom('a', 'b:c'));
    expect(companyRoom('acme')).not.toBe(userIdRoom('acme'));
  });
});
