import { api, isAdmin, isSuperadmin } from './api.js';
import { startRealtime } from './realtime-client.js';
import { loadTenantPanels, showSecret, type Policy } from './admin-tenant.js';
import { $, busy, clearError, clearInvalid, el, fieldOf, fmtDate, initAppNav, markInvalid, requireState, showError } from './ui.js';

interface TenantView {
  slug: string;
  name: string;
  policy: Policy;
  createdAt: string;
}

const error = $('error');

async function loadTenants(current: string | null): Promise<TenantView[]> {
  const { tenants } = await api<{ tenants: TenantView[] }>('GET', '/admin/tenants');
  $('tenant-rows').replaceChildren(
    ...tenants.map((t) => {
      const manage = el('a', { href: `/admin?tenant=${encodeURIComponent(t.slug)}`, textContent: 'Manage' });
      manage.setAttribute('aria-label', `Manage ${t.name}`);
      if (t.slug === current) manage.setAttribute('aria-current', 'true');
      return el(
        'tr',
        { className: t.slug === current ? 'selected' : '' },
        el('td', {}, el('code', { textContent: t.slug })),
        el('td', { textContent: t.name }),
        el('td', { textContent: t.policy.mfaRequired ? 'Required' : 'Optional' }),
        el('td', { textContent: fmtDate(t.createdAt) }),
        el('td', {}, manage),
      );
    }),
  );
  return tenants;
}

function wireTenantForm(): void {
  const form = $<HTMLFormElement>('tenant-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    clearInvalid(form);
    const v = (id: string) => $<HTMLInputElement>(id).value.trim();
    const missing = ['t-slug', 't-name', 't-admin-email'].find((id) => !v(id));
    if (missing) {
      showError(error, 'Enter the short name, the name and the administrator’s email.');
      return markInvalid($<HTMLInputElement>(missing), error);
    }
    const body: Record<string, unknown> = {
      slug: v('t-slug').toLowerCase(),
      name: v('t-name'),
      admin: { email: v('t-admin-email'), ...(v('t-admin-name') ? { name: v('t-admin-name') } : {}) },
    };
    if ($<HTMLInputElement>('t-mfa').checked) body.policy = { mfaRequired: true };
    try {
      const r = await busy($<HTMLButtonElement>('tenant-create'), () =>
        api<{ tenant: TenantView; admin: { email: string }; initialPassword: string }>('POST', '/admin/tenants', body),
      );
      form.reset();
      showSecret(`Organisation “${r.tenant.name}” (${r.tenant.slug}) created. Initial password for its administrator ${r.admin.email}:`, r.initialPassword);
      await loadTenants(null);
    } catch (err) {
      showError(error, err, {
        conflict: 'An organisation with this short name already exists. Choose another one.',
        invalid_request: 'Check the form: the short name takes lower-case letters, digits and dashes, and the email must be valid.',
      });
      // The field to fix: the one the server named, or the short name that is taken.
      const byField: Record<string, string> = { slug: 't-slug', name: 't-name', 'admin.email': 't-admin-email', 'admin.name': 't-admin-name' };
      const id = (err as { code?: string }).code === 'conflict' ? 't-slug' : byField[fieldOf(err) ?? ''];
      if (id) markInvalid($<HTMLInputElement>(id), error);
    }
  });
}

async function main(): Promise<void> {
  const session = await requireState('authenticated');
  initAppNav(session);
  startRealtime(session.user!.tenant);
  $('secret-dismiss').addEventListener('click', () => {
    $('secret-box').hidden = true;
    $('secret-value').textContent = '';
  });
  if (!isAdmin(session.user)) {
    showError(error, 'This page is for administrators. Ask your organisation’s administrator if you need access.');
    return;
  }
  if (session.aal !== 2) {
    showError(error, 'The admin area needs a sign-in with an authenticator app, an SMS code or a backup code; an email code alone is not enough. Sign out and sign in again with one of those.');
    return;
  }
  const superadmin = isSuperadmin(session.user);
  const wanted = new URLSearchParams(location.search).get('tenant');
  const slug = superadmin ? wanted : session.user!.tenant;
  try {
    if (superadmin) {
      $('tenants').hidden = false;
      wireTenantForm();
      const tenants = await loadTenants(slug);
      const t = tenants.find((x) => x.slug === slug);
      if (t) await loadTenantPanels({ slug: t.slug, name: t.name, policy: t.policy }, session.user!.id, error);
    } else if (slug) {
      const t = await api<TenantView>('GET', '/api/tenant');
      await loadTenantPanels({ slug, name: t.name, policy: t.policy }, session.user!.id, error);
    }
  } catch (err) {
    showError(error, err);
  }
}

void main();
