import { client } from './api.js';
import { LIFECYCLE_SENTENCES } from './messages.js';
import { $, busy, clearError, clearInvalid, fieldOf, focusHeading, markInvalid, outboxHint, rememberedTenant, rememberTenant, showError, SLUG_RE, SLUG_SENTENCE } from './ui.js';

/**
 * `/forgot-password`: `POST /auth/password/forgot {tenant, email}`. The answer is the same 202 whether
 * or not the account exists, so the page says "if an account exists, a link was sent" to everyone.
 */
function main(): void {
  const form = $<HTMLFormElement>('forgot-form');
  const error = $('error');
  const title = $('forgot-title');
  const tenant = $<HTMLInputElement>('tenant');
  const email = $<HTMLInputElement>('email');
  const submit = $<HTMLButtonElement>('forgot-submit');
  tenant.value = rememberedTenant();
  (tenant.value ? email : tenant).focus();

  $('forgot-again').addEventListener('click', () => {
    title.textContent = 'Reset your password';
    $('sent-view').hidden = true;
    $('forgot-view').hidden = false;
    clearError(error);
    email.focus();
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    clearInvalid(form);
    const missing = [tenant, email].find((i) => !i.value.trim());
    if (missing) {
      showError(error, `Please enter ${missing === tenant ? 'the organisation' : 'your email address'}.`);
      markInvalid(missing, error);
      return;
    }
    const slug = tenant.value.trim().toLowerCase();
    if (!SLUG_RE.test(slug)) {
      showError(error, SLUG_SENTENCE);
      markInvalid(tenant, error);
      return;
    }
    const address = email.value.trim();
    try {
      await busy(submit, () => client.forgotPassword({ tenant: slug, email: address }));
    } catch (err) {
      showError(error, err, { not_found: LIFECYCLE_SENTENCES.unavailable });
      if (fieldOf(err) === 'tenant') markInvalid(tenant, error);
      else if (fieldOf(err) === 'email') markInvalid(email, error);
      else email.focus();
      return;
    }
    rememberTenant(slug);
    $('sent-text').textContent = `If an account with ${address} exists at “${slug}”, we sent it a link to choose a new password.`;
    outboxHint($('outbox-hint'));
    $('forgot-view').hidden = true;
    $('sent-view').hidden = false;
    title.textContent = 'Check your inbox';
    focusHeading(title.parentElement!);
  });
}

main();
