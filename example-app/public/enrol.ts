import { api, type Method } from './api.js';
import { renderBackupCodes } from './codes.js';
import { setupCodeInput } from './codeinput.js';
import { StepUpCancelled, withStepUp } from './stepup.js';
import { $, busy, clearError, copyText, focusHeading, requireState, showError, signOut } from './ui.js';

type Step = 'choose' | 'totp' | 'email' | 'sms' | 'codes' | 'done';
const STEP_OF: Record<Step, string> = { choose: 'choose', totp: 'setup', email: 'setup', sms: 'setup', codes: 'codes', done: 'codes' };
const ENROLLABLE: Method[] = ['totp', 'email_otp', 'sms_otp'];

interface Status {
  methods: Record<string, { enabled: boolean }>;
}

const error = $('error');
let finishTo = '/';

function show(step: Step): void {
  for (const s of ['choose', 'totp', 'email', 'sms', 'codes', 'done'] as Step[]) $(`step-${s}`).hidden = s !== step;
  for (const li of Array.from(document.querySelectorAll<HTMLElement>('.steps li'))) {
    if (li.dataset.step === STEP_OF[step]) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  }
  clearError(error);
  focusHeading($(`step-${step}`));
}

/** After a factor is confirmed: the backup codes (shown once) if the server issued a set. */
function confirmed(backupCodes: string[] | undefined, account: string): void {
  if (backupCodes?.length) {
    renderBackupCodes($('backup-codes'), backupCodes, account);
    show('codes');
  } else {
    show('done');
  }
}

function report(err: unknown): void {
  if (!(err instanceof StepUpCancelled)) showError(error, err, { not_found: 'This setup expired. Reload the page to start again.' });
}

async function startTotp(account: string): Promise<void> {
  show('totp');
  const r = await withStepUp(() => api<{ secret: string; qrCode: string }>('POST', '/auth/mfa/totp/enroll'));
  $<HTMLImageElement>('qr').src = r.qrCode;
  // Groups of four are easier to type; authenticator apps ignore the spaces.
  $('secret').textContent = r.secret.replace(/(.{4})(?=.)/g, '$1 ');
  $('copy-secret').onclick = () => void copyText(r.secret, $('copy-secret-status'), 'Key');
  $('totp-code').focus();
}

function wireTotp(account: string): void {
  const form = $<HTMLFormElement>('totp-form');
  const input = setupCodeInput($<HTMLInputElement>('totp-code'), () => form.requestSubmit());
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    if (input.value().length !== 6) return showError(error, 'Enter the 6-digit code your app shows.');
    try {
      const r = await busy($<HTMLButtonElement>('totp-verify'), () => api<{ backupCodes: string[] }>('POST', '/auth/mfa/totp/verify', { code: input.value() }));
      confirmed(r.backupCodes, account);
    } catch (err) {
      report(err);
      $<HTMLInputElement>('totp-code').select();
    }
  });
}

function wireEmail(account: string): void {
  const form = $<HTMLFormElement>('email-form');
  const input = setupCodeInput($<HTMLInputElement>('email-code'), () => form.requestSubmit());
  $('email-send').addEventListener('click', async (ev) => {
    clearError(error);
    try {
      const r = await busy(ev.currentTarget as HTMLButtonElement, () => withStepUp(() => api<{ sentTo?: string }>('POST', '/auth/mfa/email/enroll')));
      $('email-status').textContent = `Code sent${r.sentTo ? ` to ${r.sentTo}` : ''}. It is valid for 10 minutes.`;
      $('email-code').focus();
    } catch (err) {
      report(err);
    }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    if (input.value().length !== 6) return showError(error, 'Enter the 6-digit code from the email.');
    try {
      const r = await busy($<HTMLButtonElement>('email-verify'), () => api<{ backupCodes?: string[] }>('POST', '/auth/mfa/email/verify', { code: input.value() }));
      confirmed(r.backupCodes, account);
    } catch (err) {
      report(err);
    }
  });
}

function wireSms(account: string): void {
  const phoneForm = $<HTMLFormElement>('sms-phone-form');
  const codeForm = $<HTMLFormElement>('sms-form');
  const input = setupCodeInput($<HTMLInputElement>('sms-code'), () => codeForm.requestSubmit());
  phoneForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    const phone = $<HTMLInputElement>('phone').value.trim();
    if (!phone) return showError(error, 'Enter your mobile number.');
    try {
      const r = await busy($<HTMLButtonElement>('sms-send'), () => withStepUp(() => api<{ sentTo?: string }>('POST', '/auth/mfa/sms/enroll', { phone })));
      $('sms-status').textContent = `Code sent${r.sentTo ? ` to ${r.sentTo}` : ''}. It is valid for 10 minutes.`;
      codeForm.hidden = false;
      $('sms-code').focus();
    } catch (err) {
      report(err);
    }
  });
  codeForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    if (input.value().length !== 6) return showError(error, 'Enter the 6-digit code from the text message.');
    try {
      const r = await busy($<HTMLButtonElement>('sms-verify'), () => api<{ backupCodes?: string[] }>('POST', '/auth/mfa/sms/verify', { code: input.value() }));
      confirmed(r.backupCodes, account);
    } catch (err) {
      report(err);
    }
  });
}

async function main(): Promise<void> {
  const session = await requireState('enrollment_required', 'authenticated');
  const forced = session.state === 'enrollment_required';
  const params = new URLSearchParams(location.search);
  const account = session.user?.email ?? 'your account';
  $('forced').hidden = !forced;
  $('enrol-back').hidden = forced;
  finishTo = !forced && params.get('from') === 'security' ? '/security' : '/';
  $<HTMLAnchorElement>('done-continue').href = finishTo;
  $('email-address').textContent = session.user?.email ?? 'your email address';
  $('enrol-signout').addEventListener('click', () => void signOut('/login?m=signed_out'));

  let available: Method[];
  if (forced) {
    available = (session.methods ?? []).filter((m) => ENROLLABLE.includes(m));
  } else {
    const status = await api<Status>('GET', '/auth/mfa/status');
    available = ENROLLABLE.filter((m) => !status.methods[m]?.enabled);
  }
  for (const li of Array.from(document.querySelectorAll<HTMLElement>('.choice-list li'))) li.hidden = !available.includes(li.dataset.method as Method);

  const saved = $<HTMLInputElement>('codes-saved');
  saved.addEventListener('change', () => ($<HTMLButtonElement>('codes-done').disabled = !saved.checked));
  $('codes-done').addEventListener('click', () => location.assign(finishTo));
  wireTotp(account);
  wireEmail(account);
  wireSms(account);

  const open = (m: Method) => {
    const run = m === 'totp' ? startTotp(account) : Promise.resolve(show(m === 'email_otp' ? 'email' : 'sms'));
    run.catch((err) => {
      report(err);
      if (err instanceof StepUpCancelled) location.assign(finishTo);
    });
  };
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('button.choice'))) b.addEventListener('click', () => open(b.dataset.method as Method));

  if (available.length === 0) {
    show('done');
    $('step-done').querySelector('h2')!.textContent = 'Every method is already set up';
    return;
  }
  const wanted = params.get('method') as Method | null;
  if (wanted && available.includes(wanted)) open(wanted);
  else if (available.length === 1) open(available[0]!);
  else show('choose');
}

void main();
