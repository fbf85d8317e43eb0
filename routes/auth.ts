import { Router, type Request } from 'express';
import type { PassportLike } from './passport-like';
import { z } from 'zod';
import type { StepUpContext } from '../lib/context';
import { StepUpError } from '../lib/errors';
import { requireAuth } from './guards';
import { authenticateWith } from './passport';
import { establish, endSession, regenerate, saveSession } from './http-session';
import { authenticatedSession, checkPending, decideAfterPassword, pendingSession, type MfaSession } from '../lib/state/machine';
import { randomId } from '../lib/crypto/codes';
import { toSessionUser, userMethods, type Method, type TenantRecord, type UserRecord } from '../lib/types';
import { body, fields, h } from './http';

const loginBody = z.strictObject({ tenant: fields.tenant, email: fields.email, password: fields.password });
const codeBody = z.strictObject({ method: fields.method, code: fields.code });

export const STRATEGY_BY_METHOD: Record<Method, string> = {
  webauthn: 'stepup-webauthn',
  totp: 'stepup-totp',
  backup_code: 'stepup-backup-code',
  email_otp: 'stepup-email-otp',
  sms_otp: 'stepup-sms-otp',
};

/** The aal a verified method gives (email codes are a weak factor unless the options say otherwise). */
export function aalOf(ctx: StepUpContext, method: Method): 1 | 2 {
  return method === 'email_otp' && !ctx.opts.emailOtpCountsAsSecondFactor ? 1 : 2;
}

/** Moves the session to `authenticated` after a verified factor (new session id) and answers. */
export async function completeWithFactor(ctx: StepUpContext, req: Request, user: UserRecord, tenant: TenantRecord, aal: 1 | 2, method: string): Promise<MfaSession> {
  const prev = req.session.mfa;
  const mfa = authenticatedSession(aal, ctx.now(), tenant.policy, prev);
  mfa.mfaVerifiedAt = ctx.now();
  await establish(ctx, req, toSessionUser(user, tenant.slug), mfa);
  await ctx.users.update(user.tenantId, user.id, { mfa: { lastVerifiedAt: new Date(ctx.now()) } });
  await ctx.record(req, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'login_succeeded', details: { method, aal } });
  return mfa;
}

function sessionView(req: Request) {
  const mfa = req.session?.mfa;
  if (req.user && mfa?.state === 'authenticated') {
    return {
      state: 'authenticated',
      aal: mfa.aal,
      user: req.user,
      mfaVerifiedAt: mfa.mfaVerifiedAt ? new Date(mfa.mfaVerifiedAt).toISOString() : null,
      ...(mfa.enrollmentDeadline ? { enrollmentDeadline: new Date(mfa.enrollmentDeadline).toISOString() } : {}),
    };
  }
  if (mfa?.pending && mfa.state === 'verification_required') {
    return { state: mfa.state, expiresAt: new Date(mfa.pending.expiresAt).toISOString() };
  }
  if (mfa?.pending && (mfa.state === 'mfa_required' || mfa.state === 'enrollment_required')) {
    return { state: mfa.state, methods: mfa.pending.methods, expiresAt: new Date(mfa.pending.expiresAt).toISOString() };
  }
  return { state: 'anonymous' };
}

export function authRoutes(ctx: StepUpContext, passport: PassportLike): Router {
  const r = Router();

  r.post(
    '/login',
    h(async (req, res) => {
      const input = body(loginBody, req);
      const accountKey = `${input.tenant}:${input.email.trim().toLowerCase()}`;
      const ipKey = req.ip ?? 'unknown';
      await ctx.limits.passwordIp.assertOpen(ipKey);
      const attempt = await ctx.limits.passwordAccount.reserve(accountKey);
      let found: { user: UserRecord; tenant: TenantRecord };
      try {
        found = await authenticateWith(passport, 'stepup-password', req, res, 'invalid_credentials');
      } catch (err) {
        if (err instanceof StepUpError && err.code === 'invalid_credentials') {
          await ctx.limits.passwordAccount.failed(accountKey, attempt);
          await ctx.limits.passwordIp.hit(ipKey);
        }
        throw err;
      }
      await ctx.limits.passwordAccount.succeeded(accountKey);
      const { user, tenant } = found;
      const now = ctx.now();
      const decision = decideAfterPassword(user, tenant, now);
      if (decision.state === 'authenticated') {
        const mfa = authenticatedSession(1, now, tenant.policy, undefined, decision.enrollmentDeadline);
        await establish(ctx, req, toSessionUser(user, tenant.slug), mfa);
        await ctx.record(req, { tenantId: tenant.id, userId: user.id, actorId: user.id, type: 'login_succeeded', details: { aal: 1 } });
        return res.json({
          state: 'authenticated',
          aal: 1,
          user: req.user,
          ...(decision.enrollmentDeadline ? { enrollmentDeadline: new Date(decision.enrollmentDeadline).toISOString() } : {}),
        });
      }
      // A new id as soon as the password verifies (MFA-03); the last login replaces any pending one.
      // An unverified address gets a pending session that may only ask for a new link (lib/lifecycle).
      const methods = decision.state === 'verification_required' ? [] : decision.methods;
      await regenerate(req);
      req.session.mfa = pendingSession(decision.state, user, tenant, methods, randomId(), now, ctx.opts.pendingTtlSeconds);
      await saveSession(req);
      await ctx.sessionIndex.add(tenant.id, user.id, req.sessionID);
      await ctx.record(req, { tenantId: tenant.id, userId: user.id, actorId: user.id, type: 'login_password_verified', details: { next: decision.state } });
      const expiresAt = new Date(req.session.mfa.pending!.expiresAt).toISOString();
      res.json(decision.state === 'verification_required' ? { state: decision.state, expiresAt } : { state: decision.state, methods, expiresAt });
    }),
  );

  r.post(
    '/mfa/challenge',
    h(async (req, res) => {
      const input = body(codeBody, req);
      const check = checkPending(req.session?.mfa, 'mfa_required', ctx.now());
      if (!check.ok) {
        if (check.reason === 'expired') {
          delete req.session.mfa;
          await saveSession(req);
          throw new StepUpError('challenge_expired');
        }
        throw new StepUpError('no_pending_login');
      }
      const pending = check.pending;
      if (!pending.methods.includes(input.method)) throw new StepUpError('method_not_allowed');
      // Per-login budget, counted outside the session (ATK-26); the account budget is in verifySecondFactor.
      const tries = await ctx.ephemeral.incr(`challenge:${pending.id}`, ctx.opts.pendingTtlSeconds * 1000);
      if (tries > ctx.opts.challengeMaxFailures) {
        delete req.session.mfa;
        await saveSession(req);
        throw new StepUpError('challenge_expired', 'Too many wrong codes; start again with your password.');
      }
      try {
        const user = await authenticateWith<UserRecord>(passport, STRATEGY_BY_METHOD[input.method], req, res, 'invalid_code');
        const tenant = await ctx.tenants.findById(pending.tenantId);
        if (!tenant) throw new StepUpError('unauthenticated');
        const aal = aalOf(ctx, input.method);
        await completeWithFactor(ctx, req, user, tenant, aal, input.method);
        res.json({ state: 'authenticated', aal, user: req.user });
      } catch (err) {
        if (err instanceof StepUpError && err.code === 'invalid_code' && tries >= ctx.opts.challengeMaxFailures) {
          delete req.session.mfa;
          await saveSession(req);
        }
        throw err;
      }
    }),
  );

  r.post(
    '/step-up',
    requireAuth(ctx),
    h(async (req, res) => {
      const input = body(codeBody, req);
      const u = req.user!;
      const [user, tenant] = await Promise.all([ctx.users.findById(u.tenantId, u.id), ctx.tenants.findById(u.tenantId)]);
      if (!user || !tenant) throw new StepUpError('unauthenticated');
      const methods = userMethods(user, tenant.policy.allowedMethods);
      if (!methods.includes(input.method)) throw new StepUpError('method_not_allowed');
      // A weak factor (email) cannot stand in for a strong one the user has (ATK-17).
      if (aalOf(ctx, input.method) < 2 && methods.some((m) => m !== 'backup_code' && aalOf(ctx, m) === 2)) {
        throw new StepUpError('method_not_allowed', 'Confirm with a stronger factor.');
      }
      await authenticateWith<UserRecord>(passport, STRATEGY_BY_METHOD[input.method], req, res, 'invalid_code');
      const prev = req.session.mfa!;
      const aal = Math.max(prev.aal ?? 1, aalOf(ctx, input.method)) as 1 | 2;
      const now = ctx.now();
      // Rotate the id at every privilege step (MFA-04); the absolute timeout still counts from login.
      const mfa: MfaSession = { ...authenticatedSession(aal, now, tenant.policy, prev), mfaVerifiedAt: now, enrollmentDeadline: prev.enrollmentDeadline };
      await establish(ctx, req, toSessionUser(user, tenant.slug), mfa);
      await ctx.users.update(user.tenantId, user.id, { mfa: { lastVerifiedAt: new Date(now) } });
      await ctx.record(req, { tenantId: user.tenantId, userId: user.id, actorId: user.id, type: 'step_up_succeeded', details: { method: input.method } });
      res.json({ aal, mfaVerifiedAt: new Date(now).toISOString() });
    }),
  );

  r.get('/session', (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.json(sessionView(req));
  });

  r.post(
    '/logout',
    h(async (req, res) => {
      await endSession(ctx, req, res);
      res.status(204).end();
    }),
  );

  r.post(
    '/logout-all',
    requireAuth(ctx),
    h(async (req, res) => {
      const u = req.user!;
      const ended = await ctx.sessionIndex.endAll(u.tenantId, u.id, req.sessionID);
      if (ended.length) ctx.events.emitSessionsEnded({ tenantId: u.tenantId, userId: u.id, sessionIds: ended, reason: 'logout_all' });
      await ctx.record(req, { tenantId: u.tenantId, userId: u.id, actorId: u.id, type: 'logout_all', details: { sessions: ended.length + 1 } });
      await endSession(ctx, req, res);
      res.status(204).end();
    }),
  );

  return r;
}

