import type { Request } from 'express';
import { Strategy as LocalStrategy } from 'passport-local';
import type { TenantRecord, UserRecord } from '../lib/types';

export type PasswordVerify = (req: Request, email: string, password: string) => Promise<{ user: UserRecord; tenant: TenantRecord } | false>;

/**
 * passport-local with the tenant taken from the body: `{tenant, email, password}`. Unknown user and
 * wrong password fail the same way (the verify function spends a dummy hash for unknown users).
 */
export class PasswordStrategy extends LocalStrategy {
  override name = 'stepup-password';

  constructor(verify: PasswordVerify) {
    if (typeof verify !== 'function') throw new TypeError('PasswordStrategy requires a verify function');
    super({ usernameField: 'email', passwordField: 'password', passReqToCallback: true, session: false }, (req, email, password, done) => {
      verify(req, email, password).then(
        (res) => (res ? done(null, res as unknown as Express.User) : done(null, false, { message: 'invalid_credentials' })),
        (err: unknown) => done(err),
      );
    });
  }
}
