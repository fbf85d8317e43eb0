/**
 * The one table of error codes. Every error that leaves a route is
 * `{ "error": code, "message": text }` with the status from this table.
 */
export const ERROR_TABLE = {
  invalid_request: { status: 400, message: 'The request is not valid.' },
  invalid_credentials: { status: 401, message: 'Invalid tenant, email or password.' },
  invalid_code: { status: 401, message: 'The code is not valid.' },
  unauthenticated: { status: 401, message: 'Authentication is required.' },
  step_up_required: { status: 401, message: 'A recent second-factor verification is required.' },
  forbidden: { status: 403, message: 'This action is not allowed.' },
  policy_requires_mfa: { status: 403, message: 'The tenant policy requires a second factor.' },
  method_not_allowed: { status: 403, message: 'This second-factor method is not allowed here.' },
  not_found: { status: 404, message: 'Not found.' },
  no_pending_login: { status: 409, message: 'There is no login waiting for a second factor.' },
  already_enrolled: { status: 409, message: 'This factor is already enrolled.' },
  conflict: { status: 409, message: 'The resource already exists or is busy.' },
  challenge_expired: { status: 410, message: 'The login expired; start again with your password.' },
  unsupported_media_type: { status: 415, message: 'Send the body as application/json.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  account_locked: { status: 423, message: 'Too many failed attempts; try again later.' },
  rate_limited: { status: 429, message: 'Too many requests; try again later.' },
  internal_error: { status: 500, message: 'Something went wrong.' },
  delivery_failed: { status: 502, message: 'The code could not be delivered; try again later.' },
  unavailable: { status: 503, message: 'The service is temporarily unavailable.' },
} as const;

export type ErrorCode = keyof typeof ERROR_TABLE;

export interface StepUpErrorDetails {
  /** Seconds until a retry may succeed; sent as `Retry-After`. */
  retryAfterSeconds?: number;
  /** Extra, non-secret fields merged into the JSON body (e.g. `methods`). */
  body?: Record<string, unknown>;
}

/** An error with a stable `code`; its HTTP status and safe message come from ERROR_TABLE. */
export class StepUpError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfterSeconds?: number;
  readonly body?: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, details: StepUpErrorDetails = {}) {
    super(message ?? ERROR_TABLE[code].message);
    this.name = 'StepUpError';
    this.code = code;
    this.status = ERROR_TABLE[code].status;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.body = details.body;
  }
}

export function isStepUpError(err: unknown): err is StepUpError {
  return err instanceof StepUpError;
}

/** The JSON body and status for any thrown value; unknown errors never leak their text. */
export function toResponse(err: unknown): { status: number; body: Record<string, unknown>; retryAfterSeconds?: number } {
  if (isStepUpError(err)) {
    return {
      status: err.status,
      body: { ...(err.body ?? {}), error: err.code, message: err.message },
      retryAfterSeconds: err.retryAfterSeconds,
    };
  }
  const e = err as { type?: string; status?: number } | undefined;
  // body-parser errors carry a `type`; map them without echoing their text.
  if (e && e.type === 'entity.parse.failed') return toResponse(new StepUpError('invalid_request', 'The body is not valid JSON.'));
  if (e && e.type === 'entity.too.large') return toResponse(new StepUpError('payload_too_large'));
  if (e && (e.type === 'charset.unsupported' || e.type === 'encoding.unsupported')) return toResponse(new StepUpError('unsupported_media_type'));
  if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) return toResponse(new StepUpError('invalid_request'));
  return toResponse(new StepUpError('internal_error'));
}

/**
 * Races `p` against a deadline of `ms`: past it, rejects with `onTimeout()` (each store names its own
 * error, classified as an outage: 503). The timer never keeps the process alive, and the loser's later
 * rejection is swallowed.
 */
export function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref?.();
  });
  p.catch(() => undefined);
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
