import { client } from './api.js';
import { LIFECYCLE_SENTENCES } from './messages.js';
import { $, busy, clearError, clearInvalid, fieldOf, focusHeading, markInvalid, outboxHint, rememberedTenant, rememberTenant, showError, SLUG_RE, SLUG_SENTENCE } from './ui.js';

/**
 * `/register`: `POST /auth/register {tenant, email, password, name?}`. The answer is the same 202 for
 * every input (a new address, an existing account, an organisation that does not accept sign-ups, an
 * unknown one), so the page says the same "check your inbox" to everyone: only the mailbox's owner
 * learns what happened.
 */
function main(): void {
  const form = $<HTMLFormElement>('register-form');
  const error = $('error');
  const title = $('register-title');
  const tenant = $<HTMLInputElement>('tenant');
  const name = $<HTMLInputElement>('name');
  const email = $<HTMLInputElement>('email');
  const password = $<HTMLInputElement>('password');
  const submit = $<HTMLButtonElement>('register-submit');
  tenant.value = rememberedTenant();
  (tenant.value ? name : tenant).focus();

  const showForm = () => {
    title.textContent = 'Create an account';
    $('sent-view').hidden = true;
    $('register-view').hidden = false;
    clearError(error);
    email.focus();
  };
  $('register-again').addEventListener('click', showForm);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    clearInvalid(form);
    const missing = [tenant, email, password].find((i) => !i.value.trim());
    if (missing) {
      showError(error, `Please enter ${missing === tenant ? 'the organisation' : missing === email ? 'your email address' : 'a password'}.`);
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
    const body = { tenant: slug, email: address, password: password.value, ...(name.value.trim() ? { name: name.value.trim() } : {}) };
    try {
      await busy(submit, () => client.register(body));
    } catch (err) {
      // 400 names the field to fix (the password's length, the address); 429 says when to try again.
      showError(error, err, { not_found: LIFECYCLE_SENTENCES.unavailable });
      const fields: Record<string, HTMLInputElement> = { tenant, email, password, name };
      const named = fields[fieldOf(err) ?? ''] ?? (/password/i.test(error.textContent ?? '') ? password : undefined);
      if (named) markInvalid(named, error);
      else email.focus();
      return;
    }
    rememberTenant(slug);
    password.value = '';
    $('sent-text').textContent = `If “${slug}” accepts new accounts, we sent a link to ${address} to confirm the address.`;
    outboxHint($('outbox-hint'));
    $('register-view').hidden = true;
    $('sent-view').hidden = false;
    title.textContent = 'Check your inbox';
    focusHeading(title.parentElement!);
  });
}

main();
