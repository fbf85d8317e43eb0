import type { NodeCryptoPlugin } from '@otplib/plugin-crypto-node';
import type { ScureBase32Plugin } from '@otplib/plugin-base32-scure';
import { base32Decode, base32Encode } from './base32';

// TOTP is otplib 13 (@otplib/core, hotp, totp: RFC 4226/6238) with Node's crypto (synchronous HMAC:
// verification stays sync and fast) and scure's base32. The `otplib` umbrella is not used: it also
// loads the noble crypto plugin. Loaded on first use, not when the plugin is required. The replay
// guard (the last used step, compare-and-set in the store) stays ours: otplib reports the matched step.
interface Otp {
  core: typeof import('@otplib/core');
  hotp: typeof import('@otplib/hotp');
  totp: typeof import('@otplib/totp');
  crypto: NodeCryptoPlugin;
  base32: ScureBase32Plugin;
}
let otp: Otp | undefined;
function otplib(): Otp {
  if (otp) return otp;
  const { NodeCryptoPlugin: Crypto } = require('@otplib/plugin-crypto-node') as typeof import('@otplib/plugin-crypto-node');
  const { ScureBase32Plugin: Base32 } = require('@otplib/plugin-base32-scure') as typeof import('@otplib/plugin-base32-scure');
  const mods = { core: require('@otplib/core') as Otp['core'], hotp: require('@otplib/hotp') as Otp['hotp'], totp: require('@otplib/totp') as Otp['totp'] };
  return (otp = { ...mods, crypto: new Crypto(), base32: new Base32() });
}

export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';

export interface TotpParams {
  algorithm: TotpAlgorithm;
  digits: number;
  periodSeconds: number;
  /** Steps accepted before the current one. */
  windowPast: number;
  /** Steps accepted after the current one. */
  windowFuture: number;
}

/** RFC 6238 as authenticator apps implement it: SHA-1, 6 digits, 30 s; window ±1 by default. */
export const DEFAULT_TOTP: TotpParams = { algorithm: 'sha1', digits: 6, periodSeconds: 30, windowPast: 1, windowFuture: 1 };

/** A fresh 160-bit secret (otplib over Node's `crypto`), base32 without padding (32 characters). */
export function generateTotpSecret(bytes = 20): string {
  const o = otplib();
  return o.core.generateSecret({ length: bytes, crypto: o.crypto, base32: o.base32 });
}

export function decodeSecret(secret: string): Buffer {
  return base32Decode(secret);
}

export function encodeSecret(raw: Uint8Array): string {
  return base32Encode(raw);
}

/** HOTP (RFC 4226 §5.3) for a step counter (otplib; 64-bit counters are not truncated). */
export function hotp(key: Buffer, counter: number, digits = 6, algorithm: TotpAlgorithm = 'sha1'): string {
  const o = otplib();
  return o.hotp.generateSync({ secret: key, counter, digits: digits as 6, algorithm, crypto: o.crypto, base32: o.base32 });
}

export function stepAt(nowMs: number, periodSeconds = 30): number {
  return Math.floor(nowMs / 1000 / periodSeconds);
}

export function totpAt(key: Buffer, nowMs: number, params: TotpParams = DEFAULT_TOTP): string {
  return hotp(key, stepAt(nowMs, params.periodSeconds), params.digits, params.algorithm);
}

/**
 * Checks a code against the steps of the window (otplib `verifySync`, constant-time comparison) and
 * returns the matched step above `afterStep`, or null. Only the clock given is used (`epoch` is always
 * passed: otplib would read `Date.now()` otherwise). The caller stores the step atomically (replays).
 */
export function verifyTotp(key: Buffer, code: string, nowMs: number, afterStep = -1, params: TotpParams = DEFAULT_TOTP): number | null {
  if (typeof code !== 'string' || code.length !== params.digits || !/^[0-9]+$/.test(code)) return null;
  const o = otplib();
  const period = params.periodSeconds;
  // Whole seconds: a step boundary is on a second; the window is exactly windowPast/windowFuture steps.
  const epoch = Math.floor(nowMs / 1000);
  const current = Math.floor(epoch / period);
  // No step of the window can be above `afterStep` (otplib would throw on such a bound).
  if (afterStep >= current + params.windowFuture) return null;
  const res = o.totp.verifySync({
    secret: key,
    token: code,
    epoch,
    // From the start of the current step, so the window is whole steps wherever in the step `now` is.
    epochTolerance: [epoch - current * period + params.windowPast * period, (current + 1) * period - 1 - epoch + params.windowFuture * period],
    period,
    digits: params.digits as 6,
    algorithm: params.algorithm,
    crypto: o.crypto,
    base32: o.base32,
    ...(afterStep >= 0 ? { afterTimeStep: afterStep } : {}),
  });
  return res.valid ? (res as { timeStep: number }).timeStep : null;
}

/** The Key URI that authenticator apps read (Google Authenticator Key Uri Format), with explicit parameters. */
export function otpauthUrl(issuer: string, account: string, secret: string, params: TotpParams = DEFAULT_TOTP): string {
  const enc = encodeURIComponent;
  const query = [
    `secret=${secret}`,
    `issuer=${enc(issuer)}`,
    `algorithm=${params.algorithm.toUpperCase()}`,
    `digits=${params.digits}`,
    `period=${params.periodSeconds}`,
  ].join('&');
  return `otpauth://totp/${enc(issuer)}:${enc(account)}?${query}`;
}
