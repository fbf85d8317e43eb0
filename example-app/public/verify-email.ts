import { client, getSession } from './api.js';
import { isDeadLink, takeFragmentToken, TOKEN_RE, tokenFromText } from './links.js';
import { LIFECYCLE_SENTENCES } from './messages.js';
import { $, busy, clearError, focusHeading, markInvalid, showError } from './ui.js';

/**
 * `/verify-email#token=...` (the link of the confirmation email): `POST /auth/verify-email {token}`.
 * 200 `{verified:true}` -> "confirmed" and a link to sign in; 401 `invalid_code` (unknown, used,
 * superseded or expired) -> "link invalid or expired". The token is read from the fragment, which no
 * server ever sees, and removed from the address bar at once. Without one (a mail that shows the code
 * to paste), a field takes the link or the code.
 */
const title = $('verify-title');
const status = $('status');
const error = $('error');
const form = $<HTMLFormElement>('token-form');
const input = $<HTMLInputElement>('token');
const submit = $<HTMLButtonElement>('verify-submit');
const next = $('next');
const nextLink = $<HTMLAnchorElement>('next-link');


function finish(to: string, label: string): void {
  form.hidden = true;
  nextLink.href = to;
  nextLink.textContent = label;
  next.hidden = false;
  $('back').hidden = true;
  focusHeading(title.parentElement!);
}

async function confirmed(): Promise<void> {
  // A "confirm your address" sign-in waiting in this browser is over: the next sign-in starts afresh.
  try {
    if ((await getSession()).state === 'verification_required') await client.logout();
  } catch {
    // Nothing to end, or the server is busy: signing in replaces a pending sign-in anyway.
  }
  title.textContent = 'Email address confirmed';
  status.className = 'notice';
  status.textContent = 'Thank you: your email address is confirmed. Sign in to continue.';
  clearError(error);
  finish('/login?m=email_verified', 'Sign in');
}

function deadLink(): void {
  status.textContent = '';
  title.textContent = 'This link does not work';
  showError(error, LIFECYCLE_SENTENCES.verifyLinkInvalid);
  finish('/login', 'Sign in to ask for a new link');
}

async function verify(token: string, button?: HTMLButtonElement): Promise<void> {
  clearError(error);
  status.textContent = 'Confirming your address…';
  try {
    const call = () => client.verifyEmail(token);
    await (button ? busy(button, call) : call());
  } catch (err) {
    if (isDeadLink(err)) return deadLink();
    // Busy, rate limited, offline: the link may still work. Keep it in the field to try again.
    status.textContent = '';
    showError(error, err);
    input.value = token;
    form.hidden = false;
    return;
  }
  await confirmed();
}

async function main(): Promise<void> {
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = tokenFromText(input.value);
    if (!token) {
      showError(error, 'That is not a link or code from our email. Copy the whole link from the email and paste it here.');
      markInvalid(input, error);
      return;
    }
    void verify(token, submit);
  });

  const token = takeFragmentToken();
  if (token === null) {
    status.textContent = 'Open the link from the confirmation email, or paste it here.';
    form.hidden = false;
    input.focus();
    return;
  }
  if (!TOKEN_RE.test(token)) return deadLink();
  await verify(token);
}

void main();
