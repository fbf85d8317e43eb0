import { api, type SessionView } from './api.js';
import { RealtimeClient, type RealtimeStatus, type RealtimeStatusDetail, type SyncStatusEvent } from './realtime-client.js';
import { $, busy, clearError, el, graceBanner, initAppNav, requireState, showError } from './ui.js';

const LIVE_TEXT: Record<RealtimeStatus, string> = {
  connecting: 'Live updates: connecting…',
  connected: 'Live updates: connected',
  disconnected: 'Live updates: disconnected',
};

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
  $<HTMLButtonElement>('sync-start').disabled = status !== 'connected';
}

function onSync(e: SyncStatusEvent): void {
  const bar = $<HTMLProgressElement>('sync-progress');
  const status = $('sync-status');
  if (typeof e.progress === 'number') {
    bar.value = e.progress;
    $('sync-percent').textContent = `${Math.round(e.progress)}%`;
  }
  if (e.status === 'completed') {
    bar.value = 100;
    $('sync-percent').textContent = '100%';
    status.textContent = `Sync completed: ${e.recordsImported ?? 0} records imported.`;
  } else if (e.status === 'error') {
    status.textContent = `The sync failed${e.error ? `: ${e.error}` : ''}.`;
  } else {
    status.textContent = `${e.message ?? 'Syncing'}… ${Math.round(e.progress ?? 0)}%`;
  }
  $('sync-start').toggleAttribute('data-running', e.status === 'started' || e.status === 'progress');
}

async function main(): Promise<void> {
  const session = await requireState('authenticated');
  initAppNav(session);
  graceBanner($('grace'), session);
  showProfile(session);
  const tenant = session.user!.tenant;
  $('sync-tenant').textContent = tenant;
  const error = $('error');

  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const rt = new RealtimeClient(`${scheme}://${location.host}/ws`, { onStatus: liveStatus });
  rt.onSyncStatus(onSync);
  rt.onNotification((n) => {
    const list = $('notifications');
    list.querySelector('.empty')?.remove();
    list.prepend(el('li', { className: `note note-${n.level}` }, el('strong', { textContent: n.title }), ` ${n.message}`));
  });
  rt.joinCompany(tenant);
  rt.connect();
  // Leaving the page closes the socket cleanly instead of letting the server time it out.
  window.addEventListener('pagehide', () => rt.close());

  const start = $<HTMLButtonElement>('sync-start');
  start.addEventListener('click', async () => {
    clearError(error);
    try {
      await busy(start, () => api('POST', '/api/sync/start'));
      $('sync-status').textContent = 'Sync requested…';
    } catch (err) {
      showError(error, err, {
        conflict: 'A sync is already running for your organisation. Watch its progress here.',
        unauthenticated: 'Your session has ended. Please sign in again.',
      });
    }
  });
}

void main();
