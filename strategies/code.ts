import type { Request } from 'express';
import type { UserRecord } from '../lib/types';

/** What a code strategy asks of lib/: the user the code is for and whether it is right. */
export type CodeVerify = (req: Request, code: string) => Promise<UserRecord | false>;

/**
 * The shape every factor strategy shares (like passport-local: about twenty lines of logic).
 * Passport adds `success`, `fail` and `error` to the instance it runs; the outcome is mapped
 * through them: bad input `fail(info, 400)`, wrong code `fail(info, 401)`, trouble `error(err)`.
 */
export abstract class CodeStrategy {
  abstract readonly name: string;
  declare success: (user: unknown, info?: unknown) => void;
  declare fail: (challenge?: unknown, status?: number) => void;
  declare error: (err: unknown) => void;

  constructor(
    private readonly verify: CodeVerify,
    private readonly pattern: RegExp,
  ) {
    if (typeof verify !== 'function') throw new TypeError(`${new.target.name} requires a verify function`);
  }

  authenticate(req: Request): void {
    const code: unknown = (req.body as { code?: unknown } | undefined)?.code;
    if (typeof code !== 'string' || !this.pattern.test(code)) {
      this.fail({ code: 'invalid_request', message: 'The code has the wrong format.' }, 400);
      return;
    }
    // Whatever verify does (throw, reject), the outcome goes through Passport, never an unhandled rejection.
    Promise.resolve()
      .then(() => this.verify(req, code))
      .then(
        (user) => (user ? this.success(user, { method: this.name }) : this.fail({ code: 'invalid_code' }, 401)),
        (err: unknown) => this.error(err),
      )
      .catch((err: unknown) => this.error(err));
  }
}
