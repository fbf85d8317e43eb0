import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// A per-process key for the unequal-length path: both sides are MACed so the comparison still runs
// over equal-length digests (no early return on a length mismatch, no ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH).
const compareKey = randomBytes(32);

/**
 * Constant-time equality for codes, hashes and MACs: the one comparison helper of the project.
 * Equal byte lengths (the usual case: six digits against six digits, a MAC against a MAC) go
 * straight to `timingSafeEqual`; a length is not a secret, the content is.
 */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const ba = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
  const bb = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  if (ba.length === bb.length) return timingSafeEqual(ba, bb);
  const da = createHmac('sha256', compareKey).update(ba).digest();
  const db = createHmac('sha256', compareKey).update(bb).digest();
  return timingSafeEqual(da, db) && false;
}
