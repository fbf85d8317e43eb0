import { client, getSession, isAdmin, type SessionView } from './api.js';
import { describeError } from './messages.js';
import { nextParam } from './next.js';
import { stopRealtime } from './realtime-client.js';

/** An element that must exist on the page. */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
}

/** Shows a sentence in an alert region (role="alert" announces it); empty text clears it. */
export function showError(region: HTMLElement, err: unknown, overrides?: Record<string, string>): void {
  region.textContent = err === '' ? '' : typeof err === 'string' ? err : describeError(err, overrides);
}

export function clearError(region: HTMLElement): void {
  region.textContent = '';
}

/** Disables a button while a request runs, and tells assistive tech it is busy. */
export async function busy<T>(button: HTMLButtonElement, fn: () => Promise<T>): Promise<T> {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** Where a session in each state belongs. */
export function pageFor(s: SessionView): string {
  if (s.state === 'mfa_required') return '/challenge';
  // The sign-in page shows the "confirm your email address" view for this state.
  if (s.state === 'verification_required') return '/login';
  if (s.state === 'enrollment_required') return '/enrol';
  if (s.state === 'authenticated') return '/';
  return '/login';
}

/**
 * Loads the session and sends the visitor where it belongs unless its state is one of `allowed`.
 * Resolves with the session (never resolves when it redirects).
 */
export async function requireState(...allowed: SessionView['state'][]): Promise<SessionView> {
  let s: SessionView;
  try {
    s = await getSession();
  } catch {
    s = { state: 'anonymous' };
  }
  if (!allowed.includes(s.state)) {
    const next = s.state === 'anonymous' ? `/login?next=${nextParam(location)}` : pageFor(s);
    location.replace(next);
    return new Promise<SessionView>(() => undefined);
  }
  return s;
}

/** The header of signed-in pages: who, the Admin link for admins, and Sign out. */
export function initAppNav(s: SessionView): void {
  const who = document.getElementById('nav-user');
  if (who && s.user) who.textContent = `${s.user.email} · ${s.user.tenant}`;
  if (isAdmin(s.user)) document.querySelectorAll<HTMLElement>('[data-role="admin"]').forEach((el) => (el.hidden = false));
  for (const a of Array.from(document.querySelectorAll<HTMLAnchorElement>('.site-header nav a'))) {
    if (a.pathname === location.pathname) a.setAttribute('aria-current', 'page');
  }
  const logout = document.getElementById('logout') as HTMLButtonElement | null;
  logout?.addEventListener('click', () => {
    void signOut('/login?m=signed_out');
  });
}

/** Ends this session (or every session of the user) and goes to `to`. */
export async function signOut(to: string, everywhere = false): Promise<void> {
  // This tab's own socket closes with 4401 too: it must not send the page elsewhere first.
  stopRealtime();
  try {
    await (everywhere ? client.logoutAll() : client.logout());
  } finally {
    location.assign(to);
  }
}

export function fmtDate(value: string | Date | null | undefined): string {
  if (!value) return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '—';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The grace-period banner: MFA is mandatory, this user has until `enrollmentDeadline` to enrol. */
export function graceBanner(el: HTMLElement, s: SessionView): void {
  if (!s.enrollmentDeadline) return;
  const deadline = new Date(s.enrollmentDeadline);
  // Whole days, rounded down: never promise more time than there is.
  const days = Math.floor((deadline.getTime() - Date.now()) / 86_400_000);
  const left = days >= 1 ? `${days} day${days === 1 ? '' : 's'} left` : 'less than a day left';
  el.replaceChildren();
  const text = document.createElement('span');
  text.textContent = `Your organisation requires two-step verification. Set it up by ${fmtDate(deadline)} (${left}); after that you will have to set it up before you can sign in. `;
  const link = document.createElement('a');
  link.href = '/enrol?method=totp&from=security';
  link.textContent = 'Set it up now';
  el.append(text, link);
  el.hidden = false;
}

/** Moves focus to a heading after a step changes, so screen readers and keyboards follow along. */
export function focusHeading(container: HTMLElement): void {
  const h = container.querySelector<HTMLElement>('h1, h2');
  if (!h) return;
  if (!h.hasAttribute('tabindex')) h.setAttribute('tabindex', '-1');
  h.focus();
}

/** Copies text; reports in `status` (a role="status" element). */
export async function copyText(text: string, status: HTMLElement, what: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = `${what} copied.`;
  } catch {
    status.textContent = `Could not copy automatically: select the ${what.toLowerCase()} and copy it.`;
  }
}

const TENANT_KEY = 'stepup-demo-tenant';

/** The organisation to prefill: `?tenant=` or the one of the last sign-in on this browser. */
export function rememberedTenant(): string {
  return new URLSearchParams(location.search).get('tenant') ?? localStorage.getItem(TENANT_KEY) ?? '';
}

export function rememberTenant(slug: string): void {
  localStorage.setItem(TENANT_KEY, slug);
}

const LOGIN_EMAIL_KEY = 'stepup-demo-login-email';

/**
 * The address of the sign-in in progress, for this tab only (sessionStorage): the enrolment page of
 * a sign-in that must set up a factor has no user yet, and shows it masked ("a***@e***.com").
 */
export function rememberLoginEmail(email: string): void {
  sessionStorage.setItem(LOGIN_EMAIL_KEY, email.trim().toLowerCase());
}

export function loginEmail(): string | null {
  return sessionStorage.getItem(LOGIN_EMAIL_KEY);
}

/** Same mask as the server's (`a***@e***.com`): first letters and the TLD, a fixed number of stars. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1 || at === email.length - 1) return '***';
  const labels = email.slice(at + 1).split('.').filter(Boolean);
  const tld = labels.length > 1 ? `.${labels[labels.length - 1]}` : '';
  return `${[...email][0]}***@${[...(labels[0] ?? '')][0] ?? ''}***${tld}`;
}

/**
 * "Emails appear in the dev outbox" for testers, when the app runs with one (its link is in the
 * header); built here so that a production page never names the outbox.
 */
export function outboxHint(hint: HTMLElement): void {
  const hasOutbox = document.querySelector('.site-header a[href="/dev/outbox"]') !== null;
  hint.hidden = !hasOutbox;
  if (hasOutbox) hint.replaceChildren('In this demo, emails are not sent: they appear in the ', el('a', { href: '/dev/outbox', textContent: 'dev outbox' }), '.');
}

/** A one-line notice passed between pages in the query string (`?m=signed_out`). */
export const NOTICES: Record<string, string> = {
  signed_out: 'You are signed out.',
  signed_out_all: 'You are signed out on every device.',
  session_ended: 'Your session ended. Please sign in again.',
  login_expired: 'This sign-in took too long, so it was stopped. Please start again with your password.',
  too_many_codes: 'Too many wrong codes: this sign-in was stopped to protect your account. Please start again with your password.',
  password_changed: 'Your password was changed. Please sign in again.',
  email_verified: 'Your email address is confirmed. Sign in to continue.',
  password_reset: 'Your password was changed. Sign in with the new one; if you use two-step verification, you will still be asked for your second factor.',
};

/** The field a 400 `invalid_request` names (`Field "tenant" is invalid.`), or null. */
export function fieldOf(err: unknown): string | null {
  if (!(err instanceof Error) || (err as { code?: string }).code !== 'invalid_request') return null;
  const m = /"([A-Za-z.]+)"/.exec(err.message);
  return m ? m[1]! : null;
}

/**
 * Marks a field as the one to fix: `aria-invalid` (a red border in app.css), the error region added
 * to its description so a screen reader reads why, and focus. The mark goes when the field is edited.
 */
export function markInvalid(input: HTMLInputElement | HTMLSelectElement, errorRegion?: HTMLElement): void {
  input.setAttribute('aria-invalid', 'true');
  if (errorRegion?.id) {
    const ids = new Set((input.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean));
    ids.add(errorRegion.id);
    input.setAttribute('aria-describedby', [...ids].join(' '));
  }
  input.focus();
  input.addEventListener('input', () => input.removeAttribute('aria-invalid'), { once: true });
}

/** Removes every field's error mark in `root` (before a new submit). */
export function clearInvalid(root: ParentNode): void {
  for (const f of Array.from(root.querySelectorAll('[aria-invalid="true"]'))) f.removeAttribute('aria-invalid');
}

/** Organisation short names, as the server checks them: lower-case letters, digits and dashes. */
export const SLUG_RE = /^[a-z0-9-]{1,63}$/;
export const SLUG_SENTENCE = 'The organisation is its short name: lower-case letters, digits and dashes, for example acme.';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}
