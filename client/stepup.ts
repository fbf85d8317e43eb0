/**
 * The step-up helper: run a sensitive action; when the server answers 401 `step_up_required`, ask
 * the person for a code (your UI, through a callback), send it to `POST /auth/step-up`, then run the
 * action once more. A wrong code asks again (with the error to show); closing the prompt cancels.
 *
 * @example
 * const codes = await withStepUp(api, () => api.regenerateBackupCodes(), {
 *   prompt: async ({ methods, error }) => myDialog.ask(methods, error),   // {method, code} or null
 * });
 */
import type { ApiError, StepUpClient } from './http.js';
import type { CodeInput, Method } from './types.js';

/** Thrown when the person closes the prompt: the action did not happen, nothing to report. */
export class StepUpCancelled extends Error {
  constructor() {
    super('Step-up cancelled.');
    this.name = 'StepUpCancelled';
  }
}

export interface StepUpPromptContext {
  /** The methods the server accepts for this user (`step_up_required`'s list, or the user's own). */
  methods: Method[];
  /** The previous attempt's failure (wrong code, rate limited): show it and ask again. */
  error?: ApiError;
  /** 1 for the first question, 2 after one failed code, ... */
  attempt: number;
}

export interface StepUpHelperOptions {
  /** Ask for a code; resolve null to cancel (the helper then throws StepUpCancelled). */
  prompt: (ctx: StepUpPromptContext) => Promise<CodeInput | null>;
  /** Called once the question is over (verified, cancelled or failed): close a dialog here. */
  done?: () => void;
}

/** A failure the person can fix by typing another code (or waiting): ask again instead of giving up. */
const ASK_AGAIN = new Set(['invalid_code', 'invalid_request', 'method_not_allowed', 'rate_limited', 'account_locked', 'delivery_failed']);

// Duck-typed (not `instanceof`): this module has no runtime import, so it also recognises an
// ApiError from another copy of the client on the page.
function apiError(err: unknown): ApiError | null {
  return err instanceof Error && err.name === 'ApiError' && typeof (err as Partial<ApiError>).code === 'string' ? (err as ApiError) : null;
}

export function isStepUpRequired(err: unknown): err is ApiError {
  return apiError(err)?.code === 'step_up_required';
}

/** The methods a `step_up_required` names, or the user's own (from `GET /auth/mfa/status`). */
async function methodsFor(client: Pick<StepUpClient, 'mfaStatus'>, err: ApiError): Promise<Method[]> {
  const listed = Array.isArray(err.body.methods) ? err.body.methods : [];
  if (listed.length) return listed;
  const s = await client.mfaStatus();
  const out: Method[] = [];
  if (s.methods.totp?.enabled) out.push('totp');
  if (s.methods.sms_otp?.enabled) out.push('sms_otp');
  if (s.methods.email_otp?.enabled) out.push('email_otp');
  if (s.backupCodesRemaining > 0) out.push('backup_code');
  return out;
}

/**
 * Runs `action`; on `step_up_required` verifies a code and runs it once more (never more: a second
 * `step_up_required` is thrown to the caller). Other errors pass through unchanged.
 */
export async function withStepUp<T>(client: Pick<StepUpClient, 'stepUp' | 'mfaStatus'>, action: () => Promise<T>, options: StepUpHelperOptions): Promise<T> {
  try {
    return await action();
  } catch (err) {
    if (!isStepUpRequired(err)) throw err;
    try {
      const methods = await methodsFor(client, err);
      let error: ApiError | undefined;
      for (let attempt = 1; ; attempt++) {
        const input = await options.prompt({ methods, error, attempt });
        if (!input) throw new StepUpCancelled();
        try {
          await client.stepUp(input);
          break;
        } catch (stepErr) {
          const e = apiError(stepErr);
          if (!e || !ASK_AGAIN.has(e.code)) throw stepErr;
          error = e;
        }
      }
    } finally {
      options.done?.();
    }
    return action();
  }
}
