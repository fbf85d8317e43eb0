import type { Method } from '../../client/index.js';
import { api, client } from './api.js';
import { confirmAction } from './dialog.js';
import { eventLabel, METHOD_LABELS } from './messages.js';
import { StepUpCancelled, withStepUp } from './stepup.js';
import { $, busy, clearError, clearInvalid, copyText, el, fieldOf, fmtDate, markInvalid, showError } from './ui.js';

export interface Policy {
  mfaRequired: boolean;
  allowedMethods: Method[];
  gracePeriodDays: number;
  stepUpMaxAgeSeconds: number;
  /** `POST /auth/register` creates accounts in this tenant. */
  selfRegistration?: boolean;
  passwordlessPasskeys?: boolean;
}

interface UserView {
  id: string;
  email: string;
  name: string | null;
  roles: string[];
  /** Null until a self-registered account confirms its address. */
  emailVerifiedAt: string | null;
  /** Set while the account is disabled: it cannot sign in, and its sessions ended when it was disabled. */
  disabledAt: string | null;
  mfa: { enabled: boolean; methods: Record<string, { enabled: boolean }>; backupCodesRemaining: number };
}

interface AuditView {
  type: string;
  at: string;
  userId: string | null;
  actorId: string | null;
  details: Record<string, unknown>;
}

/** A one-time password, shown once with a copy button. */
export function showSecret(text: string, value: string): void {
  $('secret-text').textContent = text;
  $('secret-value').textContent = value;
  $('secret-status').textContent = '';
  $('secret-box').hidden = false;
  $('secret-copy').onclick = () => void copyText(value, $('secret-status'), 'Password');
  $('secret-title').focus();
}

/** The tenant's users, the add-user form, the policy form and the audit trail. */
export async function loadTenantPanels(tenant: { slug: string; name: string; policy: Policy }, selfId: string, error: HTMLElement): Promise<void> {
  const base = `/admin/tenants/${encodeURIComponent(tenant.slug)}`;
  const emails = new Map<string, string>();
  const fail = (err: unknown, overrides?: Record<string, string>) => {
    if (!(err instanceof StepUpCancelled)) showError(error, err, overrides);
  };

  const mfaText = (u: UserView): string => {
    const on = (['webauthn', 'totp', 'email_otp', 'sms_otp'] as const).filter((m) => u.mfa.methods[m]?.enabled).map((m) => METHOD_LABELS[m]!.replace(' code', '').replace(' (SMS)', ' SMS'));
    if (!on.length) return 'Not set up';
    return `${on.join(', ')} · ${u.mfa.backupCodesRemaining} backup code${u.mfa.backupCodesRemaining === 1 ? '' : 's'}`;
  };

  const statusCell = (u: UserView): HTMLTableCellElement => {
    if (u.disabledAt) return el('td', {}, el('span', { className: 'badge badge-off', textContent: 'Disabled' }), el('span', { className: 'hint', textContent: ` since ${fmtDate(u.disabledAt)}` }));
    if (!u.emailVerifiedAt) return el('td', {}, el('span', { className: 'badge badge-wait', textContent: 'Email not confirmed' }));
    return el('td', {}, el('span', { className: 'badge badge-on', textContent: 'Active' }));
  };

  const loadUsers = async () => {
    const { users } = await api<{ users: UserView[] }>('GET', `${base}/users?limit=100`);
    for (const u of users) emails.set(u.id, u.email);
    $('user-rows').replaceChildren(
      ...users.map((u) => {
        const actions = el('td', { className: 'row-actions' });
        if (u.id !== selfId) {
          // Nobody disables (or resets) their own account here: an admin would lock themselves out.
          const toggle = u.disabledAt
            ? el('button', { type: 'button', className: 'secondary small', textContent: 'Enable' })
            : el('button', { type: 'button', className: 'danger small', textContent: 'Disable' });
          toggle.setAttribute('aria-label', `${u.disabledAt ? 'Enable' : 'Disable'} ${u.email}`);
          toggle.addEventListener('click', () => void setDisabled(u, !u.disabledAt, toggle));
          actions.append(toggle);
        }
        if (u.mfa.enabled && u.id !== selfId) {
          const reset = el('button', { type: 'button', className: 'danger small', textContent: 'Reset two-step verification' });
          reset.setAttribute('aria-label', `Reset two-step verification of ${u.email}`);
          reset.addEventListener('click', () => void resetUser(u, reset));
          actions.append(reset);
        }
        return el(
          'tr',
          { className: u.disabledAt ? 'disabled' : '' },
          el('td', { textContent: u.email }),
          el('td', { textContent: u.name ?? '—' }),
          el('td', { textContent: u.roles.join(', ') }),
          statusCell(u),
          el('td', { textContent: mfaText(u) }),
          actions,
        );
      }),
    );
  };

  const loadAudit = async () => {
    const { events } = await api<{ events: AuditView[] }>('GET', `${base}/audit?limit=25`);
    // Ids outside this tenant's user list are platform administrators (superadmins).
    const who = (id: string | null) => (id ? (emails.get(id) ?? 'platform administrator') : '—');
    $('audit-rows').replaceChildren(
      ...events.map((e) =>
        el('tr', {}, el('td', { textContent: fmtDate(e.at) }), el('td', { textContent: eventLabel(e.type, e.details) }), el('td', { textContent: who(e.userId) }), el('td', { textContent: who(e.actorId) })),
      ),
    );
  };

  const resetUser = async (u: UserView, button: HTMLButtonElement) => {
    clearError(error);
    const yes = await confirmAction({
      title: 'Reset two-step verification?',
      text: `The factors and backup codes of ${u.email} are removed and they are signed out everywhere; they set up a new factor at their next sign-in.`,
      confirmLabel: 'Reset two-step verification',
      danger: true,
    });
    if (!yes) return;
    try {
      await busy(button, () => withStepUp(() => client.admin.resetMfa(tenant.slug, u.id)));
      $('notice').textContent = `Two-step verification of ${u.email} was reset and their sessions were ended.`;
      await Promise.all([loadUsers(), loadAudit()]);
    } catch (err) {
      fail(err, { forbidden: 'You cannot reset your own two-step verification here; use your security settings.' });
    }
  };

  /** Disable / enable (fresh step-up, like the MFA reset): a disabled user's sessions and sockets end at once. */
  const setDisabled = async (u: UserView, disable: boolean, button: HTMLButtonElement) => {
    clearError(error);
    $('notice').textContent = '';
    if (disable) {
      const yes = await confirmAction({
        title: `Disable ${u.email}?`,
        text: 'They are signed out everywhere at once and cannot sign in until you enable the account again. Their factors and data are kept.',
        confirmLabel: 'Disable the account',
        danger: true,
      });
      if (!yes) return;
    }
    try {
      const r = await busy(button, () => withStepUp(() => (disable ? client.admin.disableUser(tenant.slug, u.id) : client.admin.enableUser(tenant.slug, u.id))));
      // sessionsEnded counts every session id the account had on record, so it is not shown as a number.
      $('notice').textContent = disable
        ? `${u.email} is disabled${r.sessionsEnded > 0 ? ' and was signed out everywhere' : ''}. They cannot sign in until you enable the account again.`
        : `${u.email} is enabled again and can sign in.`;
      await Promise.all([loadUsers(), loadAudit()]);
    } catch (err) {
      fail(err, { forbidden: 'You cannot disable or enable your own account.', not_found: 'This user no longer exists. Reload the page.' });
    }
  };

  const userForm = $<HTMLFormElement>('user-form');
  userForm.onsubmit = async (ev) => {
    ev.preventDefault();
    clearError(error);
    clearInvalid(userForm);
    const email = $<HTMLInputElement>('u-email').value.trim();
    const name = $<HTMLInputElement>('u-name').value.trim();
    if (!email) {
      showError(error, 'Enter the new user’s email address.');
      return markInvalid($<HTMLInputElement>('u-email'), error);
    }
    try {
      const r = await busy($<HTMLButtonElement>('user-create'), () =>
        api<{ user: UserView; initialPassword: string }>('POST', `${base}/users`, { email, role: $<HTMLSelectElement>('u-role').value, ...(name ? { name } : {}) }),
      );
      userForm.reset();
      showSecret(`User ${r.user.email} added to ${tenant.name}. Their initial password:`, r.initialPassword);
      await Promise.all([loadUsers(), loadAudit()]);
    } catch (err) {
      fail(err, { conflict: 'A user with this email already exists in this organisation.' });
      const field = (err as { code?: string }).code === 'conflict' ? 'email' : fieldOf(err);
      if (field === 'email' || field === 'name') markInvalid($<HTMLInputElement>(field === 'email' ? 'u-email' : 'u-name'), error);
    }
  };

  const fillPolicy = (p: Policy) => {
    $<HTMLInputElement>('p-required').checked = p.mfaRequired;
    $<HTMLInputElement>('p-selfreg').checked = p.selfRegistration === true;
    $<HTMLInputElement>('p-passwordless').checked = p.passwordlessPasskeys === true;
    for (const box of Array.from(document.querySelectorAll<HTMLInputElement>('input[name="allowed"]'))) box.checked = p.allowedMethods.includes(box.value as Method);
    $<HTMLInputElement>('p-grace').value = String(p.gracePeriodDays);
    $<HTMLInputElement>('p-stepup').value = String(p.stepUpMaxAgeSeconds);
  };
  fillPolicy(tenant.policy);
  $<HTMLFormElement>('policy-form').onsubmit = async (ev) => {
    ev.preventDefault();
    clearError(error);
    const allowedMethods = Array.from(document.querySelectorAll<HTMLInputElement>('input[name="allowed"]:checked')).map((b) => b.value);
    const patch = {
      mfaRequired: $<HTMLInputElement>('p-required').checked,
      selfRegistration: $<HTMLInputElement>('p-selfreg').checked,
      passwordlessPasskeys: $<HTMLInputElement>('p-passwordless').checked,
      allowedMethods,
      gracePeriodDays: Number($<HTMLInputElement>('p-grace').value),
      stepUpMaxAgeSeconds: Number($<HTMLInputElement>('p-stepup').value),
    };
    try {
      const saved = await busy($<HTMLButtonElement>('policy-save'), () => withStepUp(() => api<Policy>('PATCH', `${base}/policy`, patch)));
      fillPolicy(saved);
      $('notice').textContent = 'Policy saved. It applies from each user’s next sign-in.';
      await loadAudit();
    } catch (err) {
      fail(err, {
        invalid_request: 'Check the policy: allow at least one of passkeys, authenticator app, email or SMS; the grace period is 0 to 365 days; the step-up window 1 to 86400 seconds.',
      });
    }
  };

  $('users-title').textContent = `Users of ${tenant.name}`;
  $('policy-title').textContent = `Security policy of ${tenant.name}`;
  for (const id of ['users-panel', 'policy-panel', 'audit-panel']) $(id).hidden = false;
  await loadUsers();
  await loadAudit();
}
