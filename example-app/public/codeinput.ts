/**
 * One field for a one-time code. Numeric codes: numeric keypad, `autocomplete="one-time-code"` (the
 * phone offers the code from an SMS), anything but digits dropped, so a pasted "123 456" or
 * "Code: 123456" becomes 123456 and a complete code submits itself. Backup codes: letters and
 * digits, dashes and spaces kept out of the way.
 */
export type CodeKind = 'numeric' | 'backup';

export interface CodeInput {
  setKind(kind: CodeKind): void;
  value(): string;
}

export function setupCodeInput(input: HTMLInputElement, onComplete: () => void, kind: CodeKind = 'numeric'): CodeInput {
  let current = kind;
  const apply = (k: CodeKind) => {
    current = k;
    input.autocomplete = 'one-time-code';
    input.setAttribute('autocapitalize', 'none');
    input.spellcheck = false;
    if (k === 'numeric') {
      input.inputMode = 'numeric';
      input.pattern = '[0-9]{6}';
      input.maxLength = 6;
      input.placeholder = '123456';
    } else {
      input.inputMode = 'text';
      input.pattern = '[A-Za-z2-7 -]{16,24}';
      input.maxLength = 24;
      input.placeholder = 'abcd-efgh-ijkl-mnop';
    }
  };
  apply(kind);

  const clean = (text: string): string =>
    current === 'numeric' ? text.replace(/\D/g, '').slice(0, 6) : text.trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').slice(0, 24);

  input.addEventListener('paste', (ev: ClipboardEvent) => {
    const text = ev.clipboardData?.getData('text') ?? '';
    if (!text) return;
    ev.preventDefault();
    input.value = clean(text);
    if (current === 'numeric' && input.value.length === 6) onComplete();
  });
  input.addEventListener('input', () => {
    if (current !== 'numeric') return;
    const v = clean(input.value);
    if (v !== input.value) input.value = v;
  });

  return {
    setKind(k) {
      if (k !== current) input.value = '';
      apply(k);
    },
    value: () => input.value.trim(),
  };
}
