import { libphonenumber } from './phone';

/**
 * Masks an address for responses and logs: first character of the local part and of the domain's first
 * label, then the TLD. The number of stars is fixed, so the mask does not tell the length.
 *
 * @example maskEmail('alice@example.com') // 'a***@e***.com'
 */
export function maskEmail(email: string): string {
  const s = typeof email === 'string' ? email.trim() : '';
  const at = s.lastIndexOf('@');
  if (at < 1 || at === s.length - 1) return '***';
  const local = s.slice(0, at);
  const labels = s.slice(at + 1).split('.').filter(Boolean);
  const first = labels[0] ?? '';
  const tld = labels.length > 1 ? `.${labels[labels.length - 1]}` : '';
  return `${[...local][0]}***@${[...first][0] ?? ''}***${tld}`;
}

/**
 * Masks an E.164 number: country calling code, one star per hidden digit, last 4 digits.
 *
 * @example maskPhone('+12025552671') // '+1******2671'
 */
export function maskPhone(phone: string): string {
  const s = typeof phone === 'string' ? phone.trim() : '';
  const digits = s.replace(/\D/g, '');
  if (digits.length < 6) return '***';
  const parsed = s.startsWith('+') ? libphonenumber().parsePhoneNumberFromString(s) : undefined;
  const cc = parsed ? String(parsed.countryCallingCode) : '';
  const national = parsed ? String(parsed.nationalNumber) : digits;
  if (national.length <= 4) return '***';
  return `${cc ? `+${cc}` : ''}${'*'.repeat(national.length - 4)}${national.slice(-4)}`;
}
