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
  enrol: { subject: 'Your code to turn on two-step verification', lead: 'Use this code to confirm this address for two-step verification' },
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
  webauthn: 'passkey',
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

// Account lifecycle (lib/lifecycle): verification and reset links, and the "you already have an account"
// note. The link's token travels in the URL fragment, which browsers never send to a server or in a
// Referer, so it stays out of access logs; the page reads it and POSTs it.

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{20,128}$/;

function checkToken(token: string): string {
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) throw new TypeError('messages: `token` must be a base64url string');
  return token;
}

/** An http(s) page address taken from the options (never from a request header), or undefined. */
function pageUrl(value: string | undefined): URL | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError('messages: a link must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('messages: a link must be an absolute http(s) URL');
  url.hash = '';
  return url;
}

/** `<page>#token=<token>`; without a page, null (the mail then shows the token to paste). */
function tokenLink(page: string | undefined, token: string): string | null {
  const url = pageUrl(page);
  return url ? `${url.toString()}#token=${token}` : null;
}

function linkBlock(link: string | null, token: string, what: string): { text: string; html: string } {
  if (link) {
    return {
      text: `To ${what}, open this link:\n\n    ${link}\n`,
      html: `To ${escapeHtml(what)}, open this link:</p>\n<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a>`,
    };
  }
  return {
    text: `To ${what}, enter this token where you were asked for it:\n\n    ${token}\n`,
    html: `To ${escapeHtml(what)}, enter this token where you were asked for it:</p>\n<p><code>${escapeHtml(token)}</code>`,
  };
}

function hoursOrMinutes(minutes: number): string {
  if (minutes % 60 === 0) return `${minutes / 60} hour${minutes === 60 ? '' : 's'}`;
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/**
 * The mail with the link (or token) that confirms a self-registered address. The token is not in the
 * subject; the mail says what to do when the registration was not yours.
 *
 * @example verificationMessage({ token, link: 'https://app.example/verify-email', minutes: 1440, appName: 'Acme' })
 */
export function verificationMessage(input: { token: string; link?: string; minutes: number; appName: string }): MailContent {
  const token = checkToken(input.token);
  const minutes = checkMinutes(input.minutes);
  const app = plain(input.appName);
  const lead = `An account was created at ${app} with this email address.`;
  const block = linkBlock(tokenLink(input.link, token), token, 'confirm the address');
  const expiry = `The link works once and expires in ${hoursOrMinutes(minutes)}.`;
  const notYou = 'If you did not create this account, do not open the link: ignore this message and the account stays unusable.';
  return {
    subject: `${app}: Confirm your email address`,
    text: `${lead}\n\n${block.text}\n${expiry}\n${notYou}\n`,
    html: page(app, [escapeHtml(lead), block.html, escapeHtml(expiry), `<strong>${escapeHtml(notYou)}</strong>`]),
  };
}

/**
 * Sent instead of a verification link when the address already has an account (registration must
 * not tell anyone else that it exists). Holds no token and no secret.
 */
export function registrationExistsMessage(input: { appName: string; forgotLink?: string }): MailContent {
  const app = plain(input.appName);
  const forgot = pageUrl(input.forgotLink)?.toString();
  const lead = `Someone tried to create an account at ${app} with this email address, but you already have one. Nothing was changed.`;
  const ifYou = 'If it was you, sign in with your existing account; if you forgot your password, ask for a reset';
  const ifNot = 'If it was not you, you can ignore this message.';
  return {
    subject: `${app}: You already have an account`,
    text: `${lead}\n\n${ifYou}${forgot ? `: ${forgot}` : '.'}\n${ifNot}\n`,
    html: page(app, [escapeHtml(lead), `${escapeHtml(ifYou)}${forgot ? `: <a href="${escapeHtml(forgot)}">${escapeHtml(forgot)}</a>` : '.'}`, escapeHtml(ifNot)]),
  };
}

/**
 * The password-reset mail: a single-use link (or token), its expiry, that a reset does not turn off
 * two-step verification, and what to do when the request was not the reader's.
 */
export function passwordResetMessage(input: { token: string; link?: string; minutes: number; appName: string }): MailContent {
  const token = checkToken(input.token);
  const minutes = checkMinutes(input.minutes);
  const app = plain(input.appName);
  const lead = `Someone asked to reset the password of your ${app} account.`;
  const block = linkBlock(tokenLink(input.link, token), token, 'choose a new password');
  const expiry = `The link works once and expires in ${hoursOrMinutes(minutes)}. Asking again makes this one stop working.`;
  const mfa = 'A new password does not turn off two-step verification: you will still need your second factor to sign in.';
  const notYou = 'If you did not ask for it, ignore this message: your password stays as it is.';
  return {
    subject: `${app}: Reset your password`,
    text: `${lead}\n\n${block.text}\n${expiry}\n${mfa}\n${notYou}\n`,
    html: page(app, [escapeHtml(lead), block.html, escapeHtml(expiry), escapeHtml(mfa), `<strong>${escapeHtml(notYou)}</strong>`]),
  };
}
