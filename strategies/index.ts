// Passport strategies: the password (passport-local), one CodeStrategy configured per code factor, and
// passkeys. They adapt lib/'s password step and second-factor pipeline to Passport, nothing more.
import type { Request } from 'express';
import { Strategy as LocalStrategy } from 'passport-local';
import { BACKUP_CODE_PATTERN } from '../lib/crypto/codes';
import { StepUpError } from '../lib/errors';
import type { FactorAttempt, FactorResult, FactorTarget } from '../lib/auth/second-factor';
import { toSessionUser, type Method, type RequestMeta, type TenantRecord, type UserRecord } from '../lib/types';

export type PasswordVerify = (meta: RequestMeta, tenant: string, email: string, password: string) => Promise<{ user: UserRecord; tenant: TenantRecord } | false>;

/** What Passport puts on the object it runs a strategy as (its report functions). */
interface Reports {
  success: (user: unknown, info?: unknown) => void;
  fail: (challenge?: unknown, status?: number) => void;
  error: (err: unknown) => void;
  redirect: (url: string, status?: number) => void;
  pass: () => void;
}

/**
 * passport-local with the tenant taken from the body: `{tenant, email, password}`. Unknown user and
 * wrong password fail the same way (the verify function spends a dummy hash for unknown users).
 * On success `req.user` is the safe session user; the records are in `info.result`. It holds its
 * passport-local strategy rather than extending it, so the public types need no passport-local types.
 */
export class PasswordStrategy {
  readonly name = 'stepup-password';
  declare success: Reports['success'];
  declare fail: Reports['fail'];
  declare error: Reports['error'];
  declare redirect: Reports['redirect'];
  declare pass: Reports['pass'];
  private readonly local: LocalStrategy;

  constructor(verify: PasswordVerify, meta: (req: Request) => RequestMeta, defaultTenant?: string) {
    if (typeof verify !== 'function') throw new TypeError('PasswordStrategy requires a verify function');
    this.local = new LocalStrategy({ usernameField: 'email', passwordField: 'password', passReqToCallback: true, session: false }, (req, email, password, done) => {
      const tenant = String((req.body as { tenant?: unknown })?.tenant ?? defaultTenant ?? '');
      verify(meta(req), tenant, email, password).then(
        (res) => (res ? done(null, toSessionUser(res.user, res.tenant.slug), { result: res } as never) : done(null, false, { message: 'invalid_credentials' })),
        (err: unknown) => done(err),
      );
    });
  }

  /**
   * Strings only, from the body only: passport-local would hand an operator object such as
   * `{"$ne": null}` to the verify function, and fall back to the query string when the body lacks a field.
   */
  authenticate(req: Request, options?: object): void {
    const b = (req.body ?? {}) as { tenant?: unknown; email?: unknown; password?: unknown };
    const bad = (v: unknown) => typeof v !== 'string' || v.length === 0;
    if (bad(b.email) || bad(b.password) || (b.tenant !== undefined && typeof b.tenant !== 'string')) {
      this.fail({ code: 'invalid_request', message: 'Missing credentials' }, 400);
      return;
    }
    // passport-local reports through the functions Passport gave this run.
    const run = Object.create(this.local) as LocalStrategy & Reports;
    Object.assign(run, { success: this.success, fail: this.fail, error: this.error, redirect: this.redirect, pass: this.pass });
    run.authenticate(req, options);
  }
}

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

/** What a second-factor strategy needs: who the factor is for, the request's meta, and the core's pipeline. */
export interface FactorStrategyDeps {
  /**
   * Who the factor is for: the pending login or the authenticated user (routes/http-session.ts
   * `factorTarget`), or for passwordless sign-in the user the passkey names (may need a store lookup).
   */
  target(req: Request): FactorTarget | Promise<FactorTarget>;
  meta(req: Request): RequestMeta;
  /** The core's second-factor pipeline (lib/auth/second-factor.ts): budgets, lock, audit, verifier. */
  verify(attempt: FactorAttempt): Promise<FactorResult>;
}
export type CodeStrategyDeps = FactorStrategyDeps;
export type WebauthnStrategyDeps = FactorStrategyDeps;

/**
 * A second factor as a Passport strategy (like passport-local: the logic lives in lib/, this only
 * adapts it). Bad input `fail(info, 400)`; a refusal (a StepUpError under 500) `fail(info, status)` with
 * the error in `info.error`; trouble `error(err)`; a right factor `success(user, { method, result })`
 * where `user` is the safe session user (never a hash or a secret) and `result` the pipeline's answer.
 */
abstract class FactorStrategy {
  declare success: Reports['success'];
  declare fail: Reports['fail'];
  declare error: Reports['error'];

  constructor(
    readonly name: string,
    protected readonly deps: FactorStrategyDeps,
    kind: string,
  ) {
    if (typeof name !== 'string' || name === '') throw new TypeError(`${kind} requires a name`);
    if (!deps || typeof deps.verify !== 'function' || typeof deps.target !== 'function') throw new TypeError(`${kind} requires target and verify functions`);
  }

  /** The pipeline's answer through Passport, never an unhandled rejection. */
  protected verify(req: Request, method: Method, input: { code: string; response?: unknown }): void {
    Promise.resolve()
      .then(() => this.deps.target(req))
      .then((target) => this.deps.verify({ target, method, ...input, meta: this.deps.meta(req) }))
      .then(
        (result) => this.success(toSessionUser(result.user, result.tenant.slug), { method, result }),
        (err: unknown) => (err instanceof StepUpError && err.status < 500 ? this.fail({ code: err.code, error: err }, err.status) : this.error(err)),
      )
      .catch((err: unknown) => this.error(err));
  }
}

/** A second-factor code: six digits or a backup code, its shape checked before anything is looked up. */
export class CodeStrategy extends FactorStrategy {
  private readonly spec: CodeSpec;

  constructor(spec: CodeSpec, deps: FactorStrategyDeps) {
    if (!spec || typeof spec.name !== 'string' || !(spec.pattern instanceof RegExp)) throw new TypeError('CodeStrategy requires a spec {name, method, pattern}');
    super(spec.name, deps, 'CodeStrategy');
    this.spec = spec;
  }

  authenticate(req: Request): void {
    const code: unknown = (req.body as { code?: unknown } | undefined)?.code;
    if (typeof code !== 'string' || !this.spec.pattern.test(code)) {
      this.fail({ code: 'invalid_request', message: 'The code has the wrong format.' }, 400);
      return;
    }
    this.verify(req, this.spec.method, { code });
  }
}

/** A passkey assertion (`{ response }`, the JSON of `navigator.credentials.get()`). */
export class WebauthnStrategy extends FactorStrategy {
  constructor(name: string, deps: FactorStrategyDeps) {
    super(name, deps, 'WebauthnStrategy');
  }

  authenticate(req: Request): void {
    const response: unknown = (req.body as { response?: unknown } | undefined)?.response;
    if (typeof response !== 'object' || response === null || Array.isArray(response)) {
      this.fail({ code: 'invalid_request', message: 'Send the passkey answer as `response`.' }, 400);
      return;
    }
    this.verify(req, 'webauthn', { code: '', response });
  }
}
