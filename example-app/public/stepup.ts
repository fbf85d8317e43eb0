import { api, ApiError, type Method } from './api.js';
import { setupCodeInput } from './codeinput.js';
import { describeError, METHOD_LABELS } from './messages.js';
import { el } from './ui.js';

/** Thrown when the person closes the step-up prompt: the action did not happen, nothing to report. */
export class StepUpCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'StepUpCancelled';
  }
}

interface MfaStatus {
  methods: Record<string, { enabled: boolean }>;
  backupCodesRemaining: number;
}

/** The user's own methods, for a `step_up_required` that did not list them. */
async function ownMethods(): Promise<Method[]> {
  const s = await api<MfaStatus>('GET', '/auth/mfa/status');
  const m: Method[] = [];
  if (s.methods.totp?.enabled) m.push('totp');
  if (s.backupCodesRemaining > 0) m.push('backup_code');
  if (s.methods.email_otp?.enabled) m.push('email_otp');
  if (s.methods.sms_otp?.enabled) m.push('sms_otp');
  return m;
}

/**
 * Runs `action`; when the server answers `step_up_required`, asks for a code in a modal dialog,
 * sends it to `POST /auth/step-up`, then runs `action` once more.
 */
export async function withStepUp<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'step_up_required') throw err;
    const listed = Array.isArray(err.body.methods) ? (err.body.methods as Method[]) : [];
    const methods = listed.length ? listed : await ownMethods();
    if (!(await promptStepUp(methods))) throw new StepUpCancelled();
    return action();
  }
}

/** Resolves true once a code was accepted, false when the dialog was cancelled. */
export function promptStepUp(methods: Method[]): Promise<boolean> {
  const dialog = el('dialog', { className: 'stepup', id: 'stepup-dialog' });
  dialog.setAttribute('aria-labelledby', 'stepup-title');
  dialog.setAttribute('aria-describedby', 'stepup-desc');
  const error = el('div', { className: 'alert', id: 'stepup-error' });
  error.setAttribute('role', 'alert');
  const select = el('select', { id: 'stepup-method', name: 'method' });
  for (const m of methods) select.append(el('option', { value: m, textContent: METHOD_LABELS[m] ?? m }));
  const code = el('input', { id: 'stepup-code', name: 'code', required: true, className: 'code-input' });
  const sendStatus = el('p', { className: 'hint', id: 'stepup-send-status' });
  sendStatus.setAttribute('role', 'status');
  const send = el('button', { type: 'button', className: 'secondary', textContent: 'Send code' });
  const sendRow = el('div', { className: 'send-row' }, send, sendStatus);
  const confirm = el('button', { type: 'submit', className: 'primary', textContent: 'Confirm', id: 'stepup-confirm' });
  const cancel = el('button', { type: 'button', className: 'secondary', textContent: 'Cancel' });
  const form = el(
    'form',
    { noValidate: true },
    el('h2', { id: 'stepup-title', textContent: 'Confirm it’s you' }),
    el('p', { id: 'stepup-desc', textContent: 'This is a sensitive action. Enter a code from your second factor to continue.' }),
    error,
    el('div', { className: 'field' }, el('label', { htmlFor: 'stepup-method', textContent: 'Verify with' }), select),
    sendRow,
    el('div', { className: 'field' }, el('label', { htmlFor: 'stepup-code', textContent: 'Code' }), code),
    el('div', { className: 'button-row' }, confirm, cancel),
  );
  dialog.append(form);
  document.body.append(dialog);

  const input = setupCodeInput(code, () => form.requestSubmit());
  const onMethod = () => {
    const m = select.value as Method;
    input.setKind(m === 'backup_code' ? 'backup' : 'numeric');
    sendRow.hidden = !(m === 'email_otp' || m === 'sms_otp');
    sendStatus.textContent = '';
  };
  select.addEventListener('change', onMethod);
  onMethod();

  send.addEventListener('click', async () => {
    error.textContent = '';
    const channel = select.value === 'sms_otp' ? 'sms' : 'email';
    try {
      const r = await api<{ sentTo: string }>('POST', `/auth/mfa/${channel}/send`);
      sendStatus.textContent = `We sent a code to ${r.sentTo}.`;
    } catch (err) {
      error.textContent = describeError(err);
    }
  });

  return new Promise<boolean>((resolve) => {
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      resolve(ok);
    };
    cancel.addEventListener('click', () => finish(false));
    dialog.addEventListener('cancel', () => finish(false));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      if (!input.value()) {
        error.textContent = 'Enter the code first.';
        code.focus();
        return;
      }
      confirm.disabled = true;
      try {
        await api('POST', '/auth/step-up', { method: select.value, code: input.value() });
        finish(true);
      } catch (err) {
        error.textContent = describeError(err);
        code.select();
        code.focus();
      } finally {
        confirm.disabled = false;
      }
    });
    dialog.showModal();
    code.focus();
  });
}
