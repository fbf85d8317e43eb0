/**
 * Passkeys in the example app: the plugin's options go to the browser through @simplewebauthn/browser
 * (served at `/assets/simplewebauthn/`), and the browser's JSON answer goes back to the plugin. The
 * library (about 25 modules) is loaded when a passkey is used, not with every page that offers one.
 */
import type * as WebAuthnBrowser from '@simplewebauthn/browser';
import type { PasskeyRegistered, PasskeyResponse, ChallengeResponse } from '../../client/index.js';
import { client } from './api.js';

type RegistrationOptions = Parameters<typeof WebAuthnBrowser.startRegistration>[0]['optionsJSON'];
type AuthenticationOptions = Parameters<typeof WebAuthnBrowser.startAuthentication>[0]['optionsJSON'];

const webauthn = (): Promise<typeof WebAuthnBrowser> => import('@simplewebauthn/browser');

/** The browser has the WebAuthn API (the library's own check, without loading the library). */
export const passkeysSupported = (): boolean => typeof globalThis.PublicKeyCredential === 'function';

/** Creates a passkey on this device (or a security key) and stores it under `name`. */
export async function addPasskey(name?: string): Promise<PasskeyRegistered> {
  const options = await client.passkeyRegistrationOptions();
  const response = await (await webauthn()).startRegistration({ optionsJSON: options as unknown as RegistrationOptions });
  return client.registerPasskey({ response: response as unknown as PasskeyResponse, ...(name ? { name } : {}) });
}

/** An assertion for the waiting sign-in or a step-up: send it as `{method: 'webauthn', response}`. */
export async function passkeyAnswer(): Promise<PasskeyResponse> {
  const options = await client.passkeyAuthenticationOptions();
  const response = await (await webauthn()).startAuthentication({ optionsJSON: options as unknown as AuthenticationOptions });
  return response as unknown as PasskeyResponse;
}

/** Passwordless sign-in with a discoverable passkey (where the organisation allows it). */
export async function passkeyLogin(tenant: string): Promise<ChallengeResponse> {
  const options = await client.passkeyLoginOptions(tenant);
  const response = await (await webauthn()).startAuthentication({ optionsJSON: options as unknown as AuthenticationOptions });
  return client.passkeyLogin({ tenant, response: response as unknown as PasskeyResponse });
}

/** The browser's refusals (cancelled, timed out, no matching passkey) in a sentence. */
export function describePasskeyError(err: unknown): string | null {
  const name = (err as { name?: string } | null)?.name;
  if (name === 'NotAllowedError' || name === 'AbortError') return 'The passkey request was cancelled or timed out.';
  if (name === 'InvalidStateError') return 'This passkey is registered already.';
  if (name === 'SecurityError') return 'Passkeys do not work on this address.';
  return null;
}

/** The server's answers in passkey words (`invalid_code` is "that code is not correct" elsewhere). */
export const PASSKEY_ERRORS: Record<string, string> = {
  invalid_code: 'This passkey could not be verified, or it is not registered for this account.',
  method_not_allowed: 'Passkeys are not allowed here.',
};
