import { StepUpCancelled, withStepUp as clientWithStepUp, type CodeMethod, type Method, type StepUpPromptContext } from '../../client/index.js';
import { client } from './api.js';
import { setupCodeInput } from './codeinput.js';
import { describeError, METHOD_LABELS } from './messages.js';
import { el } from './ui.js';
import { describePasskeyError, passkeyAnswer } from './passkeys.js';

export { StepUpCancelled };

/** What the dialog answers: a code, or (typed as one for the client's helper) a passkey assertion. */
type StepUpAnswer = { method: CodeMethod; code: string };

/**
 * Runs `action` (a call through `client`); when the server answers `step_up_required`, the client's
 * step-up helper asks for a code through this page's modal dialog, verifies it, and runs `action`
 * once more. A wrong code keeps the dialog open with the error; Cancel throws StepUpCancelled.
 */
export function withStepUp<T>(action: () => Promise<T>): Promise<T> {
  const dialog = new StepUpDialog();
  return clientWithStepUp(client, action, { prompt: (ctx) => dialog.ask(ctx), done: () => dialog.close() });
}

/** The "Confirm it's you" dialog: opened on the first question, kept open while codes are wrong. */
class StepUpDialog {
  private dialog: HTMLDialogElement | null = null;
  private pending: ((input: StepUpAnswer | null) => void) | null = null;
  private parts!: { error: HTMLElement; select: HTMLSelectElement; code: HTMLInputElement; confirm: HTMLButtonElement; value: () => string };

  ask(ctx: StepUpPromptContext): Promise<StepUpAnswer | null> {
    if (!this.dialog) this.open(ctx.methods.filter((m): m is CodeMethod => m !== 'webauthn'), ctx.methods.includes('webauthn'));
    const { error, code, confirm } = this.parts;
    confirm.disabled = false;
    error.textContent = ctx.error ? describeError(ctx.error) : '';
    if (ctx.error) {
      code.setAttribute('aria-invalid', 'true');
      code.select();
    }
    code.focus();
    return new Promise((resolve) => (this.pending = resolve));
  }

  close(): void {
    this.dialog?.close();
    this.dialog?.remove();
    this.dialog = null;
  }

  private answer(input: StepUpAnswer | null): void {
    const p = this.pending;
    this.pending = null;
    p?.(input);
  }

  private open(methods: CodeMethod[], passkey: boolean): void {
    const dialog = el('dialog', { className: 'stepup', id: 'stepup-dialog' });
    dialog.setAttribute('aria-labelledby', 'stepup-title');
    dialog.setAttribute('aria-describedby', 'stepup-desc');
    const error = el('div', { className: 'alert', id: 'stepup-error' });
    error.setAttribute('role', 'alert');
    const select = el('select', { id: 'stepup-method', name: 'method' });
    for (const m of methods) select.append(el('option', { value: m, textContent: METHOD_LABELS[m] ?? m }));
    const code = el('input', { id: 'stepup-code', name: 'code', required: true, className: 'code-input' });
    code.setAttribute('aria-describedby', 'stepup-error');
    const sendStatus = el('p', { className: 'hint', id: 'stepup-send-status' });
    sendStatus.setAttribute('role', 'status');
    const send = el('button', { type: 'button', className: 'secondary', textContent: 'Send code' });
    const sendRow = el('div', { className: 'send-row' }, send, sendStatus);
    const confirm = el('button', { type: 'submit', className: 'primary', textContent: 'Confirm', id: 'stepup-confirm' });
    const cancel = el('button', { type: 'button', className: 'secondary', textContent: 'Cancel' });
    const usePasskey = el('button', { type: 'button', className: 'secondary wide', textContent: 'Use a passkey', id: 'stepup-passkey' });
    usePasskey.hidden = !passkey;
    const form = el(
      'form',
      { noValidate: true },
      el('h2', { id: 'stepup-title', textContent: 'Confirm it’s you' }),
      el('p', { id: 'stepup-desc', textContent: 'This is a sensitive action. Enter a code from your second factor to continue.' }),
      error,
      usePasskey,
      el('div', { className: 'field', hidden: methods.length === 0 }, el('label', { htmlFor: 'stepup-method', textContent: 'Verify with' }), select),
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
    code.addEventListener('input', () => code.removeAttribute('aria-invalid'));

    send.addEventListener('click', async () => {
      error.textContent = '';
      try {
        const r = await client.sendCode(select.value === 'sms_otp' ? 'sms' : 'email');
        sendStatus.textContent = `We sent a code to ${r.sentTo}.`;
      } catch (err) {
        error.textContent = describeError(err);
      }
    });
    usePasskey.addEventListener('click', async () => {
      error.textContent = '';
      try {
        const response = await passkeyAnswer();
        // The client's helper posts the answer as is to POST /auth/step-up.
        this.answer({ method: 'webauthn', response } as unknown as StepUpAnswer);
      } catch (err) {
        error.textContent = describePasskeyError(err) ?? describeError(err);
      }
    });
    cancel.addEventListener('click', () => {
      this.close();
      this.answer(null);
    });
    dialog.addEventListener('cancel', () => {
      this.close();
      this.answer(null);
    });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!input.value()) {
        error.textContent = 'Enter the code first.';
        code.setAttribute('aria-invalid', 'true');
        code.focus();
        return;
      }
      confirm.disabled = true;
      this.answer({ method: select.value as CodeMethod, code: input.value() });
    });
    this.dialog = dialog;
    this.parts = { error, select, code, confirm, value: input.value };
    dialog.showModal();
  }
}
