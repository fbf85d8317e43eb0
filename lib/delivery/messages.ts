import type { MailMessage } from './ports';

export type CodePurpose = 'login' | 'enrol' | 'step_up';

export const SECURITY_EVENTS = [
  'factor_added',
  'factor_removed',
  'backup_codes_regenerated',
  'backup_code_used',
  'account_locked',
  'admin_mfa_reset',
  'password_changed',
  'totp_replay',
] as const;
export type SecurityEvent = (typeof SECURITY_EVENTS)[number];

export type MailContent = Omit<MailMessage, 'to'>;

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Plain-text fields (subject, text, SMS): no control characters, so nothing can add a header or a line.
function plain(value: unknown, max = 100): string {
  return String(value ?? '')
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .trim()
    .slice(0, max);
}

function checkCode(code: string): string {
  if (typeof code !== 'string' || !/^[0-9]{4,10}$/.test(code)) throw new TypeError('messages: `code` must be a string of digits');
  return code;
}

function checkMinutes(minutes: number): number {
  if (!Number.isInteger(minutes) || minutes < 1) throw new TypeError('messages: `minutes` must be a positive integer');
  return minutes;
}

const PURPOSE_TEXT: Record<CodePurpose, { subject: string; lead: string }> = {
  login: { subject: 'Your sign-in code', lead: 'Use this code to finish signing in' },
  enrol: { subject: 'Confirm your email address', lead: 'Use this code to confirm this address for two-step verification' },
  step_up: { subject: 'Confirm it is you', lead: 'Use this code to confirm a sensitive action' },
};

function page(appName: string, paragraphs: string[]): string {
  return [
    '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">',
    `<h2>${escapeHtml(appName)}</h2>`,
    ...paragraphs.map((p) => `<p>${p}</p>`),
    '</body></html>',
  ].join('\n');
}

/**
 * The email that carries a one-time code: the code, its expiry, and that nobody will ever ask for it.
 * The code is not in the subject (lock-screen previews).
 *
 * @example codeMessage({ purpose: 'login', code: '012345', minutes: 10, appName: 'Acme' })
 */
export function codeMessage(input: { purpose: CodePurpose; code: string; minutes: number; appName: string }): MailContent {
  const code = checkCode(input.code);
  const minutes = checkMinutes(input.minutes);
  const app = plain(input.appName);
  const p = PURPOSE_TEXT[input.purpose];
  if (!p) throw new TypeError('messages: `purpose` must be login, enrol or step_up');
  const expiry = `It expires in ${minutes} minute${minutes === 1 ? '' : 's'} and works once.`;
  const never = `Nobody from ${app} will ever ask you for this code. Do not share it.`;
  const ignore = 'If you did not ask for it, ignore this message; your password may be known to someone else, so consider changing it.';
  return {
    subject: `${app}: ${p.subject}`,
    text: `${p.lead}:\n\n    ${code}\n\n${expiry}\n${never}\n\n${ignore}\n`,
    html: page(app, [
      `${escapeHtml(p.lead)}:`,
      `<strong style="font-size:1.6em;letter-spacing:0.2em">${escapeHtml(code)}</strong>`,
      escapeHtml(expiry),
      escapeHtml(never),
      escapeHtml(ignore),
    ]),
  };
}

/** The SMS that carries a one-time code. Short, one line, no link. */
export function smsCodeText(input: { purpose: CodePurpose; code: string; minutes: number; appName: string }): string {
  const code = checkCode(input.code);
  const minutes = checkMinutes(input.minutes);
  const app = plain(input.appName, 40);
  const what = input.purpose === 'enrol' ? 'phone confirmation code' : input.purpose === 'step_up' ? 'confirmation code' : 'sign-in code';
  return `${app}: your ${what} is ${code}. It expires in ${minutes} min. Never share it; ${app} will never ask for it.`;
}

const METHOD_NAMES: Record<string, string> = {
  totp: 'authenticator app',
  backup_code: 'backup codes',
  email_otp: 'email codes',
  sms_otp: 'text message (SMS) codes',
  password: 'password',
};

function describe(event: SecurityEvent, method: string | undefined, remaining: number | undefined): { subject: string; body: string } {
  const m = method === undefined ? 'a sign-in method' : (METHOD_NAMES[method] ?? plain(method, 40));
  switch (event) {
    case 'factor_added':
      return { subject: 'A sign-in method was added', body: `A new two-step verification method was added to your account: ${m}.` };
    case 'factor_removed':
      return { subject: 'A sign-in method was removed', body: `A two-step verification method was removed from your account: ${m}.` };
    case 'backup_codes_regenerated':
      return { subject: 'New backup codes were generated', body: 'New backup codes were generated for your account. The previous ones no longer work.' };
    case 'backup_code_used': {
      const left = Number.isInteger(remaining) && remaining! >= 0 ? ` You have ${remaining} backup code${remaining === 1 ? '' : 's'} left.` : '';
      return { subject: `A backup code was used${left ? ` (${remaining} left)` : ''}`, body: `A backup code was used to sign in to your account.${left}` };
    }
    case 'account_locked':
      return { subject: 'Your account was locked', body: 'Two-step verification for your account was locked for a while after too many failed attempts.' };
    case 'admin_mfa_reset':
      return { subject: 'Your two-step verification was reset', body: 'An administrator reset two-step verification on your account. You will be asked to set it up again at your next sign-in, and your other sessions were ended.' };
    case 'password_changed':
      return { subject: 'Your password was changed', body: 'The password of your account was changed.' };
    case 'totp_replay':
      return { subject: 'A used sign-in code was tried again', body: 'Someone tried to reuse a code from your authenticator app that had already been used. Your password may be known to someone else.' };
    default:
      throw new TypeError('messages: unknown security `event`');
  }
}

/**
 * A security notification (MFA-37, MFA-48). It never holds a code or a secret: it takes none, and only
 * the fields below are read. Every message ends with a "Not you?" line.
 *
 * @example securityNotice({ event: 'backup_code_used', remaining: 7, appName: 'Acme' })
 */
export function securityNotice(input: {
  event: SecurityEvent;
  method?: string;
  remaining?: number;
  appName: string;
  /** How to reach the administrator, e.g. an address; default "your administrator". */
  contact?: string;
}): MailContent {
  const app = plain(input.appName);
  const { subject, body } = describe(input.event, input.method, input.remaining);
  const contact = input.contact ? plain(input.contact, 200) : '';
  const notYou = `Not you? Contact your administrator${contact ? ` (${contact})` : ''} right away.`;
  const ok = 'If this was you, there is nothing to do.';
  return {
    subject: `${app}: ${subject}`,
    text: `${body}\n\n${ok}\n${notYou}\n`,
    html: page(app, [escapeHtml(body), escapeHtml(ok), `<strong>${escapeHtml(notYou)}</strong>`]),
  };
}
