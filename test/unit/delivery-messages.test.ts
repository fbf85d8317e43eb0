import { SECURITY_EVENTS, codeMessage, escapeHtml, securityNotice, smsCodeText } from '../../lib/delivery/messages';

const EVIL = `<script>alert("x")</script>&'`;

describe('escapeHtml', () => {
  it('escapes the five HTML specials', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });
});

describe('codeMessage', () => {
  it('states the code, its expiry and that nobody will ask for it, in text and HTML', () => {
    const m = codeMessage({ purpose: 'login', code: '012345', minutes: 10, appName: 'Acme' });
    expect(m.subject).toBe('Acme: Your sign-in code');
    for (const body of [m.text, m.html]) {
      expect(body).toContain('012345');
      expect(body).toContain('expires in 10 minutes');
      expect(body).toMatch(/Nobody from Acme will ever ask you for this code/);
    }
  });

  it('keeps the code out of the subject (lock-screen previews)', () => {
    for (const purpose of ['login', 'enrol', 'step_up'] as const) {
      expect(codeMessage({ purpose, code: '987654', minutes: 10, appName: 'Acme' }).subject).not.toContain('987654');
    }
  });

  it('words each purpose differently', () => {
    const texts = (['login', 'enrol', 'step_up'] as const).map((purpose) => codeMessage({ purpose, code: '111111', minutes: 10, appName: 'A' }).text);
    expect(new Set(texts).size).toBe(3);
  });

  it('escapes the app name in HTML and strips line breaks from the subject', () => {
    const m = codeMessage({ purpose: 'login', code: '123456', minutes: 10, appName: `${EVIL}\r\nBcc: x@evil.test` });
    expect(m.html).not.toContain('<script>');
    expect(m.html).toContain('&#60;script&#62;');
    expect(m.subject).not.toMatch(/[\r\n]/);
  });

  it('refuses a code that is not digits, and a bad duration or purpose', () => {
    expect(() => codeMessage({ purpose: 'login', code: '<b>1</b>', minutes: 10, appName: 'A' })).toThrow(TypeError);
    expect(() => codeMessage({ purpose: 'login', code: '123456', minutes: 0, appName: 'A' })).toThrow(TypeError);
    expect(() => codeMessage({ purpose: 'nope' as never, code: '123456', minutes: 10, appName: 'A' })).toThrow(TypeError);
  });

  it('says "1 minute" in the singular', () => {
    expect(codeMessage({ purpose: 'login', code: '123456', minutes: 1, appName: 'A' }).text).toContain('expires in 1 minute ');
  });
});

describe('smsCodeText', () => {
  it('is one short line with the code, the expiry and the warning', () => {
    const t = smsCodeText({ purpose: 'login', code: '004200', minutes: 10, appName: 'Acme' });
    expect(t).toBe('Acme: your sign-in code is 004200. It expires in 10 min. Never share it; Acme will never ask for it.');
    expect(t.length).toBeLessThanOrEqual(160);
  });

  it('keeps control characters out and bounds the app name', () => {
    const t = smsCodeText({ purpose: 'enrol', code: '123456', minutes: 10, appName: `X\n${'y'.repeat(100)}` });
    expect(t).not.toMatch(/\n/);
    expect(t.length).toBeLessThanOrEqual(200);
    expect(t).toContain('phone confirmation code is 123456');
  });
});

describe('securityNotice (MFA-37, MFA-48)', () => {
  it.each(SECURITY_EVENTS)('%s: has a subject, text and HTML with a "Not you?" line', (event) => {
    const m = securityNotice({ event, method: 'totp', remaining: 3, appName: 'Acme' });
    expect(m.subject).toMatch(/^Acme: /);
    expect(m.text).toContain('Not you? Contact your administrator');
    expect(m.html).toContain('Not you? Contact your administrator');
  });

  it('backup_code_used says how many remain', () => {
    const m = securityNotice({ event: 'backup_code_used', remaining: 7, appName: 'Acme' });
    expect(m.subject).toBe('Acme: A backup code was used (7 left)');
    expect(m.text).toContain('You have 7 backup codes left.');
    expect(securityNotice({ event: 'backup_code_used', remaining: 1, appName: 'A' }).text).toContain('1 backup code left');
  });

  it('names the method in words', () => {
    expect(securityNotice({ event: 'factor_added', method: 'totp', appName: 'A' }).text).toContain('authenticator app');
    expect(securityNotice({ event: 'factor_removed', method: 'sms_otp', appName: 'A' }).text).toContain('text message (SMS) codes');
  });

  it('includes a contact when given', () => {
    expect(securityNotice({ event: 'password_changed', appName: 'A', contact: 'it@acme.test' }).text).toContain(
      'Not you? Contact your administrator (it@acme.test) right away.',
    );
  });

  it('escapes every interpolated value', () => {
    const m = securityNotice({ event: 'factor_added', method: EVIL, appName: EVIL, contact: EVIL });
    expect(m.html).not.toContain('<script>');
    expect(m.html).not.toMatch(/&(?!#\d+;)/); // every & starts an entity
    expect(m.subject).not.toMatch(/[\r\n]/);
  });

  it('never carries a code or a secret, even one slipped into its input', () => {
    const secrets = { code: '314159', secret: 'JBSWY3DPEHPK3PXP', backupCodes: ['abcd-efgh-ijkl-mnop'], password: 'hunter2-hunter2' };
    for (const event of SECURITY_EVENTS) {
      const m = securityNotice({ event, appName: 'Acme', ...(secrets as object) } as Parameters<typeof securityNotice>[0]);
      const all = `${m.subject}\n${m.text}\n${m.html}`;
      for (const s of ['314159', 'JBSWY3DPEHPK3PXP', 'abcd-efgh', 'hunter2']) expect(all).not.toContain(s);
      expect(all).not.toMatch(/\b\d{6}\b/);
    }
  });

  it('refuses an unknown event', () => {
    expect(() => securityNotice({ event: 'nope' as never, appName: 'A' })).toThrow(TypeError);
  });
});
