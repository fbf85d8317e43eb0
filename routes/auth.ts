import { Router, type Request, type Response } from 'express';
import type { PassportLike } from './passport-like';
import type { StepUpContext } from '../lib/context';
import { StepUpError } from '../lib/errors';
import { afterPassword, recordLoginFactor, type AfterPassword } from '../lib/auth/password';
import type { FactorResult } from '../lib/auth/second-factor';
import { afterLoginFactor, afterStepUp } from '../lib/state/machine';
import { enrollableMethods } from '../lib/state/policy';
import { afterRememberedDevice, rememberDevice, rememberOffer, useRememberedDevice } from '../lib/auth/devices';
import { readDeviceCookie, setDeviceCookie } from './device-cookie';
import { toSessionUser, type Method, type TenantRecord, type UserRecord } from '../lib/types';
import { requireAuth } from './guards';
import { afterFirstFactor, beginPending, dropPending, end, establish, factorTarget, mfaOf, sessionView } from './http-session';
import { authenticateWith, body, h, metaOf } from './http';
import { WEBAUTHN_STRATEGY } from './passkey-shapes';
import { isPhishingResistant } from '../lib/state/machine';

import { challengeBody, codeBody, loginBody, loginBodyDefaultTenant } from './schemas';

/** The Passport strategy that checks each code method (strategies/index.ts CODE_STRATEGIES). */
export const STRATEGY_BY_METHOD: Record<Method, string> = {
  webauthn: WEBAUTHN_STRATEGY,
  totp: 'stepup-totp',
  backup_code: 'stepup-backup-code',
  email_otp: 'stepup-email-otp',
  sms_otp: 'stepup-sms-otp',
};

function strategyOf(method: Method): string {
  return STRATEGY_BY_METHOD[method];
}

export function authRoutes(ctx: StepUpContext, passport: PassportLike, defaultTenant?: string): Router {
  const r = Router();

  /** `POST /auth/login {tenant, email, password}` -> authenticated (aal 1) or a pending state with its methods. */
  r.post(
    '/login',
    h(async (req, res) => {
      body(defaultTenant ? loginBodyDefaultTenant : loginBody, req);
      const { user, tenant } = await authenticateWith<{ user: UserRecord; tenant: TenantRecord }>(passport, 'stepup-password', req, res, 'invalid_credentials');
      const next = await afterPassword(ctx, metaOf(req), user, tenant);
      if (next.state === 'pending' && (await loginWithRememberedDevice(ctx, req, res, user, tenant, next))) return;
      const rememberDeviceDays = next.state === 'pending' ? rememberOffer(user, tenant, next.decision) : undefined;
      res.json(await afterFirstFactor(ctx, req, next, { rememberDeviceDays }));
    }),
  );

  /** `POST /auth/mfa/challenge {method, code}`: the pending login's second factor. */
  r.post(
    '/mfa/challenge',
    h(async (req, res) => {
      const input = body(challengeBody, req);
      let result: FactorResult;
      try {
        factorTargetForLogin(ctx, req);
        result = await authenticateWith<FactorResult>(passport, strategyOf(input.method), req, res, 'invalid_code');
      } catch (err) {
        // An expired login, or too many wrong codes: the login is dropped (start again with the password).
        if (err instanceof StepUpError && err.code === 'challenge_expired') await dropPending(req);
        throw err;
      }
      await completeLogin(ctx, req, result);
      const mfa = mfaOf(req)!;
      if (mfa.state === 'enrollment_required') return res.json({ state: mfa.state, methods: mfa.pending!.methods, expiresAt: new Date(mfa.pending!.expiresAt).toISOString() });
      // "Remember this browser": only after a factor that gave aal 2 (a remembered browser gives aal 2).
      const device = input.remember && result.aal === 2 ? await rememberDevice(ctx, metaOf(req), result.user, result.tenant, mfa.validFrom ?? ctx.now()) : null;
      if (device) setDeviceCookie(ctx, req, res, device);
      const remembered = device ? { rememberedDevice: { id: device.device.id, expiresAt: device.device.expiresAt.toISOString() } } : {};
      res.json({ state: 'authenticated', aal: result.aal, user: req.user, amr: mfa.amr ?? [], phishing_resistant: isPhishingResistant(mfa), ...remembered });
    }),
  );

  /** `POST /auth/step-up {method, code}`: a fresh proof for this authenticated session (new session id). */
  r.post(
    '/step-up',
    requireAuth(ctx),
    h(async (req, res) => {
      const input = body(codeBody, req);
      const result = await authenticateWith<FactorResult>(passport, strategyOf(input.method), req, res, 'invalid_code');
      const now = ctx.now();
      const mfa = afterStepUp(mfaOf(req)!, result.method, result.aal, result.tenant.policy, now);
      // Rotate the id at every privilege step (MFA-04); the absolute timeout still counts from login.
      await establish(ctx, req, toSessionUser(result.user, result.tenant.slug), mfa);
      await ctx.record(metaOf(req), { tenantId: result.user.tenantId, userId: result.user.id, actorId: result.user.id, type: 'step_up_succeeded', details: { method: result.method } });
      res.json({ aal: mfa.aal, mfaVerifiedAt: new Date(now).toISOString(), amr: mfa.amr ?? [], phishing_resistant: isPhishingResistant(mfa) });
    }),
  );

  r.get('/session', (req, res) => {
    res.set('Cache-Control', 'no-store');
    const view = sessionView(req);
    // Whether the last factor was a passkey (phishing resistant): what requireAuth({ phishingResistant }) checks.
    res.json(view.state === 'authenticated' ? { ...view, phishing_resistant: isPhishingResistant(mfaOf(req)) } : view);
  });

  r.post(
    '/logout',
    h(async (req, res) => {
      const owner = await end(ctx, req, res, 'logout');
      if (owner) await ctx.record(metaOf(req), { tenantId: owner.tenantId, userId: owner.userId, actorId: owner.userId, type: 'logout' });
      res.status(204).end();
    }),
  );

  r.post(
    '/logout-all',
    requireAuth(ctx),
    h(async (req, res) => {
      const u = req.user!;
      const meta = metaOf(req);
      const { at, ended } = await ctx.sessions.endAll(u.tenantId, u.id, 'logout_all', req.sessionID);
      // Remembered browsers go too ("sign out everywhere"); the mark also kills one a racing login writes back.
      await ctx.users.update(u.tenantId, u.id, { rememberedDevices: [], sessionsValidAfter: new Date(at) });
      await ctx.record(meta, { tenantId: u.tenantId, userId: u.id, actorId: u.id, type: 'logout_all', details: { sessions: ended.length + 1 } });
      await end(ctx, req, res, 'logout_all');
      res.status(204).end();
    }),
  );

  return r;
}

/**
 * A remembered browser of THIS user stands in for the second factor of a login that would go straight
 * to `authenticated` (never for enrolment, never for admins: lib/auth/devices.ts). The session gets aal 2
 * but no factor proof, so step-ups still ask for a factor. The device token is rotated (new cookie).
 */
async function loginWithRememberedDevice(
  ctx: StepUpContext,
  req: Request,
  res: Response,
  user: UserRecord,
  tenant: TenantRecord,
  next: Extract<AfterPassword, { state: 'pending' }>,
): Promise<boolean> {
  const meta = metaOf(req);
  const token = await useRememberedDevice(ctx, meta, user, tenant, next.decision, readDeviceCookie(ctx, req));
  if (!token) return false;
  await establish(ctx, req, toSessionUser(user, tenant.slug), afterRememberedDevice(next.mfa, token.device.id, tenant.policy, ctx.now()));
  setDeviceCookie(ctx, req, res, token);
  await ctx.record(meta, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'login_succeeded', details: { method: 'remembered_device', aal: 2 } });
  res.json({ state: 'authenticated', aal: 2, user: req.user, amr: ['remembered_device'], rememberedDevice: true });
  return true;
}

/** The challenge needs a pending login: 409/410 before any strategy runs. */
function factorTargetForLogin(ctx: StepUpContext, req: Parameters<typeof factorTarget>[1]): void {
  const t = factorTarget(ctx, req);
  if (t.purpose !== 'login') throw new StepUpError('no_pending_login');
}

/** A verified login factor: the state machine's next state, written by the HTTP session; audited. */
async function completeLogin(ctx: StepUpContext, req: Parameters<typeof factorTarget>[1], result: FactorResult): Promise<void> {
  const prev = mfaOf(req)!;
  const now = ctx.now();
  const enrollable = enrollableMethods(result.user, result.tenant.policy, ctx.opts.emailOtpCountsAsSecondFactor, ctx.unavailableMethods);
  const mfa = afterLoginFactor(prev, result.method, result.aal, result.tenant.policy, now, enrollable);
  if (mfa.state === 'enrollment_required') {
    // A disallowed factor proved the user: on to enrolling an allowed one (same session id: still pending).
    await beginPending(ctx, req, mfa);
    await ctx.record(metaOf(req), { tenantId: result.user.tenantId, userId: result.user.id, actorId: result.user.id, type: 'login_factor_phased_out', details: { method: result.method } });
    return;
  }
  await establish(ctx, req, toSessionUser(result.user, result.tenant.slug), mfa);
  await recordLoginFactor(ctx, metaOf(req), result.user, result.method, result.aal);
}

