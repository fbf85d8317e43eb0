/**
 * The account lifecycle in Chromium against the example app (issue 8):
 * sign-up on `acme` (self-registration on in the demo data) -> signing in before confirming shows the
 * "confirm your email" view, a new link replaces the first -> the link, read from the dev outbox page,
 * confirms the address -> sign-in and an authenticator app -> forgot password (the same answer for an
 * unknown address) -> the reset link from the outbox sets a new password -> the next sign-in still asks
 * for the second factor. In a tenant that requires MFA the first sign-in after confirming must enrol.
 * An admin disables the user through the step-up prompt: the user's open dashboard disconnects at once
 * and their sign-in shows the wrong-password sentence; enabling lets them back in.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { describeWithChromium } from '../helpers/services';
import { enrolTotpOnPage, expectText, launchBrowser, newSession, shot, signIn, startE2eApp, type E2eApp } from '../helpers/browser';

jest.setTimeout(120_000);

type Session = { context: BrowserContext; page: Page; problems: string[] };

const WRONG_PASSWORD = 'The organisation, email or password is not correct.';

describeWithChromium('e2e: sign-up, email confirmation, password reset and disable', () => {
  let app: E2eApp;
  let browser: Browser;
  let user: Session;
  let admin: Session;
  let other: Session;
  let page: Page;
  const nina = { email: 'nina@acme.test', name: 'Nina Newcomer', password: 'nina’s first passphrase', newPassword: 'nina’s second passphrase', secret: '' };
  let firstVerifyLink = '';
  let verifyLink = '';
  let resetLink = '';

  beforeAll(async () => {
    app = await startE2eApp();
    browser = await launchBrowser();
    user = await newSession(browser);
    admin = await newSession(browser);
    other = await newSession(browser);
    page = user.page;
  });

  afterAll(async () => {
    for (const s of [user, admin, other]) await s?.context.close();
    await browser?.close();
    await app?.close();
  });

  afterEach(() => {
    // No page error and no CSP violation on any page the journey visited.
    expect(user.problems).toEqual([]);
    expect(admin.problems).toEqual([]);
    expect(other.problems).toEqual([]);
  });

  /**
   * The links of the mails sent to `to` whose subject has `subject`, newest first, as the dev outbox
   * page shows them (after the work the plugin does once it has answered 202).
   */
  const outboxLinks = async (p: Page, to: string, subject: string, shotName?: string): Promise<string[]> => {
    await app.running.ex.stepUp.lifecycle.idle();
    await p.goto(`${app.url}/dev/outbox`);
    const messages = p.locator(`.message[data-to="${to}"]`).filter({ has: p.locator('.message-subject', { hasText: subject }) });
    const links = await messages.locator('a.message-link').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
    if (shotName) await shot(p, shotName);
    return links;
  };

  const tokenLink = (path: string) => new RegExp(`^${app.url.replace(/[.]/g, '\\.')}${path}#token=[A-Za-z0-9_-]{43}$`);

  const signOut = async (p: Page) => {
    await p.getByRole('button', { name: 'Sign out', exact: true }).click();
    await p.waitForURL('**/login?m=signed_out');
  };

  it('signs up on acme from the sign-in page; the answer is "check your inbox" whatever the address', async () => {
    await page.goto(`${app.url}/login`);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL('**/register');
    await page.getByRole('heading', { level: 1, name: 'Create an account' }).waitFor();
    await page.getByLabel('Organisation').fill('acme');
    await page.getByLabel('Your name (optional)').fill(nina.name);
    await page.getByLabel('Email').fill(nina.email);
    await page.getByLabel('Password').fill(nina.password);
    await shot(page, 'register');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'register-mobile');
    await page.setViewportSize({ width: 1180, height: 860 });
    // Too short: the server's rule as a sentence, and nothing was sent.
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expectText(page, '#error', 'The password must be 8 to 256 characters.');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password');
    await shot(page, 'register-short-password');
    await page.getByLabel('Password').fill(nina.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Check your inbox' }).waitFor();
    await expectText(page, '#sent-text', `If “acme” accepts new accounts, we sent a link to ${nina.email} to confirm the address.`);
    expect(await page.locator('#error').textContent()).toBe('');
    expect(await page.locator('#outbox-hint').isVisible()).toBe(true);
    await shot(page, 'register-sent');
    const forNew = (await page.locator('#sent-view').innerText()).replace(nina.email, 'ADDRESS');

    // An address that already has an account: the very same page (only its owner's mailbox tells).
    await page.getByRole('button', { name: 'Use another address' }).click();
    await page.getByLabel('Email').fill('alice@acme.test');
    await page.getByLabel('Password').fill('some other passphrase');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Check your inbox' }).waitFor();
    expect((await page.locator('#sent-view').innerText()).replace('alice@acme.test', 'ADDRESS')).toBe(forNew);

    const sent = await outboxLinks(page, nina.email, 'Confirm your email address');
    expect(sent).toHaveLength(1);
    firstVerifyLink = sent[0]!;
    expect(firstVerifyLink).toMatch(tokenLink('/verify-email'));
    const existing = page.locator('.message[data-to="alice@acme.test"]');
    await expectText(page, '.message[data-to="alice@acme.test"] .message-subject', 'You already have an account');
    // The note links to the forgot-password page and carries no token.
    expect(await existing.first().locator('a.message-link').getAttribute('href')).toBe(`${app.url}/forgot-password`);
    // Digits inside a link's token are not shown as a code.
    expect(await page.locator(`.message[data-to="${nina.email}"] .otp`).count()).toBe(0);
    await shot(page, 'dev-outbox-lifecycle');
  });

  it('signing in before confirming shows the "confirm your email" view; a new link replaces the first', async () => {
    await signIn(page, app.url, 'acme', nina.email, nina.password);
    await page.getByRole('heading', { level: 1, name: 'Confirm your email address' }).waitFor();
    await expectText(page, '#verify-text', `the email we sent to ${nina.email}`);
    expect(await page.locator('#login-form').isHidden()).toBe(true);
    await shot(page, 'login-verification-required');

    // One mail a minute per address: the sign-up's was just sent. Not "too many attempts": the page
    // says a link was just sent and counts down (the browser's clock is driven by the test).
    await page.clock.install();
    await page.getByRole('button', { name: 'Email me a new link' }).click();
    await expectText(page, '#resend-status', 'A link was sent to your address less than a minute ago');
    expect(await page.locator('#error').textContent()).toBe('');
    const resend = page.locator('#resend');
    expect(await resend.isDisabled()).toBe(true);
    expect(await resend.textContent()).toMatch(/^Email me a new link \((60|59) s\)$/);
    await expectText(page, '#resend-wait', 'You can ask for another link in');
    await shot(page, 'login-verification-cooldown');
    app.clock.advance(61);
    await page.clock.runFor(61_000);
    expect(await resend.isDisabled()).toBe(false);
    expect(await resend.textContent()).toBe('Email me a new link');
    await page.getByRole('button', { name: 'Email me a new link' }).click();
    await expectText(page, '#resend-status', 'We sent a new link to n***@a***.test. Earlier links no longer work.');
    await shot(page, 'login-verification-resent');

    // The pending sign-in reaches nothing else: every page sends it back here.
    await page.goto(`${app.url}/security`);
    await page.waitForURL('**/login');
    await page.getByRole('heading', { level: 1, name: 'Confirm your email address' }).waitFor();

    const links = await outboxLinks(page, nina.email, 'Confirm your email address');
    expect(links).toHaveLength(2);
    expect(links[1]).toBe(firstVerifyLink);
    verifyLink = links[0]!;
    expect(verifyLink).not.toBe(firstVerifyLink);
  });

  it('the replaced link says it is invalid; the newest confirms the address, once', async () => {
    await page.goto(firstVerifyLink);
    await page.getByRole('heading', { level: 1, name: 'This link does not work' }).waitFor();
    await expectText(page, '#error', 'This confirmation link is not valid or has expired.');
    // The token left the address bar at once.
    expect(page.url()).toBe(`${app.url}/verify-email`);
    await shot(page, 'verify-email-invalid');

    // Followed from the dev outbox page, the way a tester clicks it.
    await page.goto(`${app.url}/dev/outbox`);
    await page.locator(`.message[data-to="${nina.email}"] a.message-link`).first().click();
    await page.getByRole('heading', { level: 1, name: 'Email address confirmed' }).waitFor();
    await expectText(page, '#status', 'your email address is confirmed');
    expect(page.url()).toBe(`${app.url}/verify-email`);
    await shot(page, 'verify-email-done');
    await page.getByRole('link', { name: 'Sign in', exact: true }).click();
    await page.waitForURL('**/login?m=email_verified');
    await expectText(page, '#notice', 'Your email address is confirmed. Sign in to continue.');
    // The pending sign-in of this browser ended: the sign-in form shows, not the "confirm" view.
    expect(await page.locator('#login-form').isVisible()).toBe(true);

    await page.goto(`${app.url}/dev/outbox`);
    await page.goto(verifyLink);
    await expectText(page, '#error', 'This confirmation link is not valid or has expired.');
  });

  it('signs in, and sets up an authenticator app (forced when the policy asks, else from the security page)', async () => {
    await signIn(page, app.url, 'acme', nina.email, nina.password);
    await page.waitForURL((u) => u.pathname === '/' || u.pathname === '/enrol');
    if (new URL(page.url()).pathname === '/') {
      // acme does not require two-step verification: Nina turns it on herself.
      await expectText(page, '#profile', nina.name);
      await expectText(page, '#profile', 'AAL 1');
      await page.goto(`${app.url}/enrol?method=totp&from=security`);
    } else {
      await page.locator('#forced').waitFor({ state: 'visible' });
      await page.getByRole('button', { name: /Authenticator app/ }).click();
    }
    ({ secret: nina.secret } = await enrolTotpOnPage(page, app));
    await page.waitForURL((u) => u.pathname === '/' || u.pathname === '/security');
    await page.goto(`${app.url}/security`);
    await expectText(page, '#factor-totp .state', 'On since');
    await expectText(page, '#events', 'Email address confirmed');
    await expectText(page, '#events', 'Account created by sign-up');
    await signOut(page);
  });

  it('forgot password: the same answer for any address; the reset link sets a new password, once', async () => {
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL('**/forgot-password?tenant=acme');
    expect(await page.getByLabel('Organisation').inputValue()).toBe('acme');
    await shot(page, 'forgot-password');
    await page.getByLabel('Email').fill('nobody@acme.test');
    await page.getByRole('button', { name: 'Email me a reset link' }).click();
    await page.getByRole('heading', { level: 1, name: 'Check your inbox' }).waitFor();
    const forUnknown = (await page.locator('#sent-view').innerText()).replace('nobody@acme.test', 'ADDRESS');

    await page.getByRole('button', { name: 'Ask again' }).click();
    await page.getByLabel('Email').fill(nina.email);
    await page.getByRole('button', { name: 'Email me a reset link' }).click();
    await page.getByRole('heading', { level: 1, name: 'Check your inbox' }).waitFor();
    await expectText(page, '#sent-text', `If an account with ${nina.email} exists at “acme”, we sent it a link to choose a new password.`);
    expect((await page.locator('#sent-view').innerText()).replace(nina.email, 'ADDRESS')).toBe(forUnknown);
    await shot(page, 'forgot-password-sent');

    const links = await outboxLinks(page, nina.email, 'Reset your password', 'dev-outbox-reset');
    expect(links).toHaveLength(1);
    resetLink = links[0]!;
    expect(resetLink).toMatch(tokenLink('/reset-password'));
    expect(await page.locator('.message[data-to="nobody@acme.test"]').count()).toBe(0);

    await page.goto(resetLink);
    await page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor();
    expect(page.url()).toBe(`${app.url}/reset-password`);
    expect(await page.locator('#token').isVisible()).toBe(false);
    // Too short: the rule as a sentence; the link is not spent by it.
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByLabel('Repeat the new password').fill('short');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await expectText(page, '#error', 'The password must be 8 to 256 characters.');
    await shot(page, 'reset-password-short');
    await page.getByLabel('New password', { exact: true }).fill(nina.newPassword);
    await page.getByLabel('Repeat the new password').fill(`${nina.newPassword}!`);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await expectText(page, '#error', 'The two passwords are not the same.');
    await page.getByLabel('Repeat the new password').fill(nina.newPassword);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your password was changed' }).waitFor();
    await expectText(page, '#status', 'you will still be asked for your second factor');
    expect(await page.locator('#reset-form').isHidden()).toBe(true);
    await shot(page, 'reset-password-done');

    // The link worked once.
    await page.goto(`${app.url}/dev/outbox`);
    await page.goto(resetLink);
    await page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor();
    await page.getByLabel('New password', { exact: true }).fill('a third passphrase');
    await page.getByLabel('Repeat the new password').fill('a third passphrase');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('heading', { level: 1, name: 'This link does not work' }).waitFor();
    await expectText(page, '#error', 'This reset link is not valid or has expired.');
    await shot(page, 'reset-password-used-link');
    await page.getByRole('link', { name: 'Ask for a new link' }).click();
    await page.waitForURL('**/forgot-password');
  });

  it('after the reset the old password fails, and the new one still asks for the second factor', async () => {
    await signIn(page, app.url, 'acme', nina.email, nina.password);
    await expectText(page, '#error', WRONG_PASSWORD);
    await signIn(page, app.url, 'acme', nina.email, nina.newPassword);
    await page.waitForURL('**/challenge');
    await page.getByRole('textbox', { name: 'Authenticator code' }).fill(app.nextTotp(nina.secret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${app.url}/`);
    await expectText(page, '#profile', 'AAL 2');
    await page.goto(`${app.url}/security`);
    await expectText(page, '#events', 'Password reset with an emailed link');
  });

  it('in a tenant that requires two-step verification, the first sign-in after confirming must enrol', async () => {
    await app.running.ex.stepUp.createTenant({ slug: 'globex', name: 'Globex', policy: { mfaRequired: true, gracePeriodDays: 7, selfRegistration: true } });
    const p = other.page;
    await p.goto(`${app.url}/register?tenant=globex`);
    expect(await p.getByLabel('Organisation').inputValue()).toBe('globex');
    await p.getByLabel('Email').fill('gil@globex.test');
    await p.getByLabel('Password').fill('gil’s own passphrase');
    await p.getByRole('button', { name: 'Create account' }).click();
    await p.getByRole('heading', { level: 1, name: 'Check your inbox' }).waitFor();
    const [link] = await outboxLinks(p, 'gil@globex.test', 'Confirm your email address');
    // Without a token in the address, the page takes the link pasted by hand.
    await p.goto(`${app.url}/verify-email`);
    await expectText(p, '#status', 'Open the link from the confirmation email, or paste it here.');
    await p.getByLabel('Link or code from the email').fill('not a link');
    await p.getByRole('button', { name: 'Confirm my address' }).click();
    await expectText(p, '#error', 'That is not a link or code from our email.');
    await shot(p, 'verify-email-paste');
    await p.getByLabel('Link or code from the email').fill(link!);
    await p.getByRole('button', { name: 'Confirm my address' }).click();
    await p.getByRole('heading', { level: 1, name: 'Email address confirmed' }).waitFor();

    await signIn(p, app.url, 'globex', 'gil@globex.test', 'gil’s own passphrase');
    await p.waitForURL('**/enrol');
    await p.locator('#forced').waitFor({ state: 'visible' });
    await shot(p, 'enrol-forced-after-sign-up');
    // No grace period for a self-registered account: nothing else is reachable before a factor.
    await p.goto(`${app.url}/`);
    await p.waitForURL('**/enrol');
    await p.getByRole('button', { name: /Authenticator app/ }).click();
    await enrolTotpOnPage(p, app);
    await p.waitForURL(`${app.url}/`);
    await expectText(p, '#profile', 'AAL 2');
    expect(await p.locator('#grace').isHidden()).toBe(true);
  });

  it('an admin disables the user: the open dashboard disconnects and the sign-in says wrong password', async () => {
    await page.goto(`${app.url}/`);
    await page.waitForFunction(() => document.getElementById('live-dot')?.dataset.state === 'connected');

    const a = admin.page;
    await signIn(a, app.url, 'acme', 'admin@acme.test', app.passwords.get('admin@acme.test')!);
    await a.waitForURL('**/enrol');
    await a.getByRole('button', { name: /Authenticator app/ }).click();
    const { secret } = await enrolTotpOnPage(a, app);
    await a.waitForURL(`${app.url}/`);
    await a.getByRole('link', { name: 'Admin' }).click();
    await expectText(a, '#user-rows', nina.email);
    const row = a.locator('#user-rows tr').filter({ hasText: nina.email });
    await expectText(a, '#user-rows tr:has-text("nina@acme.test") td:nth-child(4)', 'Active');
    // The policy form shows self-registration on for the demo tenant.
    expect(await a.getByRole('checkbox', { name: 'Let people create their own accounts' }).isChecked()).toBe(true);
    // Nobody disables themselves: no button on the admin's own row.
    expect(await a.getByRole('button', { name: 'Disable admin@acme.test' }).count()).toBe(0);

    // The last verification is older than the step-up window: the prompt asks for a fresh code.
    app.clock.advance(301);
    await a.getByRole('button', { name: `Disable ${nina.email}` }).click();
    await a.getByRole('dialog', { name: `Disable ${nina.email}?` }).getByRole('button', { name: 'Disable the account' }).click();
    const dialog = a.getByRole('dialog', { name: 'Confirm it’s you' });
    await dialog.waitFor();
    await dialog.getByLabel('Code').fill(app.nextTotp(secret));
    await shot(a, 'admin-disable-stepup');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await expectText(a, '#notice', `${nina.email} is disabled and was signed out everywhere.`);
    await expectText(a, '#user-rows tr:has-text("nina@acme.test") td:nth-child(4)', 'Disabled');
    expect(await row.getByRole('button', { name: `Enable ${nina.email}` }).isVisible()).toBe(true);
    await expectText(a, '#audit-rows', 'Account disabled by an administrator');
    await shot(a, 'admin-user-disabled');

    await page.waitForURL('**/login?m=session_ended');
    await expectText(page, '#notice', 'Your session ended');
    await shot(page, 'dashboard-user-disabled');
    await signIn(page, app.url, 'acme', nina.email, nina.newPassword);
    await expectText(page, '#error', WRONG_PASSWORD);
    await shot(page, 'login-user-disabled');

    // Enabled again (the step-up is still fresh: no prompt), the account signs in as before.
    await a.getByRole('button', { name: `Enable ${nina.email}` }).click();
    await expectText(a, '#notice', `${nina.email} is enabled again and can sign in.`);
    await expectText(a, '#user-rows tr:has-text("nina@acme.test") td:nth-child(4)', 'Active');
    await signIn(page, app.url, 'acme', nina.email, nina.newPassword);
    await page.waitForURL('**/challenge');
  });
});
