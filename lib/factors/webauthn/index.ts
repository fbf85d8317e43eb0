/**
 * WebAuthn (passkeys and security keys) on @simplewebauthn/server: a leaf module with no knowledge of
 * HTTP or sessions. See docs/WEBAUTHN.md for the choices (attestation 'none', counters, origins).
 */
export { WebauthnService } from './service';
export type {
  AuthenticationOptionsInput,
  AuthenticationResult,
  AuthenticationSuccess,
  RegistrationResult,
  VerifyAuthenticationInput,
  WebauthnFailure,
  WebauthnFailureReason,
  WebauthnRegistrant,
  WebauthnServiceOptions,
  WebauthnUserRef,
} from './service';
export { commitAuthentication, peekAssertion } from './commit';
export { WEBAUTHN_PURPOSES, MIN_CHALLENGE_BYTES, type WebauthnPurpose } from './challenges';
export { DEFAULT_CREDENTIAL_NAME, sanitiseName } from './encoding';
export type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
