import type * as SimpleWebAuthn from '@simplewebauthn/server';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
  VerifiedAuthenticationResponse,
  VerifiedRegistrationResponse,
} from '@simplewebauthn/server';

// Loaded on first use (about 240 ms): an app that never sees a passkey does not pay for it at startup.
let lib: typeof SimpleWebAuthn | undefined;
const webauthnLib = (): typeof SimpleWebAuthn => (lib ??= require('@simplewebauthn/server') as typeof SimpleWebAuthn);
import type { EphemeralStore } from '../../stores/ephemeral';
import type { WebauthnCredentialRecord } from '../../types';
import { ChallengeBook, challengeBytes, cryptoChallenge, type ChallengeFailure, type WebauthnPurpose } from './challenges';
import { checkOptions } from './options';
import { decodeUserHandle, sanitiseName, sanitiseTransports, toPublicKeyBytes } from './encoding';

export interface WebauthnServiceOptions {
  /** The RP ID (a host name, no scheme or port), e.g. `example.com`. Never taken from a request. */
  rpId: string;
  /** Shown by the browser or the authenticator when a passkey is created. */
  rpName: string;
  /** Every origin the pages run on, e.g. `['https://example.com']`. Never taken from a request. */
  origins: string[];
  /** The one clock: challenge expiry and stored times. */
  now: () => number;
  /** Where challenges wait between options and verification (Redis in production). */
  challenges: EphemeralStore;
  /** Challenge lifetime. Default 300 (5 minutes); 1..600. */
  challengeTtlSeconds?: number;
  /**
   * Source of challenges: canonical base64url of at least 16 bytes. Default: 32 bytes from `crypto`.
   * Tests inject a recorded challenge to replay a real authenticator's response.
   */
  randomChallenge?: () => string;
}

/** The account a ceremony is for. A `UserRecord` fits. */
export interface WebauthnUserRef {
  id: string;
  tenantId: string;
}

export interface WebauthnRegistrant extends WebauthnUserRef {
  /** Shown by the authenticator's account picker. */
  email: string;
  name?: string;
}

export type WebauthnFailureReason =
  | ChallengeFailure
  /** The library refused the response: type, challenge, origin, RP ID hash, UP/UV flags, signature, or malformed. */
  | 'invalid_response'
  /** The credential is not one of this user's (e.g. another authenticator, or a removed passkey). */
  | 'unknown_credential'
  /** Registration of a credential this user already has. */
  | 'already_registered'
  /** The assertion's user handle names another user (or none, for passwordless). */
  | 'user_mismatch'
  /** The signature counter did not grow: a possible cloned authenticator (audit it), or a raced duplicate. */
  | 'counter_regression';

export type WebauthnFailure = { ok: false; reason: WebauthnFailureReason };

type RegistrationInfo = Extract<VerifiedRegistrationResponse, { verified: true }>['registrationInfo'];
type AssertionInfo = VerifiedAuthenticationResponse['authenticationInfo'];

/** WebAuthn L2 §5.4.3: the user handle is at most 64 bytes. */
const MAX_USER_HANDLE_BYTES = 64;

export type RegistrationResult = { ok: true; credential: WebauthnCredentialRecord; userVerified: boolean } | WebauthnFailure;

export interface AuthenticationSuccess {
  ok: true;
  credentialId: string;
  /** The counter the authenticator reported; commit it with `commitAuthentication`. */
  newCounter: number;
  userVerified: boolean;
  /** The user id carried by the assertion (discoverable credentials), or null. */
  userHandle: string | null;
  backedUp: boolean;
}

export type AuthenticationResult = AuthenticationSuccess | WebauthnFailure;

export type AuthenticationOptionsInput =
  | { purpose: 'login' | 'step_up'; binding: string; user: WebauthnUserRef & { credentials: readonly WebauthnCredentialRecord[] } }
  | { purpose: 'passwordless'; binding: string; tenantId: string };

export interface VerifyAuthenticationInput {
  /** The user whose credentials are offered: the pending user, or for passwordless the one the user handle names. */
  user: WebauthnUserRef;
  credentials: readonly WebauthnCredentialRecord[];
  binding: string;
  purpose: Exclude<WebauthnPurpose, 'register'>;
  response: AuthenticationResponseJSON;
  /** True for passwordless (the passkey is both factors); false when a password came first. */
  requireUserVerification: boolean;
}

/**
 * WebAuthn ceremonies for one relying party, on @simplewebauthn/server. It issues options with a
 * single-use challenge bound to (tenant, purpose, binding[, user]) and verifies responses against
 * the configured RP ID and origins. It never writes users: registration returns the record to store,
 * authentication returns the counter to commit (see `commitAuthentication`).
 *
 * @example
 * const webauthn = new WebauthnService({ rpId: 'example.com', rpName: 'Example', origins: ['https://example.com'], now: Date.now, challenges });
 * const options = await webauthn.registrationOptions({ user, existing: user.mfa.webauthn ?? [], binding: sessionId });
 */
export class WebauthnService {
  readonly rpId: string;
  readonly rpName: string;
  readonly origins: readonly string[];
  readonly challengeTtlSeconds: number;
  private readonly book: ChallengeBook;
  private readonly randomChallenge: () => string;
  private readonly now: () => number;

  constructor(options: WebauthnServiceOptions) {
    const o = checkOptions(options);
    this.rpId = o.rpId;
    this.rpName = o.rpName;
    this.origins = o.origins;
    this.challengeTtlSeconds = o.challengeTtlSeconds;
    this.randomChallenge = o.randomChallenge ?? cryptoChallenge;
    this.now = o.now;
    this.book = new ChallengeBook(o.challenges, o.now, o.challengeTtlSeconds);
  }

  /**
   * Options for `navigator.credentials.create()`. Existing credentials are excluded so the same
   * authenticator is not registered twice; attestation is 'none' because the plugin does not limit
   * which authenticator models may be used (docs/WEBAUTHN.md).
   */
  async registrationOptions(input: {
    user: WebauthnRegistrant;
    existing: readonly WebauthnCredentialRecord[];
    binding: string;
  }): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const userHandle = Buffer.from(input.user.id, 'utf8');
    if (userHandle.length === 0 || userHandle.length > MAX_USER_HANDLE_BYTES) throw new TypeError('a WebAuthn user handle (the user id) must be 1 to 64 bytes');
    const options = await webauthnLib().generateRegistrationOptions({
      rpName: this.rpName,
      rpID: this.rpId,
      // The user handle is the user id (not the email): it is stored on the authenticator and comes
      // back in passwordless assertions, so it must not carry personal data.
      userID: new Uint8Array(userHandle),
      userName: input.user.email,
      userDisplayName: input.user.name ?? input.user.email,
      challenge: challengeBytes(this.randomChallenge()),
      timeout: this.challengeTtlSeconds * 1000,
      attestationType: 'none',
      excludeCredentials: input.existing.map((c) => ({ id: c.id, transports: sanitiseTransports(c.transports) })),
      // A fresh object per call: the library writes `requireResidentKey` into it.
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    await this.book.put({ tenantId: input.user.tenantId, purpose: 'register', binding: input.binding }, options.challenge, input.user.id);
    return options;
  }

  /**
   * Verifies a registration response and returns the credential to store (not stored here). The
   * challenge is consumed first, so a replayed response fails even if verification would pass.
   */
  async verifyRegistration(input: {
    user: WebauthnUserRef;
    binding: string;
    response: RegistrationResponseJSON;
    name: string;
    /** The user's credentials, to refuse registering one twice. */
    existing?: readonly WebauthnCredentialRecord[];
  }): Promise<RegistrationResult> {
    const taken = await this.book.take({ tenantId: input.user.tenantId, purpose: 'register', binding: input.binding }, input.user.id);
    if (!taken.ok) return taken;
    const info = await this.checkRegistration(input.response, taken.challenge);
    if (!info) return fail('invalid_response');
    const { credential } = info;
    if (input.existing?.some((c) => c.id === credential.id)) return fail('already_registered');
    const at = new Date(this.now());
    return {
      ok: true,
      userVerified: info.userVerified,
      credential: {
        id: credential.id,
        publicKey: Buffer.from(credential.publicKey).toString('base64url'),
        counter: credential.counter,
        transports: sanitiseTransports(credential.transports),
        backedUp: info.credentialBackedUp,
        name: sanitiseName(input.name),
        createdAt: at,
        lastUsedAt: null,
      },
    };
  }

  /**
   * Options for `navigator.credentials.get()`. For a second factor the user's credentials are listed;
   * for passwordless the list is empty (the browser offers its discoverable passkeys) and user
   * verification is required, since the passkey then stands for both factors.
   */
  async authenticationOptions(input: AuthenticationOptionsInput): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const passwordless = input.purpose === 'passwordless';
    const options = await webauthnLib().generateAuthenticationOptions({
      rpID: this.rpId,
      challenge: challengeBytes(this.randomChallenge()),
      timeout: this.challengeTtlSeconds * 1000,
      userVerification: passwordless ? 'required' : 'preferred',
      allowCredentials: passwordless ? [] : input.user.credentials.map((c) => ({ id: c.id, transports: sanitiseTransports(c.transports) })),
    });
    const tenantId = passwordless ? input.tenantId : input.user.tenantId;
    const userId = passwordless ? null : input.user.id;
    await this.book.put({ tenantId, purpose: input.purpose, binding: input.binding }, options.challenge, userId);
    return options;
  }

  /**
   * Verifies an assertion. Order matters: the challenge is consumed first (single use, even when the
   * rest fails), then the credential must be the user's, then the library checks type, challenge,
   * origin, RP ID hash, UP (and UV when required) and the signature, and only then the counter: a
   * regression is reported only for a correctly signed assertion, so a forgery cannot raise a false
   * clone alarm. Nothing is written: pass a success to `commitAuthentication`.
   */
  async verifyAuthentication(input: VerifyAuthenticationInput): Promise<AuthenticationResult> {
    const taken = await this.book.take({ tenantId: input.user.tenantId, purpose: input.purpose, binding: input.binding }, input.user.id);
    if (!taken.ok) return taken;
    const responseId: unknown = input.response?.id;
    if (typeof responseId !== 'string') return fail('invalid_response');
    const stored = input.credentials.find((c) => c.id === responseId);
    if (!stored) return fail('unknown_credential');
    const info = await this.checkAssertion(input.response, taken.challenge, stored, input.requireUserVerification);
    if (!info) return fail('invalid_response');
    // WebAuthn L2 §7.2 step 21: a counter that does not grow (when either side counts) may be a clone.
    if ((info.newCounter > 0 || stored.counter > 0) && info.newCounter <= stored.counter) return fail('counter_regression');
    const userHandle = decodeUserHandle(input.response.response?.userHandle);
    // A discoverable credential names its user; it must be the user the credential is stored under.
    if (userHandle !== null && userHandle !== input.user.id) return fail('user_mismatch');
    if (input.purpose === 'passwordless' && userHandle === null) return fail('user_mismatch');
    return {
      ok: true,
      credentialId: stored.id,
      newCounter: info.newCounter,
      userVerified: info.userVerified,
      userHandle,
      backedUp: info.credentialBackedUp,
    };
  }

  /** The library's checks; null when it refuses. Its messages quote the challenge and origins: they stay here. */
  private async checkRegistration(response: RegistrationResponseJSON, challenge: string): Promise<RegistrationInfo | null> {
    try {
      const verified = await webauthnLib().verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: [...this.origins],
        expectedRPID: this.rpId,
        expectedType: 'webauthn.create',
        requireUserPresence: true,
        // 'preferred' at registration: a security key without a PIN is still a valid second factor.
        requireUserVerification: false,
      });
      return verified.verified ? verified.registrationInfo : null;
    } catch {
      return null;
    }
  }

  private async checkAssertion(
    response: AuthenticationResponseJSON,
    challenge: string,
    stored: WebauthnCredentialRecord,
    requireUserVerification: boolean,
  ): Promise<AssertionInfo | null> {
    try {
      const verified = await webauthnLib().verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: [...this.origins],
        expectedRPID: this.rpId,
        expectedType: 'webauthn.get',
        // Counter 0 here: the library compares counters before the signature; we compare after it.
        credential: { id: stored.id, publicKey: toPublicKeyBytes(stored.publicKey), counter: 0, transports: sanitiseTransports(stored.transports) },
        requireUserVerification,
      });
      return verified.verified ? verified.authenticationInfo : null;
    } catch {
      return null;
    }
  }
}

function fail(reason: WebauthnFailureReason): WebauthnFailure {
  return { ok: false, reason };
}
