import type { CodeMethod, Method } from '../../client/index.js';
import { ApiError, client, getSession } from './api.js';
import { setupCodeInput } from './codeinput.js';
import { PASSKEY_ERRORS, describePasskeyError, passkeyAnswer, passkeysSupported } from './passkeys.js';
import { $, busy, clearError, clearInvalid, markInvalid, requireState, showError, signOut } from './ui.js';

const HINTS: Record<CodeMethod, { label: string; hint: string }> = {
  totp: { label: 'Authenticator code', hint: 'The 6-digit code your authenticator app shows for this account.' },
  email_otp: { label: 'Email code', hint: 'Send a code, then enter the 6 digits from the email.' },
  sms_otp: { label: 'SMS code', hint: 'Send a code, then enter the 6 digits from the text message.' },
  backup_code: { label: 'Backup code', hint: 'One of the backup codes you saved, like abcd-efgh-ijkl-mnop. Each works once.' },
};

/** After these the pending login is gone: only the password can start again. */
const RESTART = new Set(['challenge_expired', 'no_pending_login']);

/**
 * The waiting sign-in was dropped (too many wrong codes, or too slow): nothing on this page can work
 * any more, so go back to the sign-in page, which says why.
 */
function dropped(tooManyCodes: boolean): void {
  location.assign(`/login?m=${tooManyCodes ? 'too_many_codes' : 'login_expired'}`);
}

async function main(): Promise<void> {
  const session = await requireState('mfa_required');
  const methods = session.methods ?? [];
  const form = $<HTMLFormElement>('challenge-form');
  const error = $('error');
  const code = $<HTMLInputElement>('code');
  const verify = $<HTMLButtonElement>('verify');
  const sendRow = $('send-row');
  const sendStatus = $('send-status');
  const input = setupCodeInput(code, () => form.requestSubmit());
  const radios = Array.from(form.querySelectorAll<HTMLInputElement>('input[name="method"]'));
  // "Remember this browser for N days": only when the tenant allows it for this account.
  const rememberDays = session.rememberDeviceDays ?? 0;
  $('remember-row').hidden = rememberDays === 0;
  $('remember-label').textContent = `Remember this browser for ${rememberDays} day${rememberDays === 1 ? '' : 's'}`;
  const remember = (): boolean => rememberDays > 0 && $<HTMLInputElement>('remember').checked;

  const current = (): CodeMethod => (radios.find((r) => r.checked)?.value ?? methods.find((m) => m !== 'webauthn') ?? 'totp') as CodeMethod;
  const select = (m: CodeMethod) => {
    $('code-label').textContent = HINTS[m].label;
    $('code-hint').textContent = HINTS[m].hint;
    input.setKind(m === 'backup_code' ? 'backup' : 'numeric');
    sendRow.hidden = !(m === 'email_otp' || m === 'sms_otp');
    sendStatus.textContent = '';
    clearError(error);
  };
  for (const r of radios) {
    const available = methods.includes(r.value as Method);
    r.closest('label')!.hidden = !available;
    r.disabled = !available;
    r.addEventListener('change', () => {
      select(r.value as CodeMethod);
      code.focus();
    });
  }
  const first = radios.find((r) => !r.disabled);
  if (first) first.checked = true;
  select(current());
  code.focus();

  if (session.expiresAt) {
    const at = new Date(session.expiresAt);
    $('expires').textContent = `This sign-in is valid until ${at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}.`;
  }

  $('send-code').addEventListener('click', async (ev) => {
    clearError(error);
    const channel = current() === 'sms_otp' ? 'sms' : 'email';
    try {
      const r = await busy(ev.currentTarget as HTMLButtonElement, () => client.sendCode(channel));
      sendStatus.textContent = `We sent a code to ${r.sentTo}. It is valid for ${Math.round(r.expiresIn / 60)} minutes.`;
      code.focus();
    } catch (err) {
      showError(error, err);
    }
  });

  $('restart').addEventListener('click', () => void signOut('/login'));

  // A passkey: the browser signs the server's challenge; the answer goes to the same challenge route.
  const passkeyButton = $<HTMLButtonElement>('use-passkey');
  $('passkey-row').hidden = !(methods.includes('webauthn') && passkeysSupported());
  form.hidden = !methods.some((m) => m !== 'webauthn');
  passkeyButton.addEventListener('click', async () => {
    clearError(error);
    try {
      await busy(passkeyButton, async () => {
        const response = await passkeyAnswer();
        await client.challenge({ method: 'webauthn', response, ...(remember() ? { remember: true } : {}) });
      });
      location.assign('/');
    } catch (err) {
      if (err instanceof ApiError && RESTART.has(err.code)) return dropped(/wrong codes/i.test(err.message));
      showError(error, describePasskeyError(err) ?? err, PASSKEY_ERRORS);
    }
  });

  // A wrong code before a 410 means the sign-in ended for too many wrong codes, not for time.
  let wrongCodes = 0;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    clearInvalid(form);
    if (!input.value()) {
      showError(error, 'Please enter the code.');
      markInvalid(code, error);
      return;
    }
    try {
      await busy(verify, () => client.challenge({ method: current(), code: input.value(), ...(remember() ? { remember: true } : {}) }));
      location.assign('/');
    } catch (err) {
      if (err instanceof ApiError && RESTART.has(err.code)) {
        verify.disabled = true;
        return dropped(wrongCodes > 0 || /wrong codes/i.test(err.message));
      }
      if (err instanceof ApiError && err.code === 'invalid_code') {
        wrongCodes += 1;
        // The last allowed wrong code also ends the sign-in: say that, not "try again".
        const still = await getSession().catch(() => null);
        if (still && still.state !== 'mfa_required') {
          verify.disabled = true;
          return dropped(true);
        }
      }
      showError(error, err);
      code.value = '';
      markInvalid(code, error);
    }
  });
}

void main();
