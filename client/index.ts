/**
 * `passport-stepup/client`: the browser side of passport-stepup. ES modules, no Node API, no
 * dependency. Three parts:
 * - `createClient()`: a typed fetch wrapper for every route of `stepUp.router` and `stepUp.adminRouter`;
 * - `withStepUp()`: run a sensitive action, and on `step_up_required` ask for a code, verify it, retry once;
 * - `RealtimeClient`: the WebSocket client (reconnect with backoff, re-join rooms, stop on 4401).
 *
 * @example
 * import { createClient, withStepUp, RealtimeClient, realtimeUrl } from 'passport-stepup/client';
 * const api = createClient();
 * await withStepUp(api, () => api.disableMethod('sms_otp'), { prompt: askForCode });
 * const rt = new RealtimeClient(realtimeUrl('/ws'));
 * rt.connect();
 */
export { ApiError, createClient, isApiError } from './http.js';
export type { ClientOptions, FetchLike, HttpMethod, StepUpClient } from './http.js';
export { StepUpCancelled, isStepUpRequired, withStepUp } from './stepup.js';
export type { StepUpHelperOptions, StepUpPromptContext } from './stepup.js';
export { RealtimeClient, realtimeUrl } from './realtime.js';
export type { NotificationEvent, RealtimeClientOptions, RealtimeStatus, RealtimeStatusDetail, SyncStatusEvent } from './realtime.js';
export type * from './types.js';
