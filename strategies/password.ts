import type { Request } from 'express';
import { Strategy as LocalStrategy } from 'passport-local';
import { toSessionUser, type RequestMeta, type TenantRecord, type UserRecord } from '../lib/types';

export type PasswordVerify = (meta: RequestMeta, tenant: string, email: string, password: string) => Promise<{ user: UserRecord; tenant: TenantRecord } | false>;

/**
 * passport-local with the tenant taken from the body: `{tenant, email, password}`. Unknown user and
 * wrong password fail the same way (the verify function spends a dummy hash for unknown users).
 * On success `req.user` is the safe session user; the records are in `info.result`.
 */
export class PasswordStrategy extends LocalStrategy {
  override name = 'stepup-password';

  constructor(verify: PasswordVerify, meta: (req: Request) => RequestMeta, defaultTenant?: string) {
    if (typeof verify !== 'function') throw new TypeError('PasswordStrategy requires a verify function');
    super({ usernameField: 'email', passwordField: 'password', passReqToCallback: true, session: false }, (req, email, password, done) => {
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
  override authenticate(req: Request, options?: object): void {
    const b = (req.body ?? {}) as { tenant?: unknown; email?: unknown; password?: unknown };
    const bad = (v: unknown) => typeof v !== 'string' || v.length === 0;
    if (bad(b.email) || bad(b.password) || (b.tenant !== undefined && typeof b.tenant !== 'string')) {
      this.fail({ code: 'invalid_request', message: 'Missing credentials' }, 400);
      return;
    }
    super.authenticate(req, options);
  }
}
