import { createHmac, randomBytes } from 'node:crypto';
import { base32Decode, base32Encode } from './base32';
import { safeEqual } from '../crypto/compare';

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

/** A fresh 160-bit secret from `crypto`, base32 without padding (32 characters). */
export function generateTotpSecret(bytes = 20): string {
  return base32Encode(randomBytes(bytes));
}

export function decodeSecret(secret: string): Buffer {
  return base32Decode(secret);
}

export function encodeSecret(raw: Uint8Array): string {
  return base32Encode(raw);
}

/** HOTP (RFC 4226 §5.3) for a step counter; 64-bit counters are written big-endian without 32-bit truncation. */
export function hotp(key: Buffer, counter: number, digits = 6, algorithm: TotpAlgorithm = 'sha1'): string {
  // 8-byte big-endian counter, split in two words: `>>>`/`|` alone would truncate past 2^32.
  const msg = Buffer.allocUnsafe(8);
  msg.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), 0);
  msg.writeUInt32BE(counter >>> 0, 4);
  const mac = createHmac(algorithm, key).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return bin.toString().padStart(digits, '0');
}

export function stepAt(nowMs: number, periodSeconds = 30): number {
  return Math.floor(nowMs / 1000 / periodSeconds);
}

export function totpAt(key: Buffer, nowMs: number, params: TotpParams = DEFAULT_TOTP): string {
  return hotp(key, stepAt(nowMs, params.periodSeconds), params.digits, params.algorithm);
}

/**
 * Checks a code against the steps of the window and returns the matched step (the highest one
 * above `afterStep`), or null. Only the server clock is used. Every step of the window is
 * computed and compared in constant time, so timing does not tell which step matched.
 */
export function verifyTotp(key: Buffer, code: string, nowMs: number, afterStep = -1, params: TotpParams = DEFAULT_TOTP): number | null {
  if (typeof code !== 'string' || code.length !== params.digits || !/^[0-9]+$/.test(code)) return null;
  const current = stepAt(nowMs, params.periodSeconds);
  let matched: number | null = null;
  for (let step = current - params.windowPast; step <= current + params.windowFuture; step++) {
    if (step < 0) continue;
    const ok = safeEqual(hotp(key, step, params.digits, params.algorithm), code);
    if (ok && step > afterStep) matched = step;
  }
  return matched;
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
