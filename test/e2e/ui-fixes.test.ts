/**
 * The example app as testers found it (issue 15) and the open redirect after sign-in (issue 12
 * item 4), in Chromium: one browser, one app, each case on its own context where sessions must differ.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { describeWithChromium } from '../helpers/services';
import { expectText, launchBrowser, newSession, shot, signIn, startE2eApp, type E2eApp } from '../helpers/browser';

jest.setTimeout(120_000);

const CODE_RE = /\b(\d{6})\b/;

describeWithChromium('e2e: example app fixes (issue 15) and the sign-in redirect (issue 12)', () => {
  let app: E2eApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const problems: string[][] = [];
  const alice = 'alice@acme.test';
  const admin = 'admin@acme.test';
  let adminSecret = '';

  const session = async (): Promise<Page> => {
    const s = await newSession(browser);
    contexts.push(s.context);
    problems.push(s.problems);
    return s.page;
  };
  /** The newest code mailed or texted to `to` (the dev outbox, read in-process). */
  const lastMessage = (to: string) => {
    const m = app.running.ex.outbox!.list({ to })[0];
    if (!m) throw new Error(`no message to ${to}`);
    return { subject: m.subject, code: CODE_RE.exec(m.text)?.[1] ?? '' };
  };

  beforeAll(async () => {
    app = await startE2eApp();
    browser = await launchBrowser();
    const { stepUp } = app.running.ex;
    // A tenant whose policy requires a second factor at once: its users enrol at first sign-in.
    const globex = await stepUp.createTenant({ slug: 'globex', name: 'Globex', policy: { mfaRequired: true, gracePeriodDays: 0 } });
    for (const email of ['gina@globex.test', 'sam@globex.test']) {
      await stepUp.createUser({ tenantId: globex.id, email, password: 'globex-password-123', roles: ['user'] });
    }
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await app?.close();
  });

  // Page errors and CSP violations in any tab of the test; then its contexts close (an open page keeps
  // its timers and socket running through the rest of the file).
  afterEach(async () => {
    const seen = problems.splice(0).flat();
    for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
    expect(seen).toEqual([]);
  });

  it('issue 12 #4: ?next= with a tab, CR or LF after the first slash stays on the app', async () => {
    const page = await session();
    const origin = new URL(app.url).origin;
    // Tab, CR, LF after the first slash (backslashes and other forms: test/unit/client-safe-next.test.ts).
    for (const next of ['/\t/evil.example', '/\r/evil.example/x', '/\n/evil.example']) {
      await page.context().clearCookies();
      await page.goto(`${app.url}/login?next=${encodeURIComponent(next)}`);
      await page.getByLabel('Organisation').fill('acme');
      await page.getByLabel('Email').fill(alice);
      await page.getByLabel('Password').fill(app.passwords.get(alice)!);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => !u.pathname.startsWith('/login'));
      await page.waitForLoadState('load');
      expect([JSON.stringify(next), new URL(page.url()).origin]).toEqual([JSON.stringify(next), origin]);
      expect(new URL(page.url()).pathname).toBe('/');
    }
    // A same-origin path is still followed.
    await page.context().clearCookies();
    await page.goto(`${app.url}/login?next=${encodeURIComponent('/security')}`);
    await page.getByLabel('Organisation').fill('acme');
    await page.getByLabel('Email').fill(alice);
    await page.getByLabel('Password').fill(app.passwords.get(alice)!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${app.url}/security`);
  });

  it('a bad organisation marks that field (aria-invalid, a red border) and focuses it', async () => {
    const page = await session();
    await page.goto(`${app.url}/login`);
    await page.getByLabel('Organisation').fill('Acme Corp!');
    await page.getByLabel('Email').fill(alice);
    await page.getByLabel('Password').fill('whatever-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(page, '#error', 'The organisation is its short name');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tenant');
    expect(await page.locator('#tenant').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#email').getAttribute('aria-invalid')).toBeNull();
    const border = await page.locator('#tenant').evaluate((e) => getComputedStyle(e).borderTopColor);
    expect(border).toBe('rgb(185, 28, 28)');
    await shot(page, 'login-bad-organisation');
    // Typing clears the mark.
    await page.getByLabel('Organisation').fill('acme');
    expect(await page.locator('#tenant').getAttribute('aria-invalid')).toBeNull();

    // The sign-up page: the organisation, not the email field, is the one to fix.
    await page.goto(`${app.url}/register`);
    await page.getByLabel('Organisation').fill('Bad Org');
    await page.getByLabel('Email').fill('new@acme.test');
    await page.getByLabel('Password').fill('a-long-enough-password');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expectText(page, '#error', 'The organisation is its short name');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tenant');
    expect(await page.locator('#tenant').getAttribute('aria-invalid')).toBe('true');
  });

  it('forced enrolment of an admin: no email codes as first factor; the app header; TOTP backup-code text', async () => {
    const page = await session();
    await signIn(page, app.url, 'acme', admin, app.passwords.get(admin)!);
    await page.waitForURL('**/enrol');
    await page.getByRole('heading', { name: 'Choose a method' }).waitFor();
    // The app header, without links that would only lead back here; Sign out is there.
    expect(await page.locator('.site-header').isVisible()).toBe(true);
    expect(await page.getByRole('link', { name: 'Security', exact: true }).isVisible()).toBe(false);
    expect(await page.locator('#logout').isVisible()).toBe(true);
    // Email codes are never an administrator's first factor: not offered at all.
    expect(await page.getByRole('button', { name: /Authenticator app/ }).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: /Email codes/ }).isVisible()).toBe(false);
    await shot(page, 'enrol-forced-admin');
    await page.getByRole('button', { name: /Authenticator app/ }).click();
    const secretEl = page.locator('#secret');
    await page.waitForFunction(() => (document.getElementById('secret')?.textContent ?? '').length > 10);
    adminSecret = (await secretEl.textContent())!.trim();
    await page.getByLabel('Code from the app').fill(app.nextTotp(adminSecret));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Save your backup codes' }).waitFor();
    await expectText(page, '#step-codes', 'If you lose your phone or the authenticator app');
    await page.getByLabel('I have saved my backup codes').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${app.url}/`);
  });

  it('the admin users table scrolls inside its card on a phone; the page itself does not', async () => {
    const page = await session();
    await signIn(page, app.url, 'acme', admin, app.passwords.get(admin)!);
    await page.waitForURL('**/challenge');
    await page.getByRole('textbox', { name: 'Authenticator code' }).fill(app.nextTotp(adminSecret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${app.url}/`);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${app.url}/admin`);
    await expectText(page, '#user-rows', alice);
    const sizes = await page.evaluate(() => {
      const region = document.getElementById('user-rows')!.closest('.table-scroll') as HTMLElement | null;
      return {
        page: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
        region: region ? { scroll: region.scrollWidth, client: region.clientWidth, role: region.getAttribute('role'), label: region.getAttribute('aria-label') } : null,
      };
    });
    expect(sizes.page).toBeLessThanOrEqual(sizes.viewport);
    expect(sizes.region).not.toBeNull();
    expect(sizes.region!.scroll).toBeGreaterThan(sizes.region!.client);
    expect(sizes.region!.role).toBe('region');
    await shot(page, 'admin-phone');
  });

  it('the 5th wrong code says the sign-in was dropped, on the sign-in page', async () => {
    const page = await session();
    await signIn(page, app.url, 'acme', admin, app.passwords.get(admin)!);
    await page.waitForURL('**/challenge');
    const code = page.getByRole('textbox', { name: 'Authenticator code' });
    for (let i = 0; i < 4; i++) {
      await code.fill(String(100000 + i));
      await page.getByRole('button', { name: 'Verify' }).click();
      await expectText(page, '#error', 'That code is not correct');
      expect(await page.locator('#code').getAttribute('aria-invalid')).toBe('true');
      await page.locator('#error').evaluate((e) => (e.textContent = ''));
    }
    await code.fill('100009');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL('**/login?m=too_many_codes');
    await expectText(page, '#notice', 'Too many wrong codes: this sign-in was stopped');
    await shot(page, 'login-too-many-codes');
  });

  it('forced email enrolment shows the masked address, its own mail subject, and email-fitting backup-code text', async () => {
    const page = await session();
    await signIn(page, app.url, 'globex', 'gina@globex.test', 'globex-password-123');
    await page.waitForURL('**/enrol');
    await page.getByRole('button', { name: /Email codes/ }).click();
    await expectText(page, '#email-address', 'g***@g***.test');
    await page.getByRole('button', { name: 'Send code' }).click();
    await expectText(page, '#email-status', 'Code sent to g***@g***.test');
    const mail = lastMessage('gina@globex.test');
    expect(mail.subject).toMatch(/two-step verification/);
    expect(mail.subject).not.toMatch(/Confirm your email address/);
    await shot(page, 'enrol-forced-email');
    await page.getByLabel('Code from the email').fill(mail.code);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Save your backup codes' }).waitFor();
    const text = await page.locator('#step-codes').textContent();
    expect(text).toContain('If you cannot get into your mailbox');
    expect(text).not.toContain('lose your phone');
    expect(await page.locator('#backup-code-list li').count()).toBe(10);
  });

  it('forced SMS enrolment shows the backup codes the server returned; a later factor says the codes stay', async () => {
    const page = await session();
    await signIn(page, app.url, 'globex', 'sam@globex.test', 'globex-password-123');
    await page.waitForURL('**/enrol');
    await page.getByRole('button', { name: /Text message/ }).click();
    await page.getByLabel('Mobile number').fill('+1 202 555 0123');
    await page.getByRole('button', { name: 'Text me a code' }).click();
    await expectText(page, '#sms-status', 'Code sent to');
    await page.getByLabel('Code from the text message').fill(lastMessage('+12025550123').code);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Save your backup codes' }).waitFor();
    expect(await page.locator('#backup-code-list li').count()).toBe(10);
    await expectText(page, '#step-codes', 'If you lose your phone or change your number');
    expect(await page.locator('.steps li[data-step="codes"]').getAttribute('aria-current')).toBe('step');
    await shot(page, 'enrol-forced-sms-codes');
    await page.getByLabel('I have saved my backup codes').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${app.url}/`);

    // A second factor added from Security brings no new codes: the page says so, and highlights no step.
    await page.goto(`${app.url}/enrol?method=email_otp&from=security`);
    await page.getByRole('button', { name: 'Send code' }).click();
    await expectText(page, '#email-status', 'Code sent to s***@g***.test');
    await page.getByLabel('Code from the email').fill(lastMessage('sam@globex.test').code);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Two-step verification is on' }).waitFor();
    await expectText(page, '#done-text', 'Your backup codes have not changed.');
    expect(await page.locator('.steps li[aria-current]').count()).toBe(0);
  });

  it('sync: named stages over 10-20 s in production, the last result in a tab opened later, a real notification', async () => {
    const page = await session();
    await signIn(page, app.url, 'acme', alice, app.passwords.get(alice)!);
    await page.waitForURL(`${app.url}/`);
    await page.waitForFunction(() => document.getElementById('live-dot')?.dataset.state === 'connected');
    await page.getByRole('button', { name: 'Start sync' }).click();
    await expectText(page, '#sync-status', 'Sync completed');
    expect(await page.locator('#sync-stages li[data-state="done"]').count()).toBe(5);
    await expectText(page, '#notifications', 'Sync finished');
    await expectText(page, '#notifications', 'records imported for acme');
    expect(await page.locator('#notifications .empty').count()).toBe(0);
    await shot(page, 'dashboard-sync-notification');

    const later = await page.context().newPage();
    await later.goto(`${app.url}/`);
    await expectText(later, '#sync-status', 'Last sync completed');
    await expectText(later, '#sync-when', 'Finished');
    expect(await later.locator('#sync-stages li[data-state="done"]').count()).toBe(5);
    await later.close();
  });

  it('enrolment from Security has the app header; Sign out everywhere asks first, and other tabs go to sign-in', async () => {
    const a = await session();
    const b = await session();
    await signIn(b, app.url, 'acme', alice, app.passwords.get(alice)!);
    await b.waitForURL(`${app.url}/`);
    await b.waitForFunction(() => document.getElementById('live-dot')?.dataset.state === 'connected');

    await signIn(a, app.url, 'acme', alice, app.passwords.get(alice)!);
    await a.waitForURL(`${app.url}/`);
    await a.goto(`${app.url}/enrol?method=sms_otp&from=security`);
    await a.getByRole('heading', { name: 'Add your phone number' }).waitFor();
    expect(await a.getByRole('link', { name: 'Security', exact: true }).isVisible()).toBe(true);
    await expectText(a, '#nav-user', alice);
    expect(await a.getByRole('button', { name: 'Sign out', exact: true }).isVisible()).toBe(true);

    await a.goto(`${app.url}/security`);
    await a.getByRole('button', { name: 'Sign out everywhere' }).click();
    const dialog = a.getByRole('dialog', { name: 'Sign out everywhere?' });
    await dialog.waitFor();
    // Focus starts on Cancel: Enter alone never signs everyone out.
    expect(await a.evaluate(() => document.activeElement?.id)).toBe('confirm-cancel');
    await shot(a, 'security-signout-everywhere-dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(new URL(a.url()).pathname).toBe('/security');
    expect(new URL(b.url()).pathname).toBe('/');

    await a.getByRole('button', { name: 'Sign out everywhere' }).click();
    await dialog.getByRole('button', { name: 'Sign out everywhere' }).click();
    await a.waitForURL('**/login?m=signed_out_all');
    await b.waitForURL('**/login?m=session_ended');
    await expectText(b, '#notice', 'Your session ended');
  });
});
