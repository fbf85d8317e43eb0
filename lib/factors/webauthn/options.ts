import type { EphemeralStore } from '../../stores/ephemeral';

export interface CheckedOptions {
  rpId: string;
  rpName: string;
  origins: string[];
  now: () => number;
  challenges: EphemeralStore;
  challengeTtlSeconds: number;
  randomChallenge?: () => string;
}

interface RawOptions {
  rpId?: unknown;
  rpName?: unknown;
  origins?: unknown;
  now?: unknown;
  challenges?: unknown;
  challengeTtlSeconds?: unknown;
  randomChallenge?: unknown;
}

const DEFAULT_TTL_SECONDS = 300;
const MAX_TTL_SECONDS = 600;
// A host name: labels of letters, digits and hyphens. No scheme, port, path or IP literal brackets.
const RP_ID = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Checked once, at construction, with a TypeError naming the option: a wrong RP ID or origin would
 * otherwise show up only as every passkey failing in production.
 */
export function checkOptions(options: RawOptions): CheckedOptions {
  const o = { challengeTtlSeconds: DEFAULT_TTL_SECONDS, ...options };
  if (typeof o.rpId !== 'string' || !RP_ID.test(o.rpId)) throw new TypeError('webauthn.rpId must be a lower-case host name (no scheme or port)');
  if (typeof o.rpName !== 'string' || o.rpName.trim() === '') throw new TypeError('webauthn.rpName must be a non-empty string');
  if (!Array.isArray(o.origins) || o.origins.length === 0) throw new TypeError('webauthn.origins must be a non-empty array of origins');
  const origins: string[] = [];
  for (const origin of o.origins as unknown[]) {
    if (typeof origin !== 'string' || !isOrigin(origin)) {
      throw new TypeError('webauthn.origins entries must be origins like https://example.com (http only for localhost)');
    }
    origins.push(origin);
  }
  if (typeof o.now !== 'function') throw new TypeError('webauthn.now must be a function returning milliseconds');
  if (!isStore(o.challenges)) throw new TypeError('webauthn.challenges must be an EphemeralStore');
  const ttl = o.challengeTtlSeconds;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
    throw new TypeError(`webauthn.challengeTtlSeconds must be an integer from 1 to ${MAX_TTL_SECONDS}`);
  }
  if (o.randomChallenge !== undefined && typeof o.randomChallenge !== 'function') throw new TypeError('webauthn.randomChallenge must be a function');
  return {
    rpId: o.rpId,
    rpName: o.rpName,
    origins,
    now: o.now as () => number,
    challenges: o.challenges,
    challengeTtlSeconds: ttl,
    randomChallenge: o.randomChallenge as (() => string) | undefined,
  };
}

/** Exactly an origin (what clientDataJSON.origin holds): https, or http on a loopback host for development. */
function isOrigin(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.origin !== value) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname.endsWith('.localhost'));
}

function isStore(v: unknown): v is EphemeralStore {
  const s = v as Partial<EphemeralStore> | null;
  return typeof s === 'object' && s !== null && typeof s.set === 'function' && typeof s.take === 'function';
}
