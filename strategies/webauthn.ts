import type { Request } from 'express';
import { StepUpError } from '../lib/errors';
import type { FactorAttempt, FactorResult, FactorTarget } from '../lib/auth/second-factor';
import { toSessionUser, type RequestMeta } from '../lib/types';

export interface WebauthnStrategyDeps {
  /**
   * Who the assertion is for: the pending login or the authenticated user (routes/http-session.ts
   * `factorTarget`), or for passwordless sign-in the user the passkey names (may need a store lookup).
   */
  target(req: Request): FactorTarget | Promise<FactorTarget>;
  meta(req: Request): RequestMeta;
  /** The core's second-factor pipeline (lib/auth/second-factor.ts): budgets, lock, audit, verifier. */
  verify(attempt: FactorAttempt): Promise<FactorResult>;
}

/**
 * A passkey assertion (`{ response }`, the JSON of `navigator.credentials.get()`) as a Passport
 * strategy, the sibling of CodeStrategy: bad input `fail(info, 400)`, a refused assertion
 * `fail(info, status)` with the StepUpError in `info.error`, trouble `error(err)`, success
 * `success(user, { method: 'webauthn', result })`. Everything it checks lives in lib/.
 */
export class WebauthnStrategy {
  readonly name: string;
  declare success: (user: unknown, info?: unknown) => void;
  declare fail: (challenge?: unknown, status?: number) => void;
  declare error: (err: unknown) => void;

  constructor(name: string, private readonly deps: WebauthnStrategyDeps) {
    if (typeof name !== 'string' || name === '') throw new TypeError('WebauthnStrategy requires a name');
    if (!deps || typeof deps.verify !== 'function' || typeof deps.target !== 'function') throw new TypeError('WebauthnStrategy requires target and verify functions');
    this.name = name;
  }

  authenticate(req: Request): void {
    const response: unknown = (req.body as { response?: unknown } | undefined)?.response;
    if (typeof response !== 'object' || response === null || Array.isArray(response)) {
      this.fail({ code: 'invalid_request', message: 'Send the passkey answer as `response`.' }, 400);
      return;
    }
    Promise.resolve()
      .then(() => this.deps.target(req))
      .then((target) => this.deps.verify({ target, method: 'webauthn', code: '', response, meta: this.deps.meta(req) }))
      .then(
        (result) => this.success(toSessionUser(result.user, result.tenant.slug), { method: 'webauthn', result }),
        (err: unknown) => (err instanceof StepUpError && err.status < 500 ? this.fail({ code: err.code, error: err }, err.status) : this.error(err)),
      )
      .catch((err: unknown) => this.error(err));
  }
}
