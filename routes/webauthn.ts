import { Router, type Request } from 'express';
import type { PassportLike } from './passport-like';
import type { StepUpContext } from '../lib/context';
import { StepUpError } from '../lib/errors';
import { randomId } from '../lib/crypto/codes';
import { assertMayEnrol, confirmPasskeyRegistration, passkeyView, passkeysOf, removePasskey, renamePasskey } from '../lib/auth/enrolment';
import type { FactorResult, FactorTarget } from '../lib/auth/second-factor';
import { recordLoginFactor } from '../lib/auth/password';
import { loadSubject } from '../lib/auth/subject';
import { peekAssertion, type RegistrationResponseJSON } from '../lib/factors/webauthn';
import { afterLoginFactor, keptAfterCredentialChange, pendingSession } from '../lib/state/machine';
import { proofMethods } from '../lib/state/policy';
import { toSessionUser } from '../lib/types';
import { requireAuth, requireStepUp } from './guards';
import { bindPasskeyChallenge, establish, factorTarget, finishEnrolment, mfaOf, passkeyBindingOf, subjectRef, update } from './http-session';
import { authenticateWith, body, h, metaOf } from './http';
import { PASSKEY_LOGIN_STRATEGY, credentialId } from './passkey-shapes';

import { passkeyLoginBody, passkeyOptionsBody, passkeyRegisterBody as registerBody, passkeyRenameBody as renameBody, webauthnEmpty as empty } from './schemas';

function credentialParam(req: Request): string {
  const r = credentialId.safeParse(req.params.id);
  if (!r.success) throw new StepUpError('not_found');
  return r.data;
}

/**
 * `/auth/mfa/webauthn/...`: register a passkey, ask for assertion options (login or step-up), list,
 * rename and remove. The assertion itself is answered at `POST /auth/mfa/challenge` and
 * `POST /auth/step-up` with `{method: "webauthn", response}` (the one second-factor pipeline).
 */
export function webauthnRoutes(ctx: StepUpContext): Router {
  const r = Router();
  const subject = (req: Request, allowEnrolling: boolean) => loadSubject(ctx, subjectRef(ctx, req, allowEnrolling));

  r.post(
    '/webauthn/register/options',
    h(async (req, res) => {
      body(empty, req);
      const s = await subject(req, true);
      assertMayEnrol(ctx, s, 'webauthn');
      const service = passkeysOf(ctx);
      const options = await service.registrationOptions({ user: s.user, existing: s.user.mfa.webauthn ?? [], binding: s.binding });
      res.set('Cache-Control', 'no-store');
      res.json(options);
    }),
  );

  r.post(
    '/webauthn/register/verify',
    h(async (req, res) => {
      const input = body(registerBody, req);
      const s = await subject(req, true);
      assertMayEnrol(ctx, s, 'webauthn');
      const { credential, backupCodes } = await confirmPasskeyRegistration(ctx, metaOf(req), s, input.response as unknown as RegistrationResponseJSON, input.name);
      await finishEnrolment(ctx, req, s, 'webauthn');
      res.set('Cache-Control', 'no-store');
      res.status(201).json({ enabled: true, credential: passkeyView(credential), ...(backupCodes ? { backupCodes } : {}) });
    }),
  );

  /** Options for the pending login's passkey, or for a step-up of the authenticated user. */
  r.post(
    '/webauthn/authenticate/options',
    h(async (req, res) => {
      body(empty, req);
      const target = factorTarget(ctx, req);
      const ids = target.purpose === 'login' ? { tenantId: target.pending.tenantId, userId: target.pending.userId } : (target as Extract<FactorTarget, { purpose: 'step_up' }>);
      const [user, tenant] = await Promise.all([ctx.users.findById(ids.tenantId, ids.userId), ctx.tenants.findById(ids.tenantId)]);
      if (!user || !tenant || user.disabledAt) throw new StepUpError('unauthenticated');
      const usable = target.purpose === 'login' ? target.pending.methods : proofMethods(user, tenant.policy);
      if (!usable.includes('webauthn') || !user.mfa.webauthn?.length) throw new StepUpError('method_not_allowed');
      const service = passkeysOf(ctx);
      const binding = target.purpose === 'login' ? target.pending.id : (target as Extract<FactorTarget, { purpose: 'step_up' }>).binding;
      const purpose = target.purpose === 'login' ? 'login' : 'step_up';
      const options = await service.authenticationOptions({ purpose, binding, user: { id: user.id, tenantId: user.tenantId, credentials: user.mfa.webauthn } });
      res.set('Cache-Control', 'no-store');
      res.json(options);
    }),
  );

  r.get(
    '/webauthn/credentials',
    requireAuth(ctx),
    h(async (req, res) => {
      const { user } = await subject(req, false);
      res.set('Cache-Control', 'no-store');
      res.json({ credentials: (user.mfa.webauthn ?? []).map(passkeyView) });
    }),
  );

  r.patch(
    '/webauthn/credentials/:id',
    requireAuth(ctx),
    h(async (req, res) => {
      const id = credentialParam(req);
      const input = body(renameBody, req);
      const { user } = await subject(req, false);
      const renamed = await renamePasskey(ctx, metaOf(req), user, id, input.name);
      res.json(passkeyView(renamed));
    }),
  );

  r.delete(
    '/webauthn/credentials/:id',
    requireStepUp(ctx),
    h(async (req, res) => {
      const id = credentialParam(req);
      const { user, tenant } = await subject(req, false);
      await removePasskey(ctx, metaOf(req), user, tenant, id);
      // A factor change ends the user's other sessions (and their sockets), like /auth/mfa/disable.
      const { at } = await ctx.sessions.endAll(user.tenantId, user.id, 'mfa_disabled', req.sessionID);
      await update(req, keptAfterCredentialChange(mfaOf(req)!, at));
      res.status(204).end();
    }),
  );

  return r;
}

/**
 * Who a passwordless assertion is for: the user its user handle names, in the tenant the body names,
 * bound to the session that asked for the options. Only a claim: the pipeline verifies it all.
 */
export function passwordlessTarget(ctx: StepUpContext) {
  return async (req: Request): Promise<FactorTarget> => {
    const input = body(passkeyLoginBody, req);
    const tenant = await ctx.tenants.findBySlug(input.tenant);
    if (!tenant || !tenant.policy.passwordlessPasskeys || !tenant.policy.allowedMethods.includes('webauthn')) throw new StepUpError('method_not_allowed');
    passkeysOf(ctx);
    const claim = peekAssertion(input.response);
    const binding = passkeyBindingOf(req);
    if (!claim?.userId || !binding) throw new StepUpError('invalid_code');
    return { purpose: 'passwordless', tenantId: tenant.id, userId: claim.userId, binding, validFrom: ctx.now() };
  };
}

/**
 * `POST /auth/passkey/options {tenant}` and `POST /auth/passkey/login {tenant, response}`: sign-in
 * with a discoverable passkey alone, where the tenant turned it on (`passwordlessPasskeys`). The
 * authenticator must verify the user (PIN or biometric), so the passkey is both factors: aal 2.
 */
export function passkeyRoutes(ctx: StepUpContext, passport: PassportLike): Router {
  const r = Router();

  r.post(
    '/passkey/options',
    h(async (req, res) => {
      const input = body(passkeyOptionsBody, req);
      const tenant = await ctx.tenants.findBySlug(input.tenant);
      if (!tenant || !tenant.policy.passwordlessPasskeys || !tenant.policy.allowedMethods.includes('webauthn')) throw new StepUpError('method_not_allowed');
      const service = passkeysOf(ctx);
      // The challenge is bound to this browser's session (saved now, so the cookie comes back).
      const options = await service.authenticationOptions({ purpose: 'passwordless', binding: bindPasskeyChallenge(req), tenantId: tenant.id });
      res.set('Cache-Control', 'no-store');
      res.json(options);
    }),
  );

  r.post(
    '/passkey/login',
    h(async (req, res) => {
      body(passkeyLoginBody, req);
      let result: FactorResult;
      try {
        result = await authenticateWith<FactorResult>(passport, PASSKEY_LOGIN_STRATEGY, req, res, 'invalid_code');
      } catch (err) {
        // An unknown, disabled or revoked account answers like a wrong passkey: the user handle is a claim.
        if (err instanceof StepUpError && err.code === 'unauthenticated') throw new StepUpError('invalid_code');
        throw err;
      }
      const { user, tenant } = result;
      const now = ctx.now();
      // A login with the passkey as its only step: the pending value exists only to go through the one
      // transition (afterLoginFactor) every second factor takes.
      const pending = pendingSession({ state: 'mfa_required', methods: ['webauthn'], next: 'authenticated' }, user, tenant, randomId(), now, ctx.opts.pendingTtlSeconds);
      const mfa = afterLoginFactor(pending, 'webauthn', 2, tenant.policy, now, []);
      await establish(ctx, req, toSessionUser(user, tenant.slug), mfa);
      await recordLoginFactor(ctx, metaOf(req), user, 'webauthn', 2);
      res.json({ state: 'authenticated', aal: 2, user: req.user, amr: mfa.amr, phishing_resistant: true });
    }),
  );

  return r;
}
