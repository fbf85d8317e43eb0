import { copyText, el } from './ui.js';

/**
 * Backup codes, shown once: the list, Copy all, and Download as a .txt file. The codes live only in
 * this page's memory; nothing is stored in the browser.
 */
export function renderBackupCodes(container: HTMLElement, codes: string[], account: string): void {
  const status = el('p', { className: 'hint', id: 'codes-status' });
  status.setAttribute('role', 'status');
  const list = el('ol', { className: 'backup-codes', id: 'backup-code-list' });
  list.setAttribute('aria-label', 'Backup codes');
  for (const c of codes) list.append(el('li', {}, el('code', {}, c)));

  const text = [
    'passport-stepup demo: backup codes',
    `Account: ${account}`,
    `Created: ${new Date().toISOString()}`,
    '',
    'Each code works once. Keep them somewhere safe, apart from your phone.',
    '',
    ...codes,
    '',
  ].join('\n');

  const copy = el('button', { type: 'button', className: 'secondary', id: 'copy-codes', textContent: 'Copy all' });
  copy.addEventListener('click', () => void copyText(text, status, 'Backup codes'));
  const download = el('button', { type: 'button', className: 'secondary', id: 'download-codes', textContent: 'Download .txt' });
  download.addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = el('a', { href: url, download: 'backup-codes.txt' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    status.textContent = 'Backup codes downloaded as backup-codes.txt.';
  });
  container.replaceChildren(list, el('div', { className: 'button-row' }, copy, download), status);
}
