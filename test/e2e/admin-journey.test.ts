/**
 * The administration journey in Chromium: the superadmin's first sign-in forces an enrolment
 * (code computed from the key on the page) -> creates a tenant (its admin's one-time password shown)
 * -> the tenant admin signs in, enrols, provisions a user and tightens the policy through the
 * step-up prompt -> the user sees the grace-period banner and enrols -> the admin resets the
 * user's MFA, and the user's open dashboard loses its live connection at once.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { describeWithChromium } from '../helpers/services';
import { enrolTotpOnPage, expectText, launchBrowser, newSession, shot, signIn, startE2eApp, SUPERADMIN, type E2eApp } from '../helpers/browser';

jest.setTimeout(120_000);

describeWithChromium('e2e: superadmin -> tenant admin -> user', () => {
  let app: E2eApp;
  let browser: Browser;
  let admin: { context: BrowserContext; page: Page; problems: string[] };
  let user: { context: BrowserContext; page: Page; problems: string[] };
  let page: Page;
  const boss = { email: 'boss@initech.test', password: '', secret: '' };
  const pat = { email: 'pat@initech.test', password: '', secret: '' };

  beforeAll(async () => {
    app = await startE2eApp({ env: { DEMO_DATA: '1' } });
    browser = await launchBrowser();
    admin = await newSession(browser);
    user = await newSession(browser);
    page = admin.page;
  });

  afterAll(async () => {
    await admin?.context.close();
    await user?.context.close();
    await browser?.close();
    await app?.close();
  });

  afterEach(() => {
    expect(admin.problems).toEqual([]);
    expect(user.problems).toEqual([]);
  });

  const signOut = async (p: Page) => {
    await p.getByRole('button', { name: 'Sign out', exact: true }).click();
    await p.waitForURL('**/login?m=signed_out');
  };

  it('the superadmin must enrol at first sign-in', async () => {
    await signIn(page, app.url, 'platform', SUPERADMIN.email, SUPERADMIN.password);
    await page.waitForURL('**/enrol');
    await page.locator('#forced').waitFor({ state: 'visible' });
    await page.getByRole('button', { name: /Authenticator app/ }).click();
    await enrolTotpOnPage(page, app, 'superadmin');
    await page.waitForURL(`${app.url}/`);
    await expectText(page, '#profile', 'AAL 2');
  });

  it('the superadmin creates a tenant and sees its admin’s one-time password once', async () => {
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.waitForURL('**/admin');
    await expectText(page, '#tenant-rows', 'Acme Corp');
    await shot(page, 'admin-superadmin');

    await page.getByRole('textbox', { name: 'Short name' }).fill('initech');
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Initech');
    await page.getByRole('textbox', { name: 'Administrator’s email' }).fill(boss.email);
    await page.getByRole('textbox', { name: 'Administrator’s name (optional)' }).fill('Bill Lumbergh');
    await page.getByRole('checkbox', { name: 'Require two-step verification for every user', exact: true }).check();
    await page.getByRole('button', { name: 'Create organisation' }).click();
    await page.locator('#secret-box').waitFor({ state: 'visible' });
    boss.password = (await page.locator('#secret-value').textContent())!.trim();
    expect(boss.password.length).toBeGreaterThanOrEqual(12);
    await expectText(page, '#secret-text', boss.email);
    await expectText(page, '#tenant-rows', 'Initech');
    await shot(page, 'admin-tenant-created');

    // The same slug again: a sentence, not a code.
    await page.getByRole('textbox', { name: 'Short name' }).fill('initech');
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Initech again');
    await page.getByRole('textbox', { name: 'Administrator’s email' }).fill('other@initech.test');
    await page.getByRole('button', { name: 'Create organisation' }).click();
    await expectText(page, '#error', 'An organisation with this short name already exists.');

    await page.getByRole('link', { name: 'Manage Initech' }).click();
    await expectText(page, '#user-rows', boss.email);
    await expectText(page, '#user-rows', 'Not set up');
    expect(await page.getByRole('checkbox', { name: /administrators always need it/ }).isChecked()).toBe(true);
    await shot(page, 'admin-tenant-initech');
    await signOut(page);
  });

  it('the tenant admin enrols, provisions a user and changes the policy with a step-up', async () => {
    await signIn(page, app.url, 'initech', boss.email, boss.password);
    await page.waitForURL('**/enrol');
    await page.getByRole('button', { name: /Authenticator app/ }).click();
    ({ secret: boss.secret } = await enrolTotpOnPage(page, app));
    await page.waitForURL(`${app.url}/`);
    await page.getByRole('link', { name: 'Admin' }).click();
    await expectText(page, '#users-title', 'Users of Initech');
    expect(await page.locator('#tenants').isHidden()).toBe(true);

    await page.getByRole('textbox', { name: 'Email', exact: true }).fill(pat.email);
    await page.getByRole('textbox', { name: 'Name (optional)', exact: true }).fill('Pat');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.locator('#secret-box').waitFor({ state: 'visible' });
    pat.password = (await page.locator('#secret-value').textContent())!.trim();
    await expectText(page, '#user-rows', pat.email);
    await shot(page, 'admin-user-provisioned');

    app.clock.advance(301);
    await page.getByRole('spinbutton', { name: 'Grace period (days)' }).fill('3');
    await page.getByRole('button', { name: 'Save policy' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm it’s you' });
    await dialog.waitFor();
    await shot(page, 'admin-policy-stepup');
    await dialog.getByLabel('Code').fill(app.nextTotp(boss.secret));
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await expectText(page, '#notice', 'Policy saved.');
    await expectText(page, '#audit-rows', 'Security policy changed');
    expect(await page.getByRole('spinbutton', { name: 'Grace period (days)' }).inputValue()).toBe('3');
    await signOut(page);
  });

  it('the new user sees the grace-period banner and enrols from it', async () => {
    const p = user.page;
    await signIn(p, app.url, 'initech', pat.email, pat.password);
    await p.waitForURL(`${app.url}/`);
    await expectText(p, '#grace', 'Your organisation requires two-step verification');
    await p.getByRole('link', { name: 'Set it up now' }).click();
    await p.waitForURL('**/enrol?method=totp&from=security');
    ({ secret: pat.secret } = await enrolTotpOnPage(p, app));
    await p.waitForURL(`${app.url}/security`);
    await expectText(p, '#factor-totp .state', 'On since');
    await p.goto(`${app.url}/`);
    await p.waitForFunction(() => document.getElementById('live-dot')?.dataset.state === 'connected');
  });

  it('the admin resets the user’s MFA; the user’s open dashboard is disconnected at once', async () => {
    await signIn(page, app.url, 'initech', boss.email, boss.password);
    await page.waitForURL('**/challenge');
    await page.getByRole('textbox', { name: 'Authenticator code' }).fill(app.nextTotp(boss.secret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${app.url}/`);
    await page.goto(`${app.url}/admin`);
    await expectText(page, '#user-rows', 'Authenticator app');
    await page.getByRole('button', { name: `Reset two-step verification of ${pat.email}` }).click();
    // The app's own dialog (not window.confirm), naming the action.
    const confirm = page.getByRole('dialog', { name: 'Reset two-step verification?' });
    await confirm.getByRole('button', { name: 'Reset two-step verification' }).click();
    await expectText(page, '#notice', `Two-step verification of ${pat.email} was reset`);
    await expectText(page, '#audit-rows', 'Two-step verification reset by an administrator');
    await shot(page, 'admin-after-reset');

    // The socket closed with 4401: the open dashboard goes to the sign-in page and says why.
    await user.page.waitForURL('**/login?m=session_ended');
    await expectText(user.page, '#notice', 'Your session ended');
    // Signed out for real: the next page load goes to the sign-in page.
    await user.page.goto(`${app.url}/security`);
    await user.page.waitForURL('**/login?next=%2Fsecurity');
  });
});
