import { z } from 'zod';

/**
 * Account lifecycle settings (`createStepUp({ ..., lifecycle: {...} })`): self-registration, email
 * verification and password reset.
 *
 * @example createStepUp({ ..., allowedOrigins: ['https://app.acme.example'],
 *   lifecycle: { links: { verifyEmail: 'https://app.acme.example/verify-email' } } })
 */
export interface LifecycleOptions {
  /**
   * Pages the mails link to; the token is appended as `#token=...` (a fragment: never sent to a
   * server). Default: `<first allowedOrigins entry>/verify-email`, `/reset-password` and
   * `/forgot-password`; with no allowedOrigins the mails show the token to paste instead. Links are
   * never built from request headers (a forged Host would redirect reset links).
   */
  links?: { verifyEmail?: string; resetPassword?: string; forgotPassword?: string };
  /** How long a verification link works (default 86400 = 24 h; 600..604800). */
  verifyTtlSeconds?: number;
  /** How long a password-reset link works (default 1800 = 30 min; 300..3600). */
  resetTtlSeconds?: number;
  /** Mails per address and kind (verification, reset) in any sliding hour (default 3). */
  sendsPerHour?: number;
  /** Minimum time between two mails of one kind to one address (default 60). */
  cooldownSeconds?: number;
  /** Register, forgot and resend requests per client IP in any sliding hour (default 20); beyond it 429. */
  perIpPerHour?: number;
}

export interface ResolvedLifecycle {
  links: { verifyEmail?: string; resetPassword?: string; forgotPassword?: string };
  verifyTtlSeconds: number;
  resetTtlSeconds: number;
  sendsPerHour: number;
  cooldownSeconds: number;
  perIpPerHour: number;
}

const link = z.url({ protocol: /^https?$/ });
/** Strict: an unknown key is an error (checked with the other options in lib/config.ts). */
export const lifecycleSchema = z.strictObject({
  links: z.strictObject({ verifyEmail: link.optional(), resetPassword: link.optional(), forgotPassword: link.optional() }).default({}),
  verifyTtlSeconds: z.number().int().min(600).max(604800).default(86400),
  resetTtlSeconds: z.number().int().min(300).max(3600).default(1800),
  sendsPerHour: z.number().int().min(1).max(100).default(3),
  cooldownSeconds: z.number().int().min(0).max(3600).default(60),
  perIpPerHour: z.number().int().min(1).max(100000).default(20),
});

/** Checks the options once; a bad one is a TypeError naming it. */
export function resolveLifecycle(input: LifecycleOptions | undefined, allowedOrigins: readonly string[]): ResolvedLifecycle {
  const res = lifecycleSchema.safeParse(input ?? {});
  if (!res.success) {
    const path = ['lifecycle', ...res.error.issues[0]!.path].join('.');
    throw new TypeError(`passport-stepup: option "${path}" is invalid: ${res.error.issues[0]!.message}`);
  }
  const o = res.data;
  const origin = allowedOrigins[0] ? new URL(allowedOrigins[0]).origin : undefined;
  const page = (given: string | undefined, path: string) => given ?? (origin ? `${origin}${path}` : undefined);
  return {
    ...o,
    links: {
      verifyEmail: page(o.links.verifyEmail, '/verify-email'),
      resetPassword: page(o.links.resetPassword, '/reset-password'),
      forgotPassword: page(o.links.forgotPassword, '/forgot-password'),
    },
  };
}
