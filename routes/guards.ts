import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { StepUpContext } from '../lib/context';
import { StepUpError } from '../lib/errors';
import { stepUpError } from '../lib/auth/step-up';
import { isPhishingResistant } from '../lib/state/machine';
import type { StepUpPurpose } from '../lib/state/policy';
import { sendError } from './http';

export interface RequireAuthOptions {
  /** Minimum authentication assurance level (default 1). */
  aal?: 1 | 2;
  /** Roles of which the user must hold at least one. */
  roles?: string[];
  /** Only a session whose last factor was a passkey (phishing resistant). */
  phishingResistant?: boolean;
}

/**
 * Guards a route: 401 `unauthenticated` unless the session is `authenticated` (a pending login is
 * never enough, whatever Passport says), 403 when the aal or role is not met. The session chain has
 * already applied the timeouts and the revocation mark: a revoked or disabled account's session never
 * gets here.
 *
 * @example app.get('/api/profile', stepUp.requireAuth({ aal: 2 }), handler)
 */
export function requireAuth(_ctx: StepUpContext, options: RequireAuthOptions = {}): RequestHandler {
  const aal = options.aal ?? 1;
  return (req: Request, res: Response, next: NextFunction) => {
    const mfa = req.session?.mfa;
    if (!req.user || mfa?.state !== 'authenticated' || !req.isAuthenticated?.()) return sendError(res, new StepUpError('unauthenticated'));
    if (options.phishingResistant && !isPhishingResistant(mfa)) {
      return sendError(res, new StepUpError('step_up_required', 'This action needs a passkey.', { body: { methods: ['webauthn'] } }));
    }
    if ((mfa.aal ?? 1) < aal) return sendError(res, new StepUpError('forbidden', 'This action needs a second factor (aal 2).'));
    if (options.roles && !options.roles.some((r) => req.user!.roles.includes(r as never))) return sendError(res, new StepUpError('forbidden'));
    next();
  };
}

export interface RequireStepUpOptions {
  /** How recent the last factor verification must be. Default: the tenant policy's `stepUpMaxAgeSeconds`. */
  maxAgeSeconds?: number;
  /** Only a passkey proof counts. */
  phishingResistant?: boolean;
  /** `backup_codes`: a backup code does not count as proof (used by backup-code regeneration). */
  purpose?: StepUpPurpose;
}

/**
 * Demands a recent second-factor proof strong enough for the user's strongest factor (docs/SECURITY.md
 * SR-2): 401 `step_up_required` with the methods that would do otherwise. Refresh it with
 * `POST /auth/step-up`. Loads the user once (their factors decide how strong the proof must be).
 */
export function requireStepUp(ctx: StepUpContext, options: RequireStepUpOptions = {}): RequestHandler {
  const auth = requireAuth(ctx);
  return (req, res, next) => {
    auth(req, res, () => {
      const u = req.user!;
      Promise.all([ctx.users.findById(u.tenantId, u.id), ctx.tenants.findById(u.tenantId)])
        .then(([user, tenant]) => {
          if (!user || !tenant || user.disabledAt) return sendError(res, new StepUpError('unauthenticated'));
          const err = stepUpError(user, tenant, req.session.mfa, ctx.now(), options);
          if (err) return sendError(res, err);
          next();
        })
        .catch((err: unknown) => next(err));
    });
  };
}
