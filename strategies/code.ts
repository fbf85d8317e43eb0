import type { Request } from 'express';
import { BACKUP_CODE_PATTERN } from '../lib/crypto/codes';
import { StepUpError } from '../lib/errors';
import type { FactorAttempt, FactorResult, FactorTarget } from '../lib/auth/second-factor';
import { toSessionUser, type Method, type RequestMeta } from '../lib/types';

/** One row per code factor: its Passport name and the shape a code must have before anything is looked up. */
export interface CodeSpec {
  name: string;
  method: Method;
  pattern: RegExp;
}

const SIX_DIGITS = /^[0-9]{6}$/;

/** Six ASCII digits (leading zeros kept; numbers and full-width digits refused), or a backup code `abcd-efgh-ijkl-mnop`. */
export const CODE_STRATEGIES: readonly CodeSpec[] = [
  { name: 'stepup-totp', method: 'totp', pattern: SIX_DIGITS },
  { name: 'stepup-backup-code', method: 'backup_code', pattern: BACKUP_CODE_PATTERN },
  { name: 'stepup-email-otp', method: 'email_otp', pattern: SIX_DIGITS },
  { name: 'stepup-sms-otp', method: 'sms_otp', pattern: SIX_DIGITS },
];

export interface CodeStrategyDeps {
  /** Who the code is for, from the HTTP session (routes/http-session.ts `factorTarget`). */
  target(req: Request): FactorTarget;
  meta(req: Request): RequestMeta;
  /** The core's second-factor pipeline (lib/auth/second-factor.ts). */
  verify(attempt: FactorAttempt): Promise<FactorResult>;
}

/**
 * A second-factor code as a Passport strategy (like passport-local: the logic lives in lib/, this
 * only adapts it). Bad input `fail(info, 400)`; a refused code `fail(info, status)` with the
 * StepUpError in `info.error`; trouble `error(err)`; a right code `success(user, { method, result })`
 * where `user` is the safe session user (never a hash or a secret) and `result` the pipeline's answer.
 */
export class CodeStrategy {
  readonly name: string;
  declare success: (user: unknown, info?: unknown) => void;
  declare fail: (challenge?: unknown, status?: number) => void;
  declare error: (err: unknown) => void;

  constructor(
    private readonly spec: CodeSpec,
    private readonly deps: CodeStrategyDeps,
  ) {
    if (!spec || typeof spec.name !== 'string' || !(spec.pattern instanceof RegExp)) throw new TypeError('CodeStrategy requires a spec {name, method, pattern}');
    if (!deps || typeof deps.verify !== 'function' || typeof deps.target !== 'function') throw new TypeError('CodeStrategy requires target and verify functions');
    this.name = spec.name;
  }

  authenticate(req: Request): void {
    const code: unknown = (req.body as { code?: unknown } | undefined)?.code;
    if (typeof code !== 'string' || !this.spec.pattern.test(code)) {
      this.fail({ code: 'invalid_request', message: 'The code has the wrong format.' }, 400);
      return;
    }
    // Whatever the pipeline does (throw, reject), the outcome goes through Passport, never an unhandled rejection.
    Promise.resolve()
      .then(() => this.deps.verify({ target: this.deps.target(req), method: this.spec.method, code, meta: this.deps.meta(req) }))
      .then(
        (result) => this.success(toSessionUser(result.user, result.tenant.slug), { method: this.spec.method, result }),
        (err: unknown) => (err instanceof StepUpError && err.status < 500 ? this.fail({ code: err.code, error: err }, err.status) : this.error(err)),
      )
      .catch((err: unknown) => this.error(err));
  }
}
