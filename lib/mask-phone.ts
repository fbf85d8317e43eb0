/** `+12025552671` -> `+1******2671` (placeholder until lib/mask.ts lands). */
export function maskPhoneNumber(phone: string): string {
  return phone.length > 6 ? `${phone.slice(0, 2)}${'*'.repeat(Math.max(0, phone.length - 6))}${phone.slice(-4)}` : '****';
}
