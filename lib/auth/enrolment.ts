import type QRCodeModule from 'qrcode';
import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import { generateBackupCodes, macCode, newSalt, normaliseBackupCode } from '../crypto/codes';
import { decodeSecret, generateTotpSecret, otpauthUrl, verifyTotp } from '../factors/totp';
import { totpAad } from './verifiers';
import { stepUpError } from './step-up';
import { enrollableMethods, enrolledFactors, hasFactor, isPrivileged, mfaMandatory, stepUpMethods } from '../state/policy';
import type { Method, RequestMeta, TenantRecord, UserPatch, UserRecord, WebauthnCredentialRecord } from '../types';
import { sanitiseName, type RegistrationResponseJSON } from '../factors/webauthn';
import type { Subject } from './subject';

/**
 * May this subject bind a new factor now? (MFA-24, ATK-18, docs/SECURITY.md SR-2, SR-3)
 * - the policy must allow the method, and email is never an administrator's only factor (MFA-38);
 * - a user who has ANY factor (allowed by the policy or not) must prove one first: an authenticated
 *   session by a fresh step-up strong enough for the user, an enrolling session by the factor its
 *   login proved. The password alone never binds a factor next to (or instead of) an existing one.
 */
export function assertMayEnrol(ctx: StepUpContext, subject: Subject, method: Method): void {
  const { user, tenant, mfa } = subject;
  if (!enrollableMethods(user, tenant.policy, ctx.opts.emailOtpCountsAsSecondFactor, ctx.unavailableMethods).includes(method)) {
    if (method === 'email_otp' && tenant.policy.allowedMethods.includes(method)) {
      throw new StepUpError('method_not_allowed', 'Administrators need an authenticator app, a passkey or a phone before email codes.');
    }
    throw new StepUpError('method_not_allowed');
  }
  if (!hasFactor(user)) return;
  if (subject.kind === 'enrolling') {
    if (!mfa.pending?.proven) throw new StepUpError('step_up_required', 'Confirm one of your existing factors first.', { body: { methods: stepUpMethods(user, tenant.policy) } });
    return;
  }
  const err = stepUpError(user, tenant, mfa, ctx.now());
  if (err) throw err;
}

export interface TotpEnrolment {
  secret: string;
  otpauthUrl: string;
  qrCode: string;
  sealed: string;
}

/** A new secret, sealed for the session; inactive until a code confirms it. */
export async function startTotpEnrolment(ctx: StepUpContext, subject: Subject): Promise<TotpEnrolment> {
  if (subject.user.mfa.totp) throw new StepUpError('already_enrolled');
  const secret = generateTotpSecret();
  const url = otpauthUrl(ctx.opts.issuer, subject.user.email, secret, ctx.totp);
  // Loaded on first enrolment: most requests never need it (startup time: issue 15).
  const QRCode = require('qrcode') as typeof QRCodeModule;
  // No PNG row filter and zlib's default strategy instead of pngjs trying all five filters per row:
  // a smaller image (3.8 KB, not 5.1) for a fraction of the CPU (pngjs filters in plain JavaScript, on
  // the event loop; the deflate runs in the libuv pool).
  // (`filterType` is pngjs's option, passed through; @types/qrcode lists only the deflate ones.)
  const opts = { errorCorrectionLevel: 'M', margin: 2, scale: 6, rendererOpts: { filterType: 0, deflateStrategy: 0 } } as QRCodeModule.QRCodeToDataURLOptions;
  const qrCode = await QRCode.toDataURL(url, opts);
  return { secret, otpauthUrl: url, qrCode, sealed: ctx.box.seal(secret, totpAad(subject.user)) };
}

/** A fresh set of backup codes: returned once in clear, stored only as salted MACs. */
export function newBackupCodeSet(ctx: StepUpContext): { codes: string[]; patch: UserPatch } {
  const codes = generateBackupCodes();
  const salt = newSalt();
  const keyId = ctx.box.currentKeyId;
  const key = ctx.backupKey(keyId);
  const records = codes.map((c) => ({ hash: macCode(key, salt, normaliseBackupCode(c)!), usedAt: null }));
  return { codes, patch: { mfa: { backupCodes: records, backupCodeSalt: salt, backupCodeKeyId: keyId } } };
}

/**
 * Confirms the enrolment with a code from the app: the factor becomes active, the step is recorded
 * as used (the confirming code cannot log in again), and a new set of backup codes is issued.
 */
export async function confirmTotpEnrolment(ctx: StepUpContext, meta: RequestMeta, subject: Subject, sealed: string, code: string): Promise<string[]> {
  const { user } = subject;
  if (user.mfa.totp) throw new StepUpError('already_enrolled');
  const secret = ctx.box.open(sealed, totpAad(user));
  const step = verifyTotp(decodeSecret(secret), code, ctx.now(), -1, ctx.totp);
  if (step === null) throw new StepUpError('invalid_code');
  const backup = newBackupCodeSet(ctx);
  const at = new Date(ctx.now());
  await ctx.users.update(user.tenantId, user.id, {
    mfa: { ...backup.patch.mfa, totp: { secret: sealed, enrolledAt: at, lastStep: step }, lastVerifiedAt: at },
  });
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'mfa_enrolled', details: { method: 'totp' } });
  ctx.notify(user, { event: 'factor_added', method: 'totp' });
  return backup.codes;
}

export async function regenerateBackupCodes(ctx: StepUpContext, meta: RequestMeta, user: UserRecord): Promise<string[]> {
  if (!hasFactor(user)) throw new StepUpError('forbidden', 'Enrol a second factor first.');
  const backup = newBackupCodeSet(ctx);
  await ctx.users.update(user.tenantId, user.id, backup.patch);
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'backup_codes_regenerated' });
  ctx.notify(user, { event: 'backup_codes_regenerated' });
  return backup.codes;
}

const FACTOR_FIELD: Record<Exclude<Method, 'backup_code' | 'webauthn'>, 'totp' | 'email' | 'sms'> = { totp: 'totp', email_otp: 'email', sms_otp: 'sms' };

/**
 * Removes one factor. Backup codes go with the last factor; the last factor cannot go when the
 * policy (or the user's role) requires MFA.
 */
export async function disableMethod(ctx: StepUpContext, meta: RequestMeta, user: UserRecord, tenant: TenantRecord, method: Method): Promise<void> {
  const patch: UserPatch = { mfa: {} };
  if (method === 'backup_code') {
    if (!user.mfa.backupCodes.length) throw new StepUpError('not_found');
    patch.mfa = { backupCodes: [], backupCodeSalt: null, backupCodeKeyId: null };
  } else if (method === 'webauthn') {
    throw new StepUpError('not_found', 'Remove passkeys one by one under /auth/mfa/webauthn/credentials.');
  } else {
    const field = FACTOR_FIELD[method];
    if (!user.mfa[field]) throw new StepUpError('not_found');
    const remaining = enrolledFactors(user).filter((f) => f !== method);
    if (remaining.length === 0 && mfaMandatory(user, tenant.policy)) throw new StepUpError('policy_requires_mfa');
    // Email is never an administrator's only factor (MFA-38), removing the others included (SR-2).
    if (isPrivileged(user.roles) && !ctx.opts.emailOtpCountsAsSecondFactor && remaining.length > 0 && remaining.every((f) => f === 'email_otp')) {
      throw new StepUpError('policy_requires_mfa', 'Administrators cannot keep email codes as their only factor.');
    }
    patch.mfa = { [field]: null };
    if (remaining.length === 0) Object.assign(patch.mfa!, { backupCodes: [], backupCodeSalt: null, backupCodeKeyId: null });
  }
  await ctx.users.update(user.tenantId, user.id, patch);
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'mfa_disabled', details: { method } });
  ctx.notify(user, { event: 'factor_removed', method });
}

export function mfaStatus(user: UserRecord, maskPhone: (p: string) => string, passkeysAvailable = true) {
  const m = user.mfa;
  return {
    enabled: hasFactor(user),
    methods: {
      // `available`: whether this server can register and check passkeys (a relying party is configured).
      webauthn: { enabled: Boolean(m.webauthn?.length), available: passkeysAvailable, count: m.webauthn?.length ?? 0, credentials: (m.webauthn ?? []).map(passkeyView) },
      totp: { enabled: Boolean(m.totp), enrolledAt: m.totp?.enrolledAt ?? null },
      email_otp: { enabled: Boolean(m.email), enrolledAt: m.email?.enabledAt ?? null },
      sms_otp: { enabled: Boolean(m.sms), enrolledAt: m.sms?.enabledAt ?? null, phone: m.sms ? maskPhone(m.sms.phone) : null },
    },
    backupCodesRemaining: m.backupCodes.filter((c) => !c.usedAt).length,
    lastVerifiedAt: m.lastVerifiedAt ?? null,
  };
}


/** At most this many passkeys per user: the list goes into every options call (`allowCredentials`). */
export const MAX_PASSKEYS = 20;

/** A passkey as the API shows it (nothing in it is secret, but the public key and counter stay in). */
export function passkeyView(c: WebauthnCredentialRecord) {
  return {
    id: c.id,
    name: c.name,
    backedUp: c.backedUp,
    transports: [...c.transports],
    createdAt: new Date(c.createdAt).toISOString(),
    lastUsedAt: c.lastUsedAt ? new Date(c.lastUsedAt).toISOString() : null,
  };
}

/** The passkeys service, or 404 when the host configured no relying party (options.webauthn / allowedOrigins). */
export function passkeysOf(ctx: StepUpContext) {
  if (!ctx.webauthn) throw new StepUpError('not_found', 'Passkeys are not configured on this server.');
  return ctx.webauthn;
}

/**
 * Verifies a registration and stores the passkey. The first factor of an account (an enrolment
 * during `enrollment_required`, or a user without any factor) also gets a set of backup codes, like
 * TOTP; a further passkey leaves the existing set alone. The caller checked `assertMayEnrol`.
 */
export async function confirmPasskeyRegistration(
  ctx: StepUpContext,
  meta: RequestMeta,
  subject: Subject,
  response: RegistrationResponseJSON,
  name: string | undefined,
): Promise<{ credential: WebauthnCredentialRecord; backupCodes: string[] | null }> {
  const { user } = subject;
  const existing = user.mfa.webauthn ?? [];
  if (existing.length >= MAX_PASSKEYS) throw new StepUpError('conflict', `At most ${MAX_PASSKEYS} passkeys; remove one first.`);
  const r = await passkeysOf(ctx).verifyRegistration({ user, binding: subject.binding, response, name: name ?? defaultName(existing), existing });
  if (!r.ok) {
    if (r.reason === 'already_registered') throw new StepUpError('already_enrolled', 'This passkey is registered already.');
    // One answer for every other reason (the reason is for the log: it names no credential).
    ctx.logger.info('passkey registration refused', { reason: r.reason });
    throw new StepUpError('invalid_request', 'The passkey could not be verified; ask for new options and try again.');
  }
  const first = !hasFactor(user);
  const backup = first ? newBackupCodeSet(ctx) : null;
  const at = new Date(ctx.now());
  await writePasskeys(ctx, user, { mfa: { ...(backup?.patch.mfa ?? {}), webauthn: [...existing, r.credential], lastVerifiedAt: at } });
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'mfa_enrolled', details: { method: 'webauthn', credentialId: r.credential.id, userVerified: r.userVerified } });
  ctx.notify(user, { event: 'factor_added', method: 'webauthn' });
  return { credential: r.credential, backupCodes: backup?.codes ?? null };
}

function defaultName(existing: readonly WebauthnCredentialRecord[]): string {
  return existing.length === 0 ? 'Passkey' : `Passkey ${existing.length + 1}`;
}

/**
 * Writes a new passkey list computed from `user` as it was read: only if nobody changed the list
 * meanwhile (another tab registering, renaming or removing one), else 409 and nothing is written.
 */
async function writePasskeys(ctx: StepUpContext, user: UserRecord, patch: UserPatch): Promise<void> {
  if (!(await ctx.users.replaceWebauthnCredentials(user.tenantId, user.id, user.mfa.webauthn ?? [], patch))) {
    throw new StepUpError('conflict', 'Your passkeys changed meanwhile (another window?); reload and try again.');
  }
}

function findPasskey(user: UserRecord, id: string): WebauthnCredentialRecord {
  const c = (user.mfa.webauthn ?? []).find((x) => x.id === id);
  if (!c) throw new StepUpError('not_found');
  return c;
}

/** Renames one of the user's passkeys (the name is cleaned by the WebAuthn module's rules). */
export async function renamePasskey(ctx: StepUpContext, meta: RequestMeta, user: UserRecord, id: string, name: string): Promise<WebauthnCredentialRecord> {
  const c = findPasskey(user, id);
  const renamed = { ...c, name: sanitiseName(name) };
  await writePasskeys(ctx, user, { mfa: { webauthn: (user.mfa.webauthn ?? []).map((x) => (x.id === id ? renamed : x)) } });
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'webauthn_renamed', details: { credentialId: id } });
  return renamed;
}

/**
 * Removes one passkey, with the rules of `disableMethod`: the last factor cannot go under a
 * mandatory policy (or an admin role), an administrator cannot be left with email codes only, and
 * backup codes go with the last factor. The caller ends the user's other sessions.
 */
export async function removePasskey(ctx: StepUpContext, meta: RequestMeta, user: UserRecord, tenant: TenantRecord, id: string): Promise<void> {
  findPasskey(user, id);
  const left = (user.mfa.webauthn ?? []).filter((x) => x.id !== id);
  const remaining = enrolledFactors(user).filter((f) => f !== 'webauthn' || left.length > 0);
  if (remaining.length === 0 && mfaMandatory(user, tenant.policy)) throw new StepUpError('policy_requires_mfa');
  if (isPrivileged(user.roles) && !ctx.opts.emailOtpCountsAsSecondFactor && remaining.length > 0 && remaining.every((f) => f === 'email_otp')) {
    throw new StepUpError('policy_requires_mfa', 'Administrators cannot keep email codes as their only factor.');
  }
  const patch: UserPatch = { mfa: { webauthn: left } };
  if (remaining.length === 0) Object.assign(patch.mfa!, { backupCodes: [], backupCodeSalt: null, backupCodeKeyId: null });
  await writePasskeys(ctx, user, patch);
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'mfa_disabled', details: { method: 'webauthn', credentialId: id } });
  ctx.notify(user, { event: 'factor_removed', method: 'webauthn' });
}
