import type * as Phone from 'libphonenumber-js/max';
import type { CountryCode } from 'libphonenumber-js/max';

let phoneLib: typeof Phone | undefined;
/**
 * libphonenumber-js with its full metadata (about 50 ms to load): required on the first phone number,
 * not when the plugin is loaded. Shared with mask.ts.
 */
export function libphonenumber(): typeof Phone {
  return (phoneLib ??= require('libphonenumber-js/max') as typeof Phone);
}

/** Longest input accepted: a formatted international number with spaces fits easily. */
export const MAX_PHONE_INPUT = 32;
const ALLOWED = /^\+?[0-9 ()./-]+$/;

/**
 * Parses what a person typed into E.164, or null when it is not a valid number. Full metadata is used,
 * so a number must match its country's real numbering plan, not just its length. National formats need
 * a country hint (ISO 3166 alpha-2, e.g. 'US', 'GB'); an unknown hint gives null. Extensions, letters
 * and inputs over 32 characters are refused.
 *
 * @example parsePhone('(202) 555-2671', 'US') // '+12025552671'
 */
export function parsePhone(input: string, countryHint?: string): string | null {
  if (typeof input !== 'string' || input.length > MAX_PHONE_INPUT) return null;
  const s = input.trim();
  if (!s || !ALLOWED.test(s)) return null;
  let country: CountryCode | undefined;
  if (countryHint !== undefined) {
    const hint = typeof countryHint === 'string' ? countryHint.trim().toUpperCase() : '';
    if (!/^[A-Z]{2}$/.test(hint) || !libphonenumber().isSupportedCountry(hint)) return null;
    country = hint as CountryCode;
  }
  const parsed = libphonenumber().parsePhoneNumberFromString(s, country ? { defaultCountry: country } : undefined);
  if (!parsed || !parsed.isValid() || parsed.ext) return null;
  return parsed.number;
}
