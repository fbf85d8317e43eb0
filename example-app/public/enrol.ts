import type { CodeMethod, EnrolmentConfirmed, Method, SessionView } from '../../client/index.js';
import { ApiError, client, isAdmin } from './api.js';
import { renderBackupCodes } from './codes.js';
import { setupCodeInput } from './codeinput.js';
import { describeError } from './messages.js';
import { startRealtime } from './realtime-client.js';
import { StepUpCancelled, withStepUp } from './stepup.js';
import { addPasskey, describePasskeyError, passkeysSupported } from './passkeys.js';
import { $, busy, clearError, clearInvalid, copyText, focusHeading, initAppNav, loginEmail, markInvalid, maskEmail, requireState, showError, signOut } from './ui.js';

type Step = 'choose' | 'totp' | 'email' | 'sms' | 'codes' | 'done';
type Enrollable = Extract<CodeMethod, 'totp' | 'email_otp' | 'sms_otp'> | 'webauthn';
/** The step indicator's item for each step; `done` without new codes highlights none. */
const STEP_OF: Record<Step, string> = { choose: 'choose', totp: 'setup', email: 'setup', sms: 'setup', codes: 'codes', done: '' };
const ENROLLABLE: Enrollable[] = passkeysSupported() ? ['webauthn', 'totp', 'email_otp', 'sms_otp'] : ['totp', 'email_otp', 'sms_otp'];

/** Why backup codes matter, for the method just set up (an email user has no phone to lose). */
const CODES_WHY: Record<Enrollable, string> = {
  webauthn: 'If you lose the device or the security key that holds your passkey',
  totp: 'If you lose your phone or the authenticator app',
  email_otp: 'If you cannot get into your mailbox',
  sms_otp: 'If you lose your phone or change your number',
};

const error = $('error');
let finishTo = '/';
let available: Enrollable[] = [];

function show(step: Step): void {
  for (const s of ['choose', 'totp', 'email', 'sms', 'codes', 'done'] as Step[]) $(`step-${s}`).hidden = s !== step;
  for (const li of Array.from(document.querySelectorAll<HTMLElement>('.steps li'))) {
    if (li.dataset.step === STEP_OF[step]) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  }
  clearError(error);
  focusHeading($(`step-${step}`));
}

/** After a factor is confirmed: the backup codes (shown once) when the server issued a set. */
function confirmed(r: EnrolmentConfirmed, method: Enrollable, account: string): void {
  if (r.backupCodes?.length) {
    $('codes-why').textContent = CODES_WHY[method];
    renderBackupCodes($('backup-codes'), r.backupCodes, account);
    show('codes');
  } else {
    // A second factor added to an account that has one: the backup codes it has stay valid.
    $('done-text').textContent = 'You can now use it to confirm your sign-ins. Your backup codes have not changed.';
    show('done');
  }
}

/** The server's reason for refusing a method ("Administrators need an authenticator app..."), else ours. */
function refusal(err: unknown): string {
  if (err instanceof ApiError && err.code === 'method_not_allowed' && err.message && !/not allowed here\.?$/.test(err.message)) return err.message;
  return describeError(err, { not_found: 'This setup expired. Reload the page to start again.' });
}

/** A method the server refused: say why, take it off the list, and let the person choose another. */
function refused(err: unknown, method: Enrollable): boolean {
  if (!(err instanceof ApiError) || err.code !== 'method_not_allowed') return false;
  const reason = refusal(err);
  available = available.filter((m) => m !== method);
  listChoices();
  show(available.length ? 'choose' : 'done');
  showError(error, reason);
  return true;
}

function report(err: unknown): void {
  if (!(err instanceof StepUpCancelled)) showError(error, refusal(err));
}

function listChoices(): void {
  for (const li of Array.from(document.querySelectorAll<HTMLElement>('.choice-list li'))) li.hidden = !available.includes(li.dataset.method as Enrollable);
}

async function startTotp(account: string): Promise<void> {
  show('totp');
  const r = await withStepUp(() => client.enrolTotp());
  $<HTMLImageElement>('qr').src = r.qrCode;
  // Groups of four are easier to type; authenticator apps ignore the spaces.
  $('secret').textContent = r.secret.replace(/(.{4})(?=.)/g, '$1 ');
  $('copy-secret').onclick = () => void copyText(r.secret, $('copy-secret-status'), 'Key');
  $('totp-code').focus();
  void account;
}

/** One code form: 6 digits, then the method's verify call; a wrong code marks the field. */
function wireCodeForm(formId: string, inputId: string, buttonId: string, what: string, method: Enrollable, verify: (code: string) => Promise<EnrolmentConfirmed>, account: string): void {
  const form = $<HTMLFormElement>(formId);
  const field = $<HTMLInputElement>(inputId);
  const input = setupCodeInput(field, () => form.requestSubmit());
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    clearInvalid(form);
    if (input.value().length !== 6) {
      showError(error, `Enter the 6-digit code ${what}.`);
      return markInvalid(field, error);
    }
    try {
      const r = await busy($<HTMLButtonElement>(buttonId), () => verify(input.value()));
      confirmed(r, method, account);
    } catch (err) {
      if (refused(err, method)) return;
      report(err);
      markInvalid(field, error);
      field.select();
    }
  });
}

function wireEmail(): void {
  $('email-send').addEventListener('click', async (ev) => {
    clearError(error);
    try {
      const r = await busy(ev.currentTarget as HTMLButtonElement, () => withStepUp(() => client.enrolEmail()));
      $('email-address').textContent = r.sentTo;
      $('email-to').firstChild!.textContent = 'We sent a 6-digit code to ';
      $('email-status').textContent = `Code sent to ${r.sentTo}. It is valid for ${Math.round(r.expiresIn / 60)} minutes.`;
      $('email-code').focus();
    } catch (err) {
      if (!refused(err, 'email_otp')) report(err);
    }
  });
}

function wireSms(): void {
  const phoneForm = $<HTMLFormElement>('sms-phone-form');
  const phoneInput = $<HTMLInputElement>('phone');
  phoneForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    clearInvalid(phoneForm);
    const phone = phoneInput.value.trim();
    if (!phone) {
      showError(error, 'Enter your mobile number.');
      return markInvalid(phoneInput, error);
    }
    try {
      const r = await busy($<HTMLButtonElement>('sms-send'), () => withStepUp(() => client.enrolSms({ phone })));
      $('sms-status').textContent = `Code sent to ${r.sentTo}. It is valid for ${Math.round(r.expiresIn / 60)} minutes.`;
      $('sms-form').hidden = false;
      $('sms-code').focus();
    } catch (err) {
      if (refused(err, 'sms_otp')) return;
      report(err);
      if (err instanceof ApiError && err.code === 'invalid_request') markInvalid(phoneInput, error);
    }
  });
}

/**
 * A sign-in that must set up a factor has no user yet: the app header keeps only Sign out (its
 * links would come back here). From the security page it is the full header.
 */
function header(session: SessionView, forced: boolean): void {
  if (!forced) {
    initAppNav(session);
    startRealtime(session.user!.tenant);
    return;
  }
  document.querySelector<HTMLElement>('.site-header nav ul')?.querySelectorAll('li').forEach((li) => {
    if (!li.querySelector('a[href="/dev/outbox"]')) li.hidden = true;
  });
  $('nav-user').textContent = loginEmail() ?? '';
  $('logout').addEventListener('click', () => void signOut('/login?m=signed_out'));
}

async function main(): Promise<void> {
  const session = await requireState('enrollment_required', 'authenticated');
  const forced = session.state === 'enrollment_required';
  const params = new URLSearchParams(location.search);
  header(session, forced);
  const account = session.user?.email ?? loginEmail() ?? 'your account';
  $('forced').hidden = !forced;
  $('enrol-back').hidden = forced;
  finishTo = !forced && params.get('from') === 'security' ? '/security' : '/';
  $<HTMLAnchorElement>('done-continue').href = finishTo;
  // Masked like the server's answers: the address the person signed in with.
  const typed = loginEmail();
  $('email-address').textContent = session.user?.email ?? (typed ? maskEmail(typed) : 'the email address you signed in with');

  if (forced) {
    available = ENROLLABLE.filter((m) => (session.methods ?? []).includes(m as Method));
  } else {
    const status = await client.mfaStatus();
    // More than one passkey is fine (a laptop and a phone); the other methods are set up once.
    available = ENROLLABLE.filter((m) => (m === 'webauthn' ? status.methods.webauthn?.available !== false : !status.methods[m]?.enabled));
    // Email codes are never an administrator's first factor (the server refuses them too).
    if (isAdmin(session.user) && !status.methods.totp.enabled && !status.methods.sms_otp.enabled) available = available.filter((m) => m !== 'email_otp');
  }
  listChoices();

  const saved = $<HTMLInputElement>('codes-saved');
  saved.addEventListener('change', () => ($<HTMLButtonElement>('codes-done').disabled = !saved.checked));
  $('codes-done').addEventListener('click', () => location.assign(finishTo));
  wireCodeForm('totp-form', 'totp-code', 'totp-verify', 'your app shows', 'totp', (code) => client.confirmTotp(code), account);
  wireCodeForm('email-form', 'email-code', 'email-verify', 'from the email', 'email_otp', (code) => client.confirmEmail(code), account);
  wireCodeForm('sms-form', 'sms-code', 'sms-verify', 'from the text message', 'sms_otp', (code) => client.confirmSms(code), account);
  wireEmail();
  wireSms();

  const open = (m: Enrollable) => {
    const run =
      m === 'webauthn'
        ? withStepUp(() => addPasskey()).then((r) => confirmed(r, 'webauthn', account))
        : m === 'totp'
          ? startTotp(account)
          : Promise.resolve(show(m === 'email_otp' ? 'email' : 'sms'));
    run.catch((err) => {
      const sentence = describePasskeyError(err);
      if (sentence) return showError(error, sentence);
      if (refused(err, m)) return;
      report(err);
      if (err instanceof StepUpCancelled) location.assign(finishTo);
    });
  };
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('button.choice'))) b.addEventListener('click', () => open(b.dataset.method as Enrollable));

  if (available.length === 0) {
    show('done');
    $('step-done').querySelector('h2')!.textContent = 'Every method is already set up';
    return;
  }
  const wanted = params.get('method') as Enrollable | null;
  if (wanted && available.includes(wanted)) open(wanted);
  else if (available.length === 1) open(available[0]!);
  else show('choose');
}

void main();
