import type { RequestMeta } from '../types';
import type { StepUpContext } from '../context';
import { StepUpError } from '../errors';
import { deriveKey } from '../crypto/codes';
import type { MailContent } from '../delivery/messages';
import { checkPasswordLength } from './password';
import { SendLimiter } from '../limits/send';
import type { ResolvedLifecycle } from './options';
import { LifecycleTokens } from './tokens';

/** What the lifecycle flows share: settings, tokens, send caps, and deferred work with its tracking. */
export interface LifecycleKit {
  ctx: StepUpContext;
  settings: ResolvedLifecycle;
  tokens: LifecycleTokens;
  limiter: SendLimiter;
  /**
   * Runs `fn` after the current request has been answered. Whatever it finds (a tenant, an account, a
   * rate limit) can then no longer change the answer or its timing. Failures are logged, never thrown.
   */
  defer(action: string, fn: () => Promise<void>): void;
  /** Resolves when every deferred job started so far has finished (tests, graceful shutdown). */
  idle(): Promise<void>;
  /** Hands a mail to the mailer; a failure is logged with the kind only (the body may hold a token). */
  mail(to: string, content: MailContent, kind: string): Promise<boolean>;
  /** 404 when no mailer is configured: these flows cannot work without one (the same for every input). */
  requireMailer(): void;
  /** Per-IP cap on register / forgot / resend (429 with Retry-After: it counts only the caller's own requests). */
  ipBudget(meta: RequestMeta): Promise<void>;
  /** 400 unless the password has the configured length (code points, no composition rules: MFA-21). */
  checkPasswordLength(password: string): void;
}

/** The tokens of this deployment, MACed under a key-ring subkey (old keys keep working until they leave the ring). */
export function lifecycleTokens(ctx: StepUpContext): LifecycleTokens {
  const keys = new Map<string, Buffer>();
  return new LifecycleTokens(ctx.ephemeral, ctx.now, {
    currentId: () => ctx.box.currentKeyId,
    get: (keyId) => {
      let k = keys.get(keyId);
      const master = k ? undefined : ctx.box.keyFor(keyId);
      if (!k && master) keys.set(keyId, (k = deriveKey(master, 'lifecycle-tokens')));
      return k;
    },
  });
}

export function createKit(ctx: StepUpContext, settings: ResolvedLifecycle): LifecycleKit {
  const inflight = new Set<Promise<void>>();
  const limiter = new SendLimiter(ctx.ephemeral, ctx.now, deriveKey(ctx.box.keyFor(ctx.box.currentKeyId)!, 'lifecycle-limits'));
  return {
    ctx,
    settings,
    tokens: lifecycleTokens(ctx),
    limiter,
    defer(action, fn) {
      const job: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
        .then(fn)
        .catch((err: unknown) => ctx.logger.error('lifecycle: deferred work failed', { action, err: (err as Error)?.message }))
        .finally(() => inflight.delete(job));
      inflight.add(job);
    },
    async idle() {
      while (inflight.size) await Promise.all([...inflight]);
    },
    async mail(to, content, kind) {
      try {
        await ctx.opts.mailer!.send({ to, ...content });
        return true;
      } catch (err) {
        ctx.logger.warn('lifecycle mail failed', { kind, err: (err as Error).message });
        return false;
      }
    },
    requireMailer() {
      if (!ctx.opts.mailer) throw new StepUpError('not_found', 'Account self-service needs a mailer.');
    },
    async ipBudget(meta) {
      const wait = await limiter.reserve('ip', meta.ip ?? 'unknown', settings.perIpPerHour);
      if (wait !== null) throw new StepUpError('rate_limited', undefined, { retryAfterSeconds: wait });
    },
    checkPasswordLength(password) {
      checkPasswordLength(ctx.opts.password, password);
    },
  };
}

/** Minutes for a mail's "expires in" line. */
export const minutesOf = (seconds: number): number => Math.max(1, Math.round(seconds / 60));
