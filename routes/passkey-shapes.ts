import { z } from 'zod';

// Shared by the passkey routes (routes/webauthn.ts) and the challenge/step-up routes (routes/auth.ts),
// so no route file imports another.

/** The Passport names of the passkey strategies (strategies/index.ts). */
export const WEBAUTHN_STRATEGY = 'stepup-webauthn';
export const PASSKEY_LOGIN_STRATEGY = 'stepup-passkey';

// Shapes only (bounded strings, no operator objects): the WebAuthn library checks the content.
const b64 = z.string().min(1).max(8192).regex(/^[A-Za-z0-9_-]*={0,2}$/);
export const credentialId = z.string().min(1).max(1366).regex(/^[A-Za-z0-9_-]+$/);
export const assertionSchema = z.looseObject({
  id: credentialId,
  rawId: credentialId,
  type: z.literal('public-key'),
  response: z.looseObject({ clientDataJSON: b64, authenticatorData: b64, signature: b64, userHandle: b64.optional() }),
  clientExtensionResults: z.looseObject({}).optional(),
  authenticatorAttachment: z.string().max(32).optional(),
});
export const registrationSchema = z.looseObject({
  id: credentialId,
  rawId: credentialId,
  type: z.literal('public-key'),
  response: z.looseObject({ clientDataJSON: b64, attestationObject: b64, transports: z.array(z.string().max(32)).max(10).optional() }),
  clientExtensionResults: z.looseObject({}).optional(),
  authenticatorAttachment: z.string().max(32).optional(),
});
