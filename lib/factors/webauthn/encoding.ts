/** Transport hints the WebAuthn spec and browsers use; anything else from a client is dropped. */
const TRANSPORTS = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);
const NAME_MAX = 64;
export const DEFAULT_CREDENTIAL_NAME = 'Passkey';

/** Transports come from the client unverified: keep only known hints, once each. */
export function sanitiseTransports(transports: readonly string[] | undefined): string[] {
  return [...new Set((transports ?? []).filter((t) => TRANSPORTS.has(t)))];
}

/**
 * A user-chosen label shown in the security page: no control characters (they would garble a
 * listing or a log line), trimmed, at most 64 characters, never empty.
 */
export function sanitiseName(name: string): string {
  const clean = String(name ?? '')
    .replace(/[\p{Cc}\p{Cf}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return [...clean].slice(0, NAME_MAX).join('') || DEFAULT_CREDENTIAL_NAME;
}

export function toPublicKeyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(base64url, 'base64url'));
}

/** The user handle is the UTF-8 user id set at registration; null when the assertion carries none. */
export function decodeUserHandle(handle: unknown): string | null {
  if (typeof handle !== 'string' || handle === '') return null;
  return Buffer.from(handle, 'base64url').toString('utf8');
}
