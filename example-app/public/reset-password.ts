import { client } from './api.js';
import { isDeadLink, takeFragmentToken, TOKEN_RE, tokenFromText } from './links.js';
import { LIFECYCLE_SENTENCES } from './messages.js';
import { $, busy, clearError, clearInvalid, focusHeading, markInvalid, showError } from './ui.js';

/**
 * `/reset-password#token=...` (the link of the reset email): `POST /auth/password/reset {token,
 * newPassword}`. 400 is the password's length (checked before the link is spent: fix it and retry);
 * 401 `invalid_code` is a used, superseded or expired link. Success logs nobody in: every session of
 * the account ended, and the next sign-in still asks for the second factor.
 */
const title = $('reset-title');
const status = $('status');
const error = $('error');
const form = $<HTMLFormElement>('reset-form');
const tokenInput = $<HTMLInputElement>('token');
const password = $<HTMLInputElement>('new-password');
const repeat = $<HTMLInputElement>('repeat-password');
const submit = $<HTMLButtonElement>('reset-submit');
const next = $('next');
const nextLink = $<HTMLAnchorElement>('next-link');


function finish(to: string, label: string): void {
  form.hidden = true;
  password.value = '';
  repeat.value = '';
  nextLink.href = to;
  nextLink.textContent = label;
  next.hidden = false;
  $('back').hidden = true;
  focusHeading(title.parentElement!);
}

function deadLink(): void {
  title.textContent = 'This link does not work';
  showError(error, LIFECYCLE_SENTENCES.resetLinkInvalid);
  finish('/forgot-password', 'Ask for a new link');
}

function main(): void {
  const fromLink = takeFragmentToken();
  if (fromLink !== null && !TOKEN_RE.test(fromLink)) return deadLink();
  // No link (a mail that shows the code to paste): the code goes in a field of its own.
  $('token-field').hidden = fromLink !== null;
  form.hidden = false;
  (fromLink === null ? tokenInput : password).focus();

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    clearInvalid(form);
    const token = fromLink ?? tokenFromText(tokenInput.value);
    if (!token) {
      showError(error, 'That is not a link or code from our email. Copy the whole link from the email and paste it here.');
      markInvalid(tokenInput, error);
      return;
    }
    if (!password.value) {
      showError(error, 'Please enter a new password.');
      markInvalid(password, error);
      return;
    }
    if (password.value !== repeat.value) {
      showError(error, 'The two passwords are not the same. Type the new password twice.');
      repeat.value = '';
      markInvalid(repeat, error);
      return;
    }
    try {
      await busy(submit, () => client.resetPassword({ token, newPassword: password.value }));
    } catch (err) {
      if (isDeadLink(err)) return deadLink();
      // The password's length ("The password must be 8 to 256 characters."): the link is not spent yet.
      showError(error, err, { not_found: LIFECYCLE_SENTENCES.unavailable });
      repeat.value = '';
      password.select();
      markInvalid(password, error);
      return;
    }
    title.textContent = 'Your password was changed';
    status.textContent = 'Your new password is set, and every device that was signed in to your account was signed out. Sign in with the new password; if you use two-step verification, you will still be asked for your second factor.';
    finish('/login?m=password_reset', 'Sign in');
  });
}

main();
