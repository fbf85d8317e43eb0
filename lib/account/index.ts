import type { RequestMeta } from '../types';
import type { StepUpContext } from '../context';
import { createKit } from './kit';
import { resolveLifecycle, type LifecycleOptions, type ResolvedLifecycle } from './options';
import { register, resendVerification, verifyEmail, type RegisterInput } from './registration';
import { forgotPassword, resetPassword, type PasswordResetResult } from './recovery';
import type { PendingLogin } from '../state/machine';

export type { LifecycleOptions, ResolvedLifecycle } from './options';
export { lifecycleTokens } from './kit';

/**
 * Account lifecycle: self-registration, email verification and password reset (routes in
 * routes/account.ts). Admin disable/enable is in lib/admin.ts.
 */
export interface Lifecycle {
  readonly settings: ResolvedLifecycle;
  register(meta: RequestMeta, input: RegisterInput): Promise<void>;
  verifyEmail(meta: RequestMeta, token: string): Promise<void>;
  resendVerification(meta: RequestMeta, pending: PendingLogin): Promise<{ sentTo: string; expiresIn: number }>;
  forgotPassword(meta: RequestMeta, input: { tenant: string; email: string }): Promise<void>;
  /** Returns whose password changed (the caller ends its own session when it was that user's) and the revocation mark. */
  resetPassword(meta: RequestMeta, input: { token: string; newPassword: string }): Promise<PasswordResetResult>;
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
    register: (meta, input) => register(kit, meta, input),
    verifyEmail: (meta, token) => verifyEmail(kit, meta, token),
    resendVerification: (meta, pending) => resendVerification(kit, meta, pending),
    forgotPassword: (meta, input) => forgotPassword(kit, meta, input),
    resetPassword: (meta, input) => resetPassword(kit, meta, input),
    idle: () => kit.idle(),
  };
}
