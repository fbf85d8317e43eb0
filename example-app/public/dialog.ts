import { el } from './ui.js';

export interface ConfirmOptions {
  title: string;
  text: string;
  /** The confirm button's label: say what happens ("Disable the account"), not "OK". */
  confirmLabel: string;
  /** A red confirm button for actions that remove or end something. */
  danger?: boolean;
}

/**
 * The app's own confirmation dialog (a modal `<dialog>`), instead of `window.confirm`: it has the
 * app's look, a title, a button that names the action, and Escape or Cancel to back out. Focus starts
 * on Cancel, so Enter alone never does the destructive thing, and returns to the opener afterwards.
 * Resolves true when confirmed.
 */
export function confirmAction(opts: ConfirmOptions): Promise<boolean> {
  const opener = document.activeElement as HTMLElement | null;
  const dialog = el('dialog', { className: 'confirm', id: 'confirm-dialog' });
  dialog.setAttribute('aria-labelledby', 'confirm-title');
  dialog.setAttribute('aria-describedby', 'confirm-text');
  const ok = el('button', { type: 'button', className: opts.danger ? 'danger' : 'primary', id: 'confirm-ok', textContent: opts.confirmLabel });
  const cancel = el('button', { type: 'button', className: 'secondary', id: 'confirm-cancel', textContent: 'Cancel' });
  dialog.append(
    el('h2', { id: 'confirm-title', textContent: opts.title }),
    el('p', { id: 'confirm-text', textContent: opts.text }),
    el('div', { className: 'button-row' }, ok, cancel),
  );
  document.body.append(dialog);
  return new Promise<boolean>((resolve) => {
    let done = false;
    const finish = (yes: boolean) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      opener?.focus();
      resolve(yes);
    };
    ok.addEventListener('click', () => finish(true));
    cancel.addEventListener('click', () => finish(false));
    dialog.addEventListener('cancel', () => finish(false));
    dialog.showModal();
    cancel.focus();
  });
}
