/** What describeError reads from an ApiError (duck-typed: this module imports nothing, so tests can load it). */
interface ApiErrorLike {
  name: string;
  code: string;
  message: string;
  retryAfter?: number;
}

function isApiError(err: unknown): err is ApiErrorLike {
  return err instanceof Error && err.name === 'ApiError' && typeof (err as Partial<ApiErrorLike>).code === 'string';
}

/**
 * Every error code of the plugin's table (README "Errors"), as a sentence a person can act on.
 * Pages may override a code where the context says more ("that tenant slug is taken").
 */
export const ERROR_SENTENCES: Record<string, string> = {
  invalid_request: 'Some of the information you entered is not valid. Check the form and try again.',
  invalid_credentials: 'The organisation, email or password is not correct.',
  invalid_code: 'That code is not correct. Check it and try again; codes from an authenticator app change every 30 seconds.',
  unauthenticated: 'Your session has ended. Please sign in again.',
  step_up_required: 'Please confirm it’s you with your second factor to continue.',
  forbidden: 'You are not allowed to do that.',
  policy_requires_mfa: 'Your organisation requires two-step verification, so you cannot remove your last second factor. Add another one first.',
  method_not_allowed: 'Your organisation does not allow this verification method. Choose another one.',
  not_found: 'We could not find what you asked for. It may have been removed.',
  no_pending_login: 'There is no sign-in waiting for a code. Please sign in again with your password.',
  already_enrolled: 'This method is already set up on your account.',
  conflict: 'That already exists, or the same action is still running. Try again in a moment.',
  challenge_expired: 'This sign-in took too long or had too many wrong codes. Please start again with your password.',
  payload_too_large: 'What you entered is too long.',
  unsupported_media_type: 'The app sent the request in a form the server does not accept. Reload the page and try again.',
  account_locked: 'Too many wrong codes: your account is locked for now, to protect it.',
  rate_limited: 'Too many attempts. Please wait a little and try again.',
  internal_error: 'Something went wrong on our side. Please try again.',
  delivery_failed: 'We could not send the code. Please try again in a moment.',
  unavailable: 'The service is temporarily unavailable. Please try again in a moment.',
  network: 'We could not reach the server. Check your connection and try again.',
};

const FIELD_NAMES: Record<string, string> = {
  tenant: 'organisation',
  email: 'email address',
  password: 'password',
  code: 'code',
  phone: 'phone number',
  slug: 'short name',
  name: 'name',
  newPassword: 'new password',
  currentPassword: 'current password',
  gracePeriodDays: 'grace period',
  stepUpMaxAgeSeconds: 'step-up window',
  allowedMethods: 'allowed methods',
  'admin.email': 'administrator’s email address',
};

/** "in 15 minutes" / "in 40 seconds" for a Retry-After. */
export function waitText(seconds: number): string {
  if (seconds >= 90) {
    const minutes = Math.ceil(seconds / 60);
    return `in ${minutes} minute${minutes === 1 ? '' : 's'}`;
  }
  return `in ${seconds} second${seconds === 1 ? '' : 's'}`;
}

/** A human sentence for any thrown value; never the raw code. */
export function describeError(err: unknown, overrides: Record<string, string> = {}): string {
  if (!isApiError(err)) return ERROR_SENTENCES.internal_error!;
  const custom = overrides[err.code];
  if (custom) return custom;
  if (err.code === 'invalid_request') {
    const m = /"([A-Za-z.]+)"/.exec(err.message);
    const field = m ? FIELD_NAMES[m[1]!] : undefined;
    // The server's own sentence when it explains a rule (password length, slug characters).
    if (/^The /.test(err.message) && err.message.length < 160) return err.message;
    if (field) return `The ${field} is not valid. Check it and try again.`;
  }
  // The server's own reason when it gives one ("Administrators need an authenticator app or a phone before email codes.").
  if (err.code === 'method_not_allowed' && err.message && !/not allowed here\.?$/.test(err.message) && err.message.length < 200) return err.message;
  if ((err.code === 'account_locked' || err.code === 'rate_limited') && err.retryAfter) {
    return `${ERROR_SENTENCES[err.code]} You can try again ${waitText(err.retryAfter)}.`;
  }
  return ERROR_SENTENCES[err.code] ?? ERROR_SENTENCES.internal_error!;
}

export const METHOD_LABELS: Record<string, string> = {
  webauthn: 'Passkey',
  totp: 'Authenticator app',
  backup_code: 'Backup code',
  email_otp: 'Email code',
  sms_otp: 'Text message (SMS) code',
};

/** Audit event types as short sentences for the security page. */
export const EVENT_LABELS: Record<string, string> = {
  login_succeeded: 'Signed in',
  login_failed: 'Failed sign-in attempt',
  login_password_verified: 'Password accepted, second factor requested',
  mfa_challenge_failed: 'Wrong verification code entered',
  mfa_code_sent: 'Verification code sent',
  mfa_enrolled: 'Second factor added',
  webauthn_counter_regression: 'A passkey answered with an old counter (possible copy): refused',
  webauthn_renamed: 'Passkey renamed',
  mfa_disabled: 'Second factor removed',
  backup_code_used: 'Backup code used',
  backup_codes_regenerated: 'New backup codes generated',
  account_locked: 'Account locked after too many wrong codes',
  admin_mfa_reset: 'Two-step verification reset by an administrator',
  user_provisioned: 'Account created',
  step_up_succeeded: 'Identity confirmed for a sensitive action',
  logout_all: 'Signed out everywhere',
  password_changed: 'Password changed',
  password_change_failed: 'Failed password change',
  totp_replay: 'An authenticator code was reused (refused)',
  role_granted: 'Role granted',
  tenant_created: 'Organisation created',
  policy_updated: 'Security policy changed',
  user_registered: 'Account created by sign-up',
  registration_duplicate: 'Someone tried to sign up again with this address',
  registration_refused: 'Sign-up refused: this organisation does not accept new accounts',
  email_verification_sent: 'Email confirmation link sent',
  email_verified: 'Email address confirmed',
  password_reset_requested: 'Password reset link requested',
  password_reset: 'Password reset with an emailed link',
  lifecycle_mail_suppressed: 'Email not sent: too many requests for this address',
  user_disabled: 'Account disabled by an administrator',
  user_enabled: 'Account enabled again by an administrator',
};

/** What a password step led to (`login_password_verified` details.next), when it was not a code. */
const PASSWORD_NEXT: Record<string, string> = {
  verification_required: 'Password accepted, email address not confirmed yet',
  enrollment_required: 'Password accepted, second factor setup required',
};

/** An audit event as a short sentence (its details say more for some types). */
export function eventLabel(type: string, details: Record<string, unknown> = {}): string {
  if (type === 'login_password_verified' && typeof details.next === 'string' && PASSWORD_NEXT[details.next]) return PASSWORD_NEXT[details.next]!;
  return EVENT_LABELS[type] ?? type.replace(/_/g, ' ');
}

/**
 * The account-lifecycle pages' sentences for codes whose general sentence would mislead there
 * (`invalid_code` is "that code is not correct" elsewhere; here it is a link).
 */
export const LIFECYCLE_SENTENCES = {
  /** Registration, forgot and resend need a mailer: without one they answer 404 for every input. */
  unavailable: 'Account self-service is not available on this server: it has no way to send email. Ask your organisation’s administrator.',
  verifyLinkInvalid: 'This confirmation link is not valid or has expired. Links work once, for 24 hours, and asking for a new one makes older links stop working. Sign in to ask for a new link.',
  resetLinkInvalid: 'This reset link is not valid or has expired. Links work once, for 30 minutes, and asking again makes older links stop working. Ask for a new link.',
  alreadyVerified: 'Your email address is already confirmed. Sign in again to continue.',
  pendingExpired: 'This sign-in has expired. Sign in again to ask for a new link.',
};
