import { api, type SessionView } from './api.js';
import { startRealtime, type NotificationEvent, type RealtimeStatus, type RealtimeStatusDetail, type SyncStatusEvent } from './realtime-client.js';
import { $, busy, clearError, el, fmtDate, graceBanner, initAppNav, requireState, showError } from './ui.js';

const LIVE_TEXT: Record<RealtimeStatus, string> = {
  connecting: 'Live updates: connecting…',
  connected: 'Live updates: connected',
  disconnected: 'Live updates: disconnected',
};

/** A sync status: a live frame, or the last one the server kept (`GET /api/sync/last`). */
type SyncView = Omit<SyncStatusEvent, 'type' | 'tenant' | 'at'> & { at?: number | string };

/** The demo job's stage names; a progress status's message is the stage it is in. */
let stages: string[] = [];

function showProfile(s: SessionView): void {
  const u = s.user!;
  const rows: [string, string][] = [
    ['Name', u.name || '—'],
    ['Email', u.email],
    ['Organisation', u.tenant],
    ['Role', u.roles.join(', ')],
    ['Assurance', s.aal === 2 ? 'AAL 2: password and a second factor' : 'AAL 1: password only, or with an email code'],
  ];
  $('profile').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { textContent: k }), el('dd', { textContent: v })]));
}

function liveStatus(status: RealtimeStatus, detail: RealtimeStatusDetail): void {
  $('live-dot').dataset.state = status;
  let text = LIVE_TEXT[status];
  if (detail.sessionEnded) text = 'Live updates: disconnected (your session ended; sign in again)';
  else if (status === 'disconnected' && detail.reconnectInMs !== undefined) text = 'Live updates: disconnected, reconnecting…';
  $('live-text').textContent = text;
  $<HTMLButtonElement>('sync-start').disabled = status !== 'connected' || $('sync-start').hasAttribute('data-running');
}

/** The stage list: done, the one running now, and those still to come. */
function showStages(e: SyncView): void {
  const list = $('sync-stages');
  if (!stages.length) return;
  const current = Math.max(0, stages.indexOf(e.message ?? ''));
  list.replaceChildren(
    ...stages.map((name, i) => {
      const state = e.status === 'completed' || i < current ? 'done' : i === current && e.status !== 'error' ? 'active' : 'todo';
      const li = el('li', { textContent: name });
      li.dataset.state = state;
      if (state === 'active') li.setAttribute('aria-current', 'step');
      return li;
    }),
  );
  list.hidden = false;
}

/** Draws a status: a live frame, or the last one the server kept (a tab opened later). */
function showSync(e: SyncView, live: boolean): void {
  const bar = $<HTMLProgressElement>('sync-progress');
  const status = $('sync-status');
  const running = e.status === 'started' || e.status === 'progress';
  const progress = e.status === 'completed' ? 100 : (e.progress ?? 0);
  bar.value = progress;
  $('sync-percent').textContent = `${Math.round(progress)}%`;
  if (e.status === 'completed') {
    status.textContent = `${live ? 'Sync completed' : 'Last sync completed'}: ${e.recordsImported ?? 0} records imported.`;
  } else if (e.status === 'error') {
    status.textContent = `The ${live ? '' : 'last '}sync failed${e.error ? `: ${e.error}` : ''}.`;
  } else {
    status.textContent = `${e.message ?? 'Syncing'}… ${Math.round(progress)}%`;
  }
  $('sync-when').textContent = !running && e.at !== undefined ? `Finished ${fmtDate(new Date(e.at))}.` : '';
  showStages(e);
  const start = $<HTMLButtonElement>('sync-start');
  start.toggleAttribute('data-running', running);
  start.textContent = running ? 'Sync running…' : 'Start sync';
  start.disabled = running || $('live-dot').dataset.state !== 'connected';
}

function addNotification(n: Pick<NotificationEvent, 'level' | 'title' | 'message' | 'at'>): void {
  const list = $('notifications');
  list.querySelector('.empty')?.remove();
  const item = el('li', { className: `note note-${n.level}` }, el('strong', { textContent: n.title }), ` ${n.message}`);
  item.append(el('span', { className: 'note-time', textContent: fmtDate(new Date(n.at)) }));
  list.prepend(item);
}

async function main(): Promise<void> {
  const session = await requireState('authenticated');
  initAppNav(session);
  graceBanner($('grace'), session);
  showProfile(session);
  const tenant = session.user!.tenant;
  $('sync-tenant').textContent = tenant;
  const error = $('error');

  let liveSeen = false;
  const rt = startRealtime(tenant, { onStatus: liveStatus });
  rt.onSyncStatus((e) => {
    liveSeen = true;
    showSync(e as SyncView, true);
  });
  rt.onNotification(addNotification);

  // A sync that ran (or is running) before this tab opened: its last status, unless a live one came first.
  api<{ stages: string[]; last: SyncView | null }>('GET', '/api/sync/last')
    .then((view) => {
      stages = view.stages;
      if (view.last && !liveSeen) showSync(view.last, view.last.status === 'started' || view.last.status === 'progress');
    })
    .catch(() => undefined);

  const start = $<HTMLButtonElement>('sync-start');
  start.addEventListener('click', async () => {
    clearError(error);
    try {
      await busy(start, () => api('POST', '/api/sync/start'));
      // busy() enabled the button again; the run's first status may already have said it is running.
      if (start.hasAttribute('data-running')) start.disabled = true;
      if (!liveSeen) $('sync-status').textContent = 'Sync requested…';
    } catch (err) {
      showError(error, err, {
        conflict: 'A sync is already running for your organisation. Watch its progress here.',
        unauthenticated: 'Your session has ended. Please sign in again.',
      });
    }
  });
}

void main();
