import type { Method, MfaStatus } from '../../client/index.js';
import { api, client } from './api.js';
import { renderBackupCodes } from './codes.js';
import { confirmAction } from './dialog.js';
import { eventLabel, METHOD_LABELS } from './messages.js';
import { startRealtime, stopRealtime } from './realtime-client.js';
import { StepUpCancelled, withStepUp } from './stepup.js';
import { addPasskey, describePasskeyError, passkeysSupported } from './passkeys.js';
import type { PasskeyView } from '../../client/index.js';
import { $, busy, clearError, clearInvalid, el, fmtDate, graceBanner, initAppNav, markInvalid, requireState, showError } from './ui.js';

interface SecurityEvent {
  type: string;
  at: string;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown>;
}

const error = $('error');
const notice = $('notice');

function fail(err: unknown): void {
  if (err instanceof StepUpCancelled) return;
  showError(error, err);
}

async function loadStatus(): Promise<MfaStatus> {
  const s = await client.mfaStatus();
  for (const li of Array.from(document.querySelectorAll<HTMLElement>('.factor[data-method]'))) {
    const m = li.dataset.method as 'totp' | 'email_otp' | 'sms_otp' | 'backup_code';
    const state = li.querySelector('.state')!;
    if (m === 'backup_code') {
      state.textContent = s.enabled
        ? `${s.backupCodesRemaining} unused code${s.backupCodesRemaining === 1 ? '' : 's'} left.`
        : 'You get backup codes when you set up your first second factor.';
      $<HTMLButtonElement>('regenerate').hidden = !s.enabled;
      continue;
    }
    const f = s.methods[m];
    const on = Boolean(f?.enabled);
    state.textContent = on ? `On since ${fmtDate(f!.enrolledAt)}${f!.phone ? ` · ${f!.phone}` : ''}` : 'Not set up';
    li.dataset.enabled = String(on);
    (li.querySelector('[data-action="add"]') as HTMLElement).hidden = on;
    (li.querySelector('[data-action="remove"]') as HTMLElement).hidden = !on;
  }
  renderPasskeys(s.methods.webauthn?.credentials ?? []);
  // A server without a relying party (e.g. on http://127.0.0.1: an IP address is no WebAuthn RP ID)
  // cannot register passkeys: say so instead of offering a button that fails.
  const passkeysHere = passkeysSupported() && s.methods.webauthn?.available !== false;
  $<HTMLButtonElement>('add-passkey').hidden = !passkeysHere;
  $('passkey-name').closest('.field')!.toggleAttribute('hidden', !passkeysHere);
  if (!passkeysHere && !(s.methods.webauthn?.count ?? 0)) $('passkeys-state').textContent = 'Passkeys are not available on this site.';
  $('mfa-summary').textContent = s.enabled
    ? `On. Each sign-in asks for a second factor.${s.lastVerifiedAt ? ` Last used ${fmtDate(s.lastVerifiedAt)}.` : ''}`
    : 'Off. Anyone with your password can sign in as you. Set up a second factor below.';
  return s;
}

/** The user's passkeys, each with Rename and Remove (removing needs a fresh step-up). */
function renderPasskeys(list: PasskeyView[]): void {
  const ul = $('passkeys');
  ul.replaceChildren();
  for (const p of list) {
    const rename = el('button', { type: 'button', className: 'secondary', textContent: 'Rename' });
    const remove = el('button', { type: 'button', className: 'danger', textContent: 'Remove' });
    const used = p.lastUsedAt ? `last used ${fmtDate(p.lastUsedAt)}` : 'not used yet';
    const li = el('li', { className: 'passkey' }, el('strong', { textContent: p.name }), ` · added ${fmtDate(p.createdAt)} · ${used}${p.backedUp ? ' · synced' : ''} `, rename, remove);
    li.dataset.id = p.id;
    rename.addEventListener('click', async () => {
      const name = window.prompt('New name for this passkey', p.name);
      if (!name?.trim()) return;
      try {
        await client.renamePasskey(p.id, name.trim());
        await loadStatus();
      } catch (err) {
        fail(err);
      }
    });
    remove.addEventListener('click', async () => {
      clearError(error);
      notice.textContent = '';
      const yes = await confirmAction({ title: `Remove the passkey “${p.name}”?`, text: 'You will not be able to sign in with it, and your other devices will be signed out.', confirmLabel: 'Remove passkey', danger: true });
      if (!yes) return;
      try {
        await busy(remove, () => withStepUp(() => client.removePasskey(p.id)));
        notice.textContent = 'Passkey removed. Your other devices were signed out.';
        await loadStatus();
        void loadEvents();
      } catch (err) {
        fail(err);
      }
    });
    ul.append(li);
  }
}

async function loadEvents(): Promise<void> {
  const body = $('events');
  try {
    const { events } = await api<{ events: SecurityEvent[] }>('GET', '/api/security-events');
    if (!events.length) {
      body.replaceChildren(el('tr', {}, el('td', { colSpan: 3, textContent: 'No events yet.' })));
      return;
    }
    body.replaceChildren(
      ...events.map((e) => {
        const channel = e.details.channel === 'sms' ? ' (SMS)' : e.details.channel === 'email' ? ' (email)' : '';
        const method = typeof e.details.method === 'string' ? ` (${METHOD_LABELS[e.details.method] ?? e.details.method})` : channel;
        return el(
          'tr',
          {},
          el('td', { textContent: fmtDate(e.at) }),
          el('td', { textContent: `${eventLabel(e.type, e.details)}${method}` }),
          el('td', { textContent: [e.ip, browserOf(e.userAgent)].filter(Boolean).join(' · ') || '—' }),
        );
      }),
    );
  } catch (err) {
    body.replaceChildren(el('tr', {}, el('td', { colSpan: 3, textContent: 'Could not load the events.' })));
    fail(err);
  }
}

function browserOf(ua: string | null): string {
  if (!ua) return '';
  const m = /(Firefox|Edg|Chrome|Safari)\/[\d.]+/.exec(ua);
  if (!m) return 'other client';
  return { Edg: 'Edge', Firefox: 'Firefox', Chrome: 'Chrome', Safari: 'Safari' }[m[1]!] ?? m[1]!;
}

async function main(): Promise<void> {
  const session = await requireState('authenticated');
  initAppNav(session);
  // Live only for its 4401: when this session is ended elsewhere, the page goes to sign-in.
  startRealtime(session.user!.tenant);
  graceBanner($('grace'), session);
  await loadStatus().catch(fail);
  void loadEvents();

  const add = $<HTMLButtonElement>('add-passkey');
  add.addEventListener('click', async () => {
    clearError(error);
    notice.textContent = '';
    try {
      const name = $<HTMLInputElement>('passkey-name').value.trim();
      // Adding a factor next to others needs a fresh step-up (the server says so with step_up_required).
      const r = await busy(add, () => withStepUp(() => addPasskey(name || undefined)));
      notice.textContent = `Passkey “${r.credential.name}” added.`;
      $<HTMLInputElement>('passkey-name').value = '';
      if (r.backupCodes) {
        renderBackupCodes($('backup-codes'), r.backupCodes, session.user!.email);
        $('new-codes').hidden = false;
      }
      await loadStatus();
      void loadEvents();
    } catch (err) {
      const sentence = describePasskeyError(err);
      if (sentence) showError(error, sentence);
      else fail(err);
    }
  });

  for (const li of Array.from(document.querySelectorAll<HTMLElement>('.factor[data-method]'))) {
    const remove = li.querySelector<HTMLButtonElement>('[data-action="remove"]');
    if (!remove) continue;
    const method = li.dataset.method as Method;
    remove.addEventListener('click', async () => {
      clearError(error);
      notice.textContent = '';
      const label = METHOD_LABELS[method] ?? method;
      const yes = await confirmAction({
        title: `Remove ${label.toLowerCase()}?`,
        text: `You will not be able to use it to sign in, and your other devices will be signed out.`,
        confirmLabel: `Remove ${label.toLowerCase()}`,
        danger: true,
      });
      if (!yes) return;
      try {
        await busy(remove, () => withStepUp(() => client.disableMethod(method)));
        notice.textContent = `${METHOD_LABELS[method] ?? method} removed. Your other devices were signed out.`;
        await loadStatus();
        void loadEvents();
      } catch (err) {
        fail(err);
      }
    });
  }

  const regenerate = $<HTMLButtonElement>('regenerate');
  regenerate.addEventListener('click', async () => {
    clearError(error);
    notice.textContent = '';
    try {
      const r = await busy(regenerate, () => withStepUp(() => client.regenerateBackupCodes()));
      renderBackupCodes($('backup-codes'), r.backupCodes, session.user!.email);
      $('new-codes').hidden = false;
      ($('new-codes').querySelector('h3') as HTMLElement).focus();
      await loadStatus();
      void loadEvents();
    } catch (err) {
      fail(err);
    }
  });

  const form = $<HTMLFormElement>('password-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    notice.textContent = '';
    clearInvalid(form);
    const current = $<HTMLInputElement>('current-password');
    const next = $<HTMLInputElement>('new-password');
    const currentPassword = current.value;
    const newPassword = next.value;
    if (!currentPassword || !newPassword) {
      showError(error, 'Enter your current password and a new one.');
      return markInvalid(currentPassword ? next : current, error);
    }
    try {
      await busy($<HTMLButtonElement>('password-submit'), () => withStepUp(() => client.changePassword({ currentPassword, newPassword })));
      form.reset();
      notice.textContent = 'Password changed. Your other devices were signed out.';
      void loadEvents();
    } catch (err) {
      if (err instanceof StepUpCancelled) return;
      showError(error, err, { invalid_credentials: 'Your current password is not correct.', not_found: 'Changing the password is not available on this server.' });
      // The password the server refused: the current one (wrong) or the new one (its rule).
      if ((err as { code?: string }).code === 'invalid_credentials') markInvalid(current, error);
      else if ((err as { code?: string }).code === 'invalid_request') markInvalid(next, error);
    }
  });

  void loadSessions().catch(fail);
  void loadDevices().catch(fail);

  const all = $<HTMLButtonElement>('logout-all');
  all.addEventListener('click', async () => {
    clearError(error);
    const yes = await confirmAction({
      title: 'Sign out everywhere?',
      text: 'Every browser and device signed in to your account is signed out, this one included. You will need your password and second factor to sign in again.',
      confirmLabel: 'Sign out everywhere',
      danger: true,
    });
    if (!yes) return;
    try {
      // This tab's socket closes too (4401); it must not redirect before the answer is in.
      stopRealtime();
      await busy(all, () => client.logoutAll());
      location.assign('/login?m=signed_out_all');
    } catch (err) {
      fail(err);
    }
  });
}

const methodLabel = (m: string) => (m === 'remembered_device' ? 'Remembered browser' : (METHOD_LABELS as Record<string, string>)[m] ?? m);

/** Where the user is signed in, with a "Sign out" per row (the app's own confirm dialog). */
async function loadSessions(): Promise<void> {
  const { sessions, truncated } = await client.listSessions();
  const body = $('sessions');
  body.replaceChildren();
  $('sessions-truncated').hidden = !truncated;
  for (const s of sessions) {
    const out = el('button', { type: 'button', className: s.current ? 'secondary' : 'danger', textContent: s.current ? 'Sign out (this browser)' : 'Sign out' });
    out.dataset.session = s.id;
    out.addEventListener('click', async () => {
      clearError(error);
      const yes = await confirmAction({
        title: s.current ? 'Sign out of this browser?' : `Sign out ${s.userAgent}?`,
        text: s.current ? 'This browser is signed out now.' : `The session of ${s.userAgent}${s.ip ? ` (${s.ip})` : ''} ends at once; its open pages are signed out.`,
        confirmLabel: 'Sign out',
        danger: true,
      });
      if (!yes) return;
      try {
        if (s.current) stopRealtime();
        await busy(out, () => client.endSession(s.id));
        if (s.current) return location.assign('/login?m=signed_out');
        notice.textContent = `${s.userAgent} was signed out.`;
        await loadSessions();
        void loadEvents();
      } catch (err) {
        fail(err);
      }
    });
    const name = el('td', { textContent: s.current ? `${s.userAgent} (this browser)` : s.userAgent });
    body.append(
      el('tr', {}, name, el('td', { textContent: fmtDate(s.createdAt) }), el('td', { textContent: fmtDate(s.lastSeenAt) }), el('td', { textContent: s.ip ?? '' }),
        el('td', { textContent: s.state === 'authenticated' ? (s.methods.length ? s.methods.map(methodLabel).join(', ') : 'Password only') : 'Signing in…' }),
        el('td', {}, out)),
    );
  }
}

/** Remembered browsers (shown when the organisation allows them or some remain). */
async function loadDevices(): Promise<void> {
  const { devices, rememberDeviceDays } = await client.listDevices();
  $('devices-card').hidden = devices.length === 0 && rememberDeviceDays === 0;
  const list = $('devices');
  list.replaceChildren();
  if (!devices.length) list.append(el('li', { textContent: 'No browser is remembered.' }));
  for (const d of devices) {
    const forget = el('button', { type: 'button', className: 'secondary', textContent: 'Forget' });
    forget.dataset.device = d.id;
    forget.addEventListener('click', async () => {
      clearError(error);
      const yes = await confirmAction({ title: `Forget ${d.label}?`, text: 'Its next sign-in asks for your second factor again.', confirmLabel: 'Forget this browser', danger: true });
      if (!yes) return;
      try {
        await busy(forget, () => client.forgetDevice(d.id));
        notice.textContent = `${d.label} is no longer remembered.`;
        await loadDevices();
      } catch (err) {
        fail(err);
      }
    });
    const text = `${d.label}${d.current ? ' (this browser)' : ''} · remembered ${fmtDate(d.createdAt)} · ${d.lastUsedAt ? `last used ${fmtDate(d.lastUsedAt)}` : 'not used yet'} · until ${fmtDate(d.expiresAt)}`;
    list.append(el('li', {}, el('span', { textContent: text }), forget));
  }
}

void main();
