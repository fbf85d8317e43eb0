import { api, ApiError, type Method } from './api.js';
import { LIFECYCLE_SENTENCES } from './messages.js';
import { $, busy, clearError, focusHeading, NOTICES, outboxHint, pageFor, rememberedTenant, rememberTenant, requireState, showError } from './ui.js';

interface LoginAnswer {
  state: 'authenticated' | 'verification_required' | 'mfa_required' | 'enrollment_required';
  methods?: Method[];
}

/** Only same-site paths: `?next=https://evil.example` must not turn this page into an open redirect. */
function safeNext(): string {
  const next = new URLSearchParams(location.search).get('next') ?? '/';
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

const title = $('login-title');
const error = $('error');
const notice = $('notice');

/**
 * The password was right but the address is not confirmed (`verification_required`): the pending
 * session may only ask for a new link (`POST /auth/verify-email/resend {}`) and log out.
 */
function showVerify(address?: string): void {
  clearError(error);
  notice.textContent = '';
  $('login-view').hidden = true;
  $('verify-view').hidden = false;
  $('resend-status').textContent = '';
  outboxHint($('verify-outbox-hint'));
  if (address) {
    $('verify-text').textContent = `Your password is right, but the email address of this account is not confirmed yet. Open the link in the email we sent to ${address} when you created the account.`;
  }
  title.textContent = 'Confirm your email address';
  focusHeading(title.parentElement!);
}

function showLogin(): void {
  clearError(error);
  $('verify-view').hidden = true;
  $('login-view').hidden = false;
  title.textContent = 'Sign in';
  $<HTMLInputElement>('password').focus();
}

function wireVerify(): void {
  const resend = $<HTMLButtonElement>('resend');
  resend.addEventListener('click', async () => {
    clearError(error);
    $('resend-status').textContent = '';
    try {
      const r = await busy(resend, () => api<{ sentTo: string; expiresIn: number }>('POST', '/auth/verify-email/resend', {}));
      $('resend-status').textContent = `We sent a new link to ${r.sentTo}. Earlier links no longer work.`;
    } catch (err) {
      showError(error, err, {
        conflict: LIFECYCLE_SENTENCES.alreadyVerified,
        challenge_expired: LIFECYCLE_SENTENCES.pendingExpired,
        no_pending_login: LIFECYCLE_SENTENCES.pendingExpired,
        unauthenticated: LIFECYCLE_SENTENCES.pendingExpired,
        not_found: LIFECYCLE_SENTENCES.unavailable,
      });
      // Nothing more to do from here: back to the password (the sign-in that was waiting is over).
      if (err instanceof ApiError && ['conflict', 'challenge_expired', 'no_pending_login', 'unauthenticated'].includes(err.code)) {
        const message = error.textContent ?? '';
        await api('POST', '/auth/logout').catch(() => undefined);
        showLogin();
        showError(error, message);
      }
    }
  });
  $('verify-back').addEventListener('click', async () => {
    // End the waiting sign-in: the next one starts from the password.
    await api('POST', '/auth/logout').catch(() => undefined);
    showLogin();
  });
}

async function main(): Promise<void> {
  // A half-finished sign-in may start over here (the new login replaces it); a full one goes home.
  const session = await requireState('anonymous', 'verification_required', 'mfa_required', 'enrollment_required');
  const form = $<HTMLFormElement>('login-form');
  const tenant = $<HTMLInputElement>('tenant');
  const email = $<HTMLInputElement>('email');
  const password = $<HTMLInputElement>('password');
  const submit = $<HTMLButtonElement>('login-submit');
  wireVerify();

  const params = new URLSearchParams(location.search);
  const text = NOTICES[params.get('m') ?? ''];
  if (text) notice.textContent = text;
  tenant.value = rememberedTenant();

  // The self-service links carry the organisation typed so far.
  const links = () => {
    const slug = tenant.value.trim().toLowerCase();
    const q = slug ? `?tenant=${encodeURIComponent(slug)}` : '';
    $<HTMLAnchorElement>('forgot-link').href = `/forgot-password${q}`;
    $<HTMLAnchorElement>('register-link').href = `/register${q}`;
  };
  tenant.addEventListener('input', links);
  links();

  if (session.state === 'verification_required') showVerify();
  else (tenant.value ? email : tenant).focus();

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    const missing = [tenant, email, password].find((i) => !i.value.trim());
    if (missing) {
      showError(error, `Please enter your ${missing === tenant ? 'organisation' : missing === email ? 'email' : 'password'}.`);
      missing.focus();
      return;
    }
    try {
      const slug = tenant.value.trim().toLowerCase();
      const r = await busy(submit, () => api<LoginAnswer>('POST', '/auth/login', { tenant: slug, email: email.value.trim(), password: password.value }));
      rememberTenant(slug);
      if (r.state === 'verification_required') {
        password.value = '';
        showVerify(email.value.trim());
        return;
      }
      location.assign(r.state === 'authenticated' ? safeNext() : pageFor({ state: r.state }));
    } catch (err) {
      showError(error, err);
      password.value = '';
      password.focus();
    }
  });
}

void main();
