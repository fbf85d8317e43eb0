/**
 * The app's live connection: passport-stepup's RealtimeClient (`client/realtime.ts`, reconnect with
 * backoff, re-join, stop on 4401) on this origin's `/ws`, joined to the user's organisation.
 *
 * One rule for every signed-in page: when the server closes the socket with 4401 (this session was
 * ended: sign out here or in another tab, "Sign out everywhere", a password change, an admin's reset
 * or disable), the page goes to the sign-in page instead of showing data that is no longer theirs.
 */
import { RealtimeClient, realtimeUrl, type RealtimeClientOptions, type RealtimeStatus, type RealtimeStatusDetail } from '../../client/index.js';

export type { NotificationEvent, RealtimeStatus, RealtimeStatusDetail, SyncStatusEvent } from '../../client/index.js';

let current: RealtimeClient | null = null;
/** Set while this tab itself signs out: its own socket's 4401 is expected, the page navigates anyway. */
let leaving = false;

export const SESSION_ENDED_PAGE = '/login?m=session_ended';

export function startRealtime(tenant: string, opts: Pick<RealtimeClientOptions, 'onStatus'> = {}): RealtimeClient {
  const rt = new RealtimeClient(realtimeUrl('/ws'), {
    onStatus: (status: RealtimeStatus, detail: RealtimeStatusDetail) => {
      opts.onStatus?.(status, detail);
      if (detail.sessionEnded && !leaving) location.assign(SESSION_ENDED_PAGE);
    },
  });
  rt.joinCompany(tenant);
  rt.connect();
  // Leaving the page closes the socket cleanly instead of letting the server time it out.
  window.addEventListener('pagehide', () => rt.close());
  current = rt;
  return rt;
}

/** Before this tab ends its own session: close the socket so its 4401 does not redirect first. */
export function stopRealtime(): void {
  leaving = true;
  current?.close();
}
