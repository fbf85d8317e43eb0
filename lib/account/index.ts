import type { Request, Response } from 'express';
import type { StepUpContext } from '../context';
import { createKit } from './kit';
import { resolveLifecycle, type LifecycleOptions, type ResolvedLifecycle } from './options';
import { register, resendVerification, verifyEmail, type RegisterInput } from './registration';
import { forgotPassword, resetPassword } from './recovery';

export type { LifecycleOptions, ResolvedLifecycle } from './options';
export { lifecycleTokens } from './kit';

/**
 * Account lifecycle: self-registration, email verification and password reset (routes in
 * routes/account.ts). Admin disable/enable is in lib/admin.ts.
 */
export interface Lifecycle {
  readonly settings: ResolvedLifecycle;
  register(req: Request, input: RegisterInput): Promise<void>;
  verifyEmail(req: Request, token: string): Promise<void>;
  resendVerification(req: Request): Promise<{ sentTo: string; expiresIn: number }>;
  forgotPassword(req: Request, input: { tenant: string; email: string }): Promise<void>;
  resetPassword(req: Request, res: Response, input: { token: string; newPassword: string }): Promise<void>;
  /**
   * Resolves when the work started after earlier 202 answers (lookups, accounts, tokens, mails) is done.
   * For tests and graceful shutdown.
   */
  idle(): Promise<void>;
}

export function createLifecycle(ctx: StepUpContext, options: LifecycleOptions | undefined): Lifecycle {
  const kit = createKit(ctx, resolveLifecycle(options, ctx.opts.allowedOrigins));
  return {
    settings: kit.settings,
    register: (req, input) => register(kit, req, input),
    verifyEmail: (req, token) => verifyEmail(kit, req, token),
    resendVerification: (req) => resendVerification(kit, req),
    forgotPassword: (req, input) => forgotPassword(kit, req, input),
    resetPassword: (req, res, input) => resetPassword(kit, req, res, input),
    idle: () => kit.idle(),
  };
}
