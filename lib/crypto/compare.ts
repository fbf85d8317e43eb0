import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// A per-process key: both sides are MACed first so the comparison always runs over
// equal-length digests, whatever the inputs' lengths (no early return on length).
const compareKey = randomBytes(32);

/** Constant-time equality for codes, hashes and MACs. The one comparison helper of the project. */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const da = createHmac('sha256', compareKey).update(a).digest();
  const db = createHmac('sha256', compareKey).update(b).digest();
  return timingSafeEqual(da, db);
}
