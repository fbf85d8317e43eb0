/**
 * What people see when things go wrong, in Chromium: a wrong code, a sign-in that expired, the
 * account lockout, and the grace period (banner while it runs, forced enrolment after it).
 * The app runs with a lockout after 3 wrong codes so the test does not need 10.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { describeWithChromium } from '../helpers/services';
import { enrolTotpOnPage, expectText, launchBrowser, newSession, shot, signIn, startE2eApp, type E2eApp } from '../helpers/browser';

jest.setTimeout(120_000);

describeWithChromium('e2e: errors, lockout and the grace period', () => {
  let app: E2eApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  let secret = '';
  const bob = 'bob@acme.test';

  beforeAll(async () => {
    app = await startE2eApp({ stepUp: { lockout: { maxFailures: 3, lockSeconds: 900 } } });
    browser = await launchBrowser();
    ({ context, page, problems } = await newSession(browser));
    // Bob sets up an authenticator app first.
    await signIn(page, app.url, 'acme', bob, app.passwords.get(bob)!);
    await page.waitForURL(`${app.url}/`);
    await page.goto(`${app.url}/enrol?method=totp`);
    ({ secret } = await enrolTotpOnPage(page, app));
    await page.waitForURL(`${app.url}/`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL('**/login?m=signed_out');
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
  });

  afterEach(() => expect(problems).toEqual([]));

  it('signs in from the keyboard alone, in a sensible focus order, with the error announced', async () => {
    await page.goto(`${app.url}/login`);
    const order: string[] = [];
    await page.locator('#tenant').focus();
    for (let i = 0; i < 4; i++) {
      order.push(await page.evaluate(() => document.activeElement?.id ?? ''));
      await page.keyboard.press('Tab');
    }
    expect(order).toEqual(['tenant', 'email', 'password', 'login-submit']);
    expect(await page.locator('#error').getAttribute('role')).toBe('alert');
    // The organisation is remembered from the last sign-in; type it anyway.
    await page.locator('#tenant').fill('');
    await page.locator('#tenant').focus();
    await page.keyboard.type('acme');
    await page.keyboard.press('Tab');
    await page.keyboard.type(bob);
    await page.keyboard.press('Tab');
    await page.keyboard.type(app.passwords.get(bob)!);
    await page.keyboard.press('Enter');
    await page.waitForURL('**/challenge');
    // The code field gets focus once the page has loaded its session: wait for it (bounded), then type.
    await page.waitForFunction(() => document.activeElement?.id === 'code', undefined, { timeout: 5000 });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('code');
    await page.keyboard.type(app.nextTotp(secret));
    await page.keyboard.press('Enter');
    await page.waitForURL(`${app.url}/`);
    expect(await page.locator('#sync-status').getAttribute('aria-live')).toBe('polite');
    expect(await page.locator('#live').getAttribute('role')).toBe('status');
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL('**/login?m=signed_out');
  });

  it('a wrong password is one sentence that does not say which part was wrong', async () => {
    await signIn(page, app.url, 'acme', bob, 'not the password');
    await expectText(page, '#error', 'The organisation, email or password is not correct.');
    expect(await page.locator('#password').inputValue()).toBe('');
    await shot(page, 'login-wrong-password');
  });

  it('a sign-in left waiting too long must start again with the password', async () => {
    await signIn(page, app.url, 'acme', bob, app.passwords.get(bob)!);
    await page.waitForURL('**/challenge');
    app.clock.advance(301);
    await page.getByRole('textbox', { name: 'Authenticator code' }).fill(app.nextTotp(secret));
    await page.getByRole('button', { name: 'Verify' }).click();
    // The waiting sign-in is gone: back to the sign-in page, which says why.
    await page.waitForURL('**/login?m=login_expired');
    await expectText(page, '#notice', 'This sign-in took too long');
    await shot(page, 'challenge-expired');
  });

  it('shows the lockout in words, with when to try again', async () => {
    await signIn(page, app.url, 'acme', bob, app.passwords.get(bob)!);
    await page.waitForURL('**/challenge');
    const code = page.getByRole('textbox', { name: 'Authenticator code' });
    for (let i = 0; i < 3; i++) {
      await code.fill(String(111111 + i));
      await page.getByRole('button', { name: 'Verify' }).click();
      await expectText(page, '#error', 'That code is not correct');
      await page.locator('#error').evaluate((e) => (e.textContent = ''));
    }
    // Even the right code is refused while the account is locked.
    await code.fill(app.nextTotp(secret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await expectText(page, '#error', 'your account is locked for now');
    await expectText(page, '#error', 'You can try again in 15 minutes.');
    expect(await page.locator('#error').textContent()).not.toMatch(/account_locked|423/);
    await shot(page, 'challenge-locked');
  });

  it('shows the grace-period banner, then forces enrolment once the grace period is over', async () => {
    const { stepUp } = app.running.ex;
    const globex = await stepUp.createTenant({ slug: 'globex', name: 'Globex', policy: { mfaRequired: true, gracePeriodDays: 7 } });
    await stepUp.createUser({ tenantId: globex.id, email: 'gina@globex.test', name: 'Gina', password: 'gina-password-123', roles: ['user'] });
    await page.goto(`${app.url}/login`);
    await signIn(page, app.url, 'globex', 'gina@globex.test', 'gina-password-123');
    await page.waitForURL(`${app.url}/`);
    await expectText(page, '#grace', 'Your organisation requires two-step verification. Set it up by');
    await expectText(page, '#grace', '7 days left');
    await shot(page, 'dashboard-grace-banner');
    await page.goto(`${app.url}/security`);
    await expectText(page, '#grace', 'Set it up now');

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL('**/login?m=signed_out');
    app.clock.advance(8 * 86400);
    await signIn(page, app.url, 'globex', 'gina@globex.test', 'gina-password-123');
    await page.waitForURL('**/enrol');
    await page.locator('#forced').waitFor({ state: 'visible' });
    await page.getByRole('heading', { name: 'Choose a method' }).waitFor();
    await shot(page, 'enrol-forced-choose');
    // Nothing else is reachable before a factor is set up.
    await page.goto(`${app.url}/security`);
    await page.waitForURL('**/enrol');
    await page.getByRole('button', { name: /Authenticator app/ }).click();
    await enrolTotpOnPage(page, app);
    await page.waitForURL(`${app.url}/`);
    await expectText(page, '#profile', 'AAL 2');
    expect(await page.locator('#grace').isHidden()).toBe(true);
  });

  it('changes the password on the security page (wrong current password first)', async () => {
    await page.goto(`${app.url}/security`);
    await page.getByLabel('Current password').fill('not-my-password');
    await page.getByLabel('New password').fill('a brand new passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expectText(page, '#error', 'Your current password is not correct.');
    await page.getByLabel('Current password').fill('gina-password-123');
    await page.getByLabel('New password').fill('a brand new passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expectText(page, '#notice', 'Password changed.');
    await expectText(page, '#events', 'Password changed');
    await shot(page, 'security-password-changed');
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL('**/login?m=signed_out');
    await signIn(page, app.url, 'globex', 'gina@globex.test', 'a brand new passphrase');
    await page.waitForURL('**/challenge');
  });
});
