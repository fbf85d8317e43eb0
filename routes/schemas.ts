import { z } from 'zod';
import { policyPatchSchema } from '../lib/admin/policy';
import { TOKEN_PATTERN } from '../lib/account/tokens';
import { fields } from './http';
import { assertionSchema, credentialId, registrationSchema } from './passkey-shapes';

// Every request schema the routes validate with, in one module: the routes import them from here and
// scripts/openapi.ts builds docs/openapi.json from the same objects (and ROUTES below), so the
// document cannot drift from what the server accepts.

const name = z.string().trim().min(1).max(200);
const empty = z.strictObject({});
const code6 = z.strictObject({ code: z.string().regex(/^[0-9]{6}$/) });

// --- /auth (routes/auth.ts) ---
export const loginBody = z.strictObject({ tenant: fields.tenant, email: fields.email, password: fields.password });
export const loginBodyDefaultTenant = z.strictObject({ tenant: fields.tenant.optional(), email: fields.email, password: fields.password });
export const codeBody = z.union([
  z.strictObject({ method: fields.method, code: fields.code }),
  // A passkey answers with the JSON of `navigator.credentials.get()` (options from /mfa/webauthn/authenticate/options).
  z.strictObject({ method: z.literal('webauthn'), response: assertionSchema }),
]);
/** The login challenge may also ask to remember this browser (tenant policy `rememberDeviceDays`). */
const rememberField = { remember: z.boolean().optional() };
export const challengeBody = z.union([codeBody.options[0].extend(rememberField), codeBody.options[1].extend(rememberField)]);

// --- /auth/mfa (routes/mfa.ts, routes/oob.ts) ---
export const mfaEmpty = empty;
export const totpCodeBody = code6;
export const methodOnlyBody = z.strictObject({ method: fields.method });
export const oobCodeBody = code6;
export const phoneBody = z.strictObject({ phone: z.string().min(3).max(32), country: z.string().regex(/^[A-Za-z]{2}$/).optional() });

// --- /auth account lifecycle (routes/account.ts) ---
// Bounded here only against abuse (argon2 input); the configured 8..256 character rule is in lib/.
const newPassword = z.string().max(1024);
const token = z.string().regex(TOKEN_PATTERN);
export const passwordBody = z.strictObject({ currentPassword: z.string().min(1).max(1024), newPassword });
export const registerBody = z.strictObject({ tenant: fields.tenant, email: fields.email, password: newPassword, name: name.optional() });
export const forgotBody = z.strictObject({ tenant: fields.tenant, email: fields.email });
export const verifyBody = z.strictObject({ token });
export const resetBody = z.strictObject({ token, newPassword });
export const accountEmpty = empty;

// --- /admin (routes/admin.ts) ---
export const createTenantBody = z.strictObject({
  slug: fields.tenant,
  name,
  policy: policyPatchSchema.optional(),
  admin: z.strictObject({ email: fields.email, name: name.optional() }),
});
export const createUserBody = z.strictObject({ email: fields.email, name: name.optional(), role: z.enum(['user', 'admin']).default('user') });
export const adminEmpty = empty;
export const nonEmptyPolicyPatch = policyPatchSchema.refine((p) => Object.keys(p).length > 0, 'nothing to change');
export const userId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);
// Query strings: unknown keys are ignored (never interpreted), known ones must be single strings.
export const listQuery = z.object({ limit: z.string().regex(/^\d{1,4}$/).optional(), after: userId.optional() });
export const auditQuery = z.object({ limit: z.string().regex(/^\d{1,4}$/).optional(), before: z.iso.datetime({ offset: true }).optional() });

// --- /auth/mfa/webauthn and /auth/passkey (routes/webauthn.ts) ---
const passkeyName = z.string().min(1).max(200);
export const webauthnEmpty = empty;
export const passkeyRegisterBody = z.strictObject({ response: registrationSchema, name: passkeyName.optional() });
export const passkeyRenameBody = z.strictObject({ name: passkeyName });
export const passkeyOptionsBody = z.strictObject({ tenant: fields.tenant });
export const passkeyLoginBody = z.strictObject({ tenant: fields.tenant, response: assertionSchema });
export { credentialId };

// --- /auth/sessions, /auth/devices (routes/sessions.ts) ---
export const sessionIdParam = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);

/** Who may call a route: anyone, a pending login, an authenticated session, a fresh step-up, an admin at aal 2. */
export type RouteAccess = 'public' | 'pending' | 'session' | 'step_up' | 'admin';

export interface RouteSpec {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Full path as mounted in the README (`/auth` and `/admin`), Express parameters as `:name`. */
  path: string;
  summary: string;
  access: RouteAccess;
  body?: z.ZodType;
  query?: z.ZodType;
  params?: Record<string, z.ZodType>;
  /** The success status and what it carries (the response types are in client/types.ts). */
  ok: { status: number; description: string; type?: string };
  tags: string[];
}

const slug = { slug: fields.tenant };
const slugAndUser = { slug: fields.tenant, id: userId };
const oob = (channel: 'email' | 'sms'): RouteSpec[] => [
  { method: 'post', path: `/auth/mfa/${channel}/send`, summary: `Send a ${channel} code (login challenge, step-up or enrolment)`, access: 'pending', body: mfaEmpty, ok: { status: 200, description: 'Code sent', type: 'CodeSent' }, tags: ['mfa'] },
  {
    method: 'post',
    path: `/auth/mfa/${channel}/enroll`,
    summary: `Start ${channel} code enrolment`,
    access: 'session',
    body: channel === 'sms' ? phoneBody : mfaEmpty,
    ok: { status: 200, description: 'Code sent to the address or number', type: 'CodeSent' },
    tags: ['mfa'],
  },
  { method: 'post', path: `/auth/mfa/${channel}/verify`, summary: `Confirm ${channel} code enrolment`, access: 'session', body: oobCodeBody, ok: { status: 200, description: 'Enabled', type: 'EnrolmentConfirmed' }, tags: ['mfa'] },
];

/** Every route of `stepUp.router` (at `/auth`) and `stepUp.adminRouter` (at `/admin`). */
export const ROUTES: RouteSpec[] = [
  { method: 'post', path: '/auth/login', summary: 'Password login (`tenant` optional with the defaultTenant option)', access: 'public', body: loginBody, ok: { status: 200, description: 'Authenticated (aal 1) or the pending state with its methods', type: 'LoginResponse' }, tags: ['auth'] },
  { method: 'post', path: '/auth/mfa/challenge', summary: "The pending login's second factor", access: 'pending', body: challengeBody, ok: { status: 200, description: 'Authenticated, or enrollment_required', type: 'ChallengeResponse' }, tags: ['auth'] },
  { method: 'post', path: '/auth/step-up', summary: 'A fresh proof for this session (new session id)', access: 'session', body: codeBody, ok: { status: 200, description: 'New aal and verification time', type: 'StepUpResponse' }, tags: ['auth'] },
  { method: 'get', path: '/auth/session', summary: 'What the client may know of its session', access: 'public', ok: { status: 200, description: 'The session state', type: 'SessionView' }, tags: ['auth'] },
  { method: 'post', path: '/auth/logout', summary: 'End this session', access: 'public', ok: { status: 204, description: 'Ended' }, tags: ['auth'] },
  { method: 'post', path: '/auth/logout-all', summary: "End every session of this user", access: 'session', ok: { status: 204, description: 'Ended' }, tags: ['auth'] },
  { method: 'post', path: '/auth/mfa/totp/enroll', summary: 'Start TOTP enrolment (secret, otpauth URI, QR code)', access: 'session', body: mfaEmpty, ok: { status: 200, description: 'Inactive until verified', type: 'TotpEnrolment' }, tags: ['mfa'] },
  { method: 'post', path: '/auth/mfa/totp/verify', summary: 'Confirm TOTP enrolment', access: 'session', body: totpCodeBody, ok: { status: 200, description: 'Enabled, with backup codes shown once', type: 'EnrolmentConfirmed' }, tags: ['mfa'] },
  { method: 'get', path: '/auth/mfa/status', summary: "The user's factors", access: 'session', ok: { status: 200, description: 'Factors and backup codes left', type: 'MfaStatus' }, tags: ['mfa'] },
  { method: 'post', path: '/auth/mfa/backup-codes/regenerate', summary: 'New backup codes (the old ones stop working)', access: 'step_up', body: mfaEmpty, ok: { status: 200, description: 'Shown once', type: 'BackupCodes' }, tags: ['mfa'] },
  { method: 'post', path: '/auth/mfa/disable', summary: 'Remove a factor', access: 'step_up', body: methodOnlyBody, ok: { status: 200, description: 'The factors left', type: 'MfaStatus' }, tags: ['mfa'] },
  ...oob('email'),
  ...oob('sms'),
  { method: 'post', path: '/auth/mfa/webauthn/register/options', summary: 'Passkey registration options', access: 'session', body: webauthnEmpty, ok: { status: 200, description: 'PublicKeyCredentialCreationOptionsJSON' }, tags: ['passkeys'] },
  { method: 'post', path: '/auth/mfa/webauthn/register/verify', summary: 'Register a passkey', access: 'session', body: passkeyRegisterBody, ok: { status: 200, description: 'Registered' }, tags: ['passkeys'] },
  { method: 'post', path: '/auth/mfa/webauthn/authenticate/options', summary: 'Passkey assertion options (login challenge or step-up)', access: 'pending', body: webauthnEmpty, ok: { status: 200, description: 'PublicKeyCredentialRequestOptionsJSON' }, tags: ['passkeys'] },
  { method: 'get', path: '/auth/mfa/webauthn/credentials', summary: "The user's passkeys", access: 'session', ok: { status: 200, description: 'Passkeys' }, tags: ['passkeys'] },
  { method: 'patch', path: '/auth/mfa/webauthn/credentials/:id', summary: 'Rename a passkey', access: 'session', params: { id: credentialId }, body: passkeyRenameBody, ok: { status: 200, description: 'Renamed' }, tags: ['passkeys'] },
  { method: 'delete', path: '/auth/mfa/webauthn/credentials/:id', summary: 'Remove a passkey', access: 'step_up', params: { id: credentialId }, ok: { status: 200, description: 'Removed' }, tags: ['passkeys'] },
  { method: 'post', path: '/auth/passkey/options', summary: 'Passwordless sign-in options', access: 'public', body: passkeyOptionsBody, ok: { status: 200, description: 'PublicKeyCredentialRequestOptionsJSON' }, tags: ['passkeys'] },
  { method: 'post', path: '/auth/passkey/login', summary: 'Passwordless sign-in with a passkey', access: 'public', body: passkeyLoginBody, ok: { status: 200, description: 'Authenticated', type: 'ChallengeResponse' }, tags: ['passkeys'] },
  { method: 'post', path: '/auth/password', summary: 'Change the password (other sessions end)', access: 'session', body: passwordBody, ok: { status: 200, description: 'Changed' }, tags: ['account'] },
  { method: 'get', path: '/auth/security-events', summary: "The user's latest security events", access: 'session', ok: { status: 200, description: 'Events' }, tags: ['account'] },
  { method: 'post', path: '/auth/register', summary: 'Self-registration (tenant open to sign-up)', access: 'public', body: registerBody, ok: { status: 202, description: 'Accepted (same answer for every address)' }, tags: ['account'] },
  { method: 'post', path: '/auth/verify-email', summary: 'Confirm an email address with the mailed token', access: 'public', body: verifyBody, ok: { status: 200, description: 'Verified' }, tags: ['account'] },
  { method: 'post', path: '/auth/verify-email/resend', summary: 'Mail a new verification link (pending login)', access: 'pending', body: accountEmpty, ok: { status: 202, description: 'Accepted' }, tags: ['account'] },
  { method: 'post', path: '/auth/password/forgot', summary: 'Mail a password-reset link', access: 'public', body: forgotBody, ok: { status: 202, description: 'Accepted (same answer for every address)' }, tags: ['account'] },
  { method: 'post', path: '/auth/password/reset', summary: 'Set a new password with the mailed token', access: 'public', body: resetBody, ok: { status: 200, description: 'Reset' }, tags: ['account'] },
  { method: 'get', path: '/auth/sessions', summary: 'Where the user is signed in', access: 'session', ok: { status: 200, description: 'Sessions (opaque ids)' }, tags: ['sessions'] },
  { method: 'delete', path: '/auth/sessions/:id', summary: 'End one of the sessions', access: 'session', params: { id: sessionIdParam }, ok: { status: 204, description: 'Ended' }, tags: ['sessions'] },
  { method: 'get', path: '/auth/devices', summary: 'Remembered browsers', access: 'session', ok: { status: 200, description: 'Devices' }, tags: ['sessions'] },
  { method: 'delete', path: '/auth/devices/:id', summary: 'Forget a remembered browser', access: 'session', params: { id: sessionIdParam }, ok: { status: 204, description: 'Forgotten' }, tags: ['sessions'] },
  { method: 'post', path: '/admin/tenants', summary: 'Create a tenant and its first admin (superadmin)', access: 'admin', body: createTenantBody, ok: { status: 201, description: 'Created, with the admin\'s initial password shown once', type: 'TenantCreated' }, tags: ['admin'] },
  { method: 'get', path: '/admin/tenants', summary: 'Tenants in scope', access: 'admin', ok: { status: 200, description: 'Tenants', type: 'TenantView' }, tags: ['admin'] },
  { method: 'get', path: '/admin/tenants/:slug/users', summary: 'Users of a tenant, paged', access: 'admin', params: slug, query: listQuery, ok: { status: 200, description: 'A page of users', type: 'UserList' }, tags: ['admin'] },
  { method: 'post', path: '/admin/tenants/:slug/users', summary: 'Create a user', access: 'admin', params: slug, body: createUserBody, ok: { status: 201, description: 'Created, with the initial password shown once', type: 'UserCreated' }, tags: ['admin'] },
  { method: 'post', path: '/admin/tenants/:slug/users/:id/mfa/reset', summary: "Reset a user's factors (sessions end)", access: 'admin', params: slugAndUser, body: adminEmpty, ok: { status: 200, description: 'Reset' }, tags: ['admin'] },
  { method: 'post', path: '/admin/tenants/:slug/users/:id/disable', summary: 'Disable a user (sessions end)', access: 'admin', params: slugAndUser, body: adminEmpty, ok: { status: 200, description: 'Disabled', type: 'UserDisabledChange' }, tags: ['admin'] },
  { method: 'post', path: '/admin/tenants/:slug/users/:id/enable', summary: 'Enable a user', access: 'admin', params: slugAndUser, body: adminEmpty, ok: { status: 200, description: 'Enabled', type: 'UserDisabledChange' }, tags: ['admin'] },
  { method: 'patch', path: '/admin/tenants/:slug/policy', summary: "Change a tenant's policy", access: 'admin', params: slug, body: nonEmptyPolicyPatch, ok: { status: 200, description: 'The new policy', type: 'TenantView' }, tags: ['admin'] },
  { method: 'get', path: '/admin/tenants/:slug/audit', summary: "A tenant's audit trail, newest first", access: 'admin', params: slug, query: auditQuery, ok: { status: 200, description: 'A page of events', type: 'AuditList' }, tags: ['admin'] },
];
