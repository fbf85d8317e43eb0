/**
 * lib/auth/codes.ts: a failed delivery is logged without anything the transport echoed back. A custom
 * SMS sender that puts the one-time code and the number into its error's name, code and message must
 * not get them into the log line (only an error class name and an errno-style code pass).
 */
import { sendCode } from '../../lib/auth/codes';
import { META, coreWorld, refusal } from '../helpers/core';

describe('sendCode: a failed delivery', () => {
  it.each([
    ['echoes the code and the number', (text: string, to: string) => Object.assign(new Error(`gateway said no to ${to}: ${text}`), { name: `Refused ${text}`, code: text.match(/\d{6}/)![0] })],
    ['a plain errno-style failure', () => Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' })],
  ] as const)('%s: 502, and the log line holds no code, number or message', async (_name, fail) => {
    const lines: Array<[string, unknown]> = [];
    const sent: string[] = [];
    const log = (msg: string, fields?: unknown) => lines.push([msg, fields]);
    const w = await coreWorld({
      totp: false,
      options: {
        logger: { debug: log, info: log, warn: log, error: log },
        sms: {
          send: async ({ to, text }: { to: string; text: string }) => {
            sent.push(text);
            throw fail(text, to);
          },
        },
      },
    });
    const phone = '+14155552671';
    const r = await refusal(sendCode(w.ctx, META, { user: w.user, channel: 'sms', purpose: 'login', binding: 'b', destination: phone }));
    expect(r).toMatchObject({ code: 'delivery_failed' });
    const code = /\b(\d{6})\b/.exec(sent[0] ?? '')?.[1];
    expect(code).toMatch(/^\d{6}$/);
    const failed = lines.find(([m]) => m === 'code delivery failed');
    expect(failed).toBeDefined();
    const logged = JSON.stringify(lines);
    expect([logged.includes(code!), logged.includes(phone), logged.includes('gateway said no')]).toEqual([false, false, false]);
    expect((failed![1] as { err: string }).err).toBe('Error');
  });
});
