import { api, type Method } from './api.js';
import { $, busy, clearError, NOTICES, pageFor, requireState, showError } from './ui.js';

interface LoginAnswer {
  state: 'authenticated' | 'mfa_required' | 'enrollment_required';
  methods?: Method[];
}

/** Only same-site paths: `?next=https://evil.example` must not turn this page into an open redirect. */
function safeNext(): string {
  const next = new URLSearchParams(location.search).get('next') ?? '/';
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

async function main(): Promise<void> {
  // A half-finished sign-in may start over here (the new login replaces it); a full one goes home.
  await requireState('anonymous', 'mfa_required', 'enrollment_required');
  const form = $<HTMLFormElement>('login-form');
  const error = $('error');
  const tenant = $<HTMLInputElement>('tenant');
  const email = $<HTMLInputElement>('email');
  const password = $<HTMLInputElement>('password');
  const submit = $<HTMLButtonElement>('login-submit');

  const params = new URLSearchParams(location.search);
  const notice = NOTICES[params.get('m') ?? ''];
  if (notice) $('notice').textContent = notice;
  tenant.value = params.get('tenant') ?? localStorage.getItem('stepup-demo-tenant') ?? '';
  (tenant.value ? email : tenant).focus();

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError(error);
    const missing = [tenant, email, password].find((i) => !i.value.trim());
    if (missing) {
      showError(error, `Please enter your ${missing === tenant ? 'organisation' : missing === email ? 'email' : 'password'}.`);
      missing.focus();
      return;
    }
    try {
      const slug = tenant.value.trim().toLowerCase();
      const r = await busy(submit, () => api<LoginAnswer>('POST', '/auth/login', { tenant: slug, email: email.value.trim(), password: password.value }));
      localStorage.setItem('stepup-demo-tenant', slug);
      location.assign(r.state === 'authenticated' ? safeNext() : pageFor({ state: r.state }));
    } catch (err) {
      showError(error, err);
      password.value = '';
      password.focus();
    }
  });
}

void main();
