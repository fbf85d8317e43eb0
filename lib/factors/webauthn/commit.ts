import type { UserStore } from '../../stores/ports';
import type { AuthenticationSuccess, WebauthnFailure, WebauthnUserRef } from './service';
import { decodeUserHandle } from './encoding';

/**
 * Stores the counter of a verified assertion with the store's compare-and-set, so two processes
 * verifying the same (or a cloned) authenticator's assertions concurrently cannot both succeed:
 * `verifyAuthentication` compared against the counter it was given, this re-checks atomically.
 * A refusal is `counter_regression` (a clone, a raced duplicate, or a credential removed meanwhile):
 * the caller refuses the login and audits it.
 *
 * @example
 * const r = await webauthn.verifyAuthentication({ user, credentials: user.mfa.webauthn ?? [], ... });
 * if (r.ok && (await commitAuthentication(users, user, r, new Date(now()))).ok) { ... aal 2 ... }
 */
export async function commitAuthentication(
  users: Pick<UserStore, 'advanceWebauthnCounter'>,
  user: WebauthnUserRef,
  result: AuthenticationSuccess,
  at: Date,
): Promise<{ ok: true } | WebauthnFailure> {
  const moved = await users.advanceWebauthnCounter(user.tenantId, user.id, result.credentialId, result.newCounter, at);
  return moved ? { ok: true } : { ok: false, reason: 'counter_regression' };
}

/**
 * Reads, WITHOUT verifying anything, which credential and user an assertion claims: only to find the
 * user to load for passwordless sign-in (the user handle) before `verifyAuthentication` checks it all.
 * Null when the body does not even look like an assertion.
 */
export function peekAssertion(response: unknown): { credentialId: string; userId: string | null } | null {
  if (typeof response !== 'object' || response === null) return null;
  const r = response as { id?: unknown; response?: { userHandle?: unknown } };
  if (typeof r.id !== 'string' || r.id === '' || typeof r.response !== 'object' || r.response === null) return null;
  return { credentialId: r.id, userId: decodeUserHandle(r.response.userHandle) };
}
