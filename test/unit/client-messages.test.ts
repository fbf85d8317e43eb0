/**
 * The example app's sentences for the client's errors (example-app/public/messages.ts): a refusal
 * shows the server's own reason when it gives one, never the generic "not allowed" for everything.
 */
import { describeError, ERROR_SENTENCES } from '../../example-app/public/messages';

/** The shape of the client's ApiError (messages.ts reads it duck-typed). */
function apiError(code: string, message: string, retryAfter?: number): Error {
  return Object.assign(new Error(message), { name: 'ApiError', code, retryAfter });
}

describe('describeError', () => {
  it('shows the server’s reason for a refused method', () => {
    const reason = 'Administrators need an authenticator app or a phone before email codes.';
    expect(describeError(apiError('method_not_allowed', reason))).toBe(reason);
  });

  it('keeps the general sentence when the server gives only the generic one', () => {
    expect(describeError(apiError('method_not_allowed', 'This second-factor method is not allowed here.'))).toBe(ERROR_SENTENCES.method_not_allowed);
  });

  it('says when to try again for a rate limit, never the raw code', () => {
    const text = describeError(apiError('rate_limited', 'Too many requests; try again later.', 40));
    expect(text).toContain('in 40 seconds');
    expect(text).not.toContain('rate_limited');
  });
});
