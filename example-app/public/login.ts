import { ApiError, client } from './api.js';
import { LIFECYCLE_SENTENCES } from './messages.js';
import { safeNext } from './next.js';
import { PASSKEY_ERRORS, describePasskeyError, passkeyLogin, passkeysSupported } from './passkeys.js';
import {
  $,
  busy,
  clearError,
  clearInvalid,
  fieldOf,
  focusHeading,
  markInvalid,
  NOTICES,
  outboxHint,
  pageFor,
  rememberedTenant,
  rememberTenant,
  rememberLoginEmail,
  requireState,
  showError,
  SLUG_RE,
  SLUG_SENTENCE,
} from './ui.js';

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

/**
 * One link a minute per address (the server's cooldown): right after sign-up, or after a resend, the
 * button waits with a visible countdown instead of answering "too many attempts".
 */
function coolDown(resend: HTMLButtonElement, seconds: number): void {
  const label = 'Email me a new link';
  const until = Date.now() + seconds * 1000;
  resend.disabled = true;
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) {
      resend.disabled = false;
      resend.textContent = label;
      $('resend-wait').textContent = '';
      return;
    }
    resend.textContent = `${label} (${left} s)`;
    $('resend-wait').textContent = `You can ask for another link in ${left} second${left === 1 ? '' : 's'}.`;
    setTimeout(tick, 1000);
  };
  tick();
}

function wireVerify(): void {
  const resend = $<HTMLButtonElement>('resend');
  resend.addEventListener('click', async () => {
    clearError(error);
    $('resend-status').textContent = '';
    try {
      const r = await busy(resend, () => client.resendVerification());
      $('resend-status').textContent = `We sent a new link to ${r.sentTo}. Earlier links no longer work.`;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'rate_limited') {
        // Not an attack, just a person who just got a link: say so, and when the next one is possible.
        $('resend-status').textContent = 'A link was sent to your address less than a minute ago: check your inbox (and the spam folder). Earlier links keep working until a new one is sent.';
        coolDown(resend, err.retryAfter ?? 60);
        return;
      }
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
        await client.logout().catch(() => undefined);
        showLogin();
        showError(error, message);
      }
    }
  });
  $('verify-back').addEventListener('click', async () => {
    // End the waiting sign-in: the next one starts from the password.
    await client.logout().catch(() => undefined);
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

  // "Sign in with a passkey" only where the organisation allows it: the options route answers 403 otherwise.
  const passkeyRow = $('passkey-login-row');
  const passkeyButton = $<HTMLButtonElement>('passkey-login');
  let probed = '';
  const probePasskeys = async () => {
    const slug = tenant.value.trim().toLowerCase();
    if (!passkeysSupported() || slug === probed) return;
    probed = slug;
    passkeyRow.hidden = true;
    if (!SLUG_RE.test(slug)) return;
    const allowed = await client.passkeyLoginOptions(slug).then(() => true, () => false);
    if (probed === slug) passkeyRow.hidden = !allowed;
  };
  tenant.addEventListener('change', () => void probePasskeys());
  void probePasskeys();
  passkeyButton.addEventListener('click', async () => {
    clearError(error);
    const slug = tenant.value.trim().toLowerCase();
    try {
      await busy(passkeyButton, () => passkeyLogin(slug));
      rememberTenant(slug);
      location.assign(safeNext(params.get('next'), location.origin));
    } catch (err) {
      showError(error, describePasskeyError(err) ?? err, PASSKEY_ERRORS);
    }
  });

  if (session.state === 'verification_required') showVerify();
  else (tenant.value ? email : tenant).focus();

  const fields: Record<string, HTMLInputElement> = { tenant, email, password };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    clearInvalid(form);
    const missing = [tenant, email, password].find((i) => !i.value.trim());
    if (missing) {
      showError(error, `Please enter your ${missing === tenant ? 'organisation' : missing === email ? 'email' : 'password'}.`);
      markInvalid(missing, error);
      return;
    }
    const slug = tenant.value.trim().toLowerCase();
    if (!SLUG_RE.test(slug)) {
      showError(error, SLUG_SENTENCE);
      markInvalid(tenant, error);
      return;
    }
    try {
      const r = await busy(submit, () => client.login({ tenant: slug, email: email.value.trim(), password: password.value }));
      rememberTenant(slug);
      rememberLoginEmail(email.value.trim());
      if (r.state === 'verification_required') {
        password.value = '';
        showVerify(email.value.trim());
        return;
      }
      location.assign(r.state === 'authenticated' ? safeNext(params.get('next'), location.origin) : pageFor({ state: r.state }));
    } catch (err) {
      showError(error, err);
      // The field the server named; otherwise the password (a wrong login never says which part was wrong).
      const named = fields[fieldOf(err) ?? ''];
      if (named !== password) password.value = '';
      if (named) markInvalid(named, error);
      else password.focus();
    }
  });
}

void main();
