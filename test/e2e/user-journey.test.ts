/**
 * A user's whole life with two-step verification, in Chromium against the example app:
 * password-only sign-in -> enrols an authenticator (code computed from the key the page shows) ->
 * saves backup codes (download) -> signs out -> signs in with a code (pasted) -> with a backup code ->
 * adds email codes (code read from the dev outbox page) -> signs in with an email code ->
 * regenerates backup codes through the step-up prompt -> runs a sync and watches the bar reach 100% ->
 * signs out in another tab and the dashboard's connection dot goes red.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { describeWithChromium } from '../helpers/services';
import { enrolTotpOnPage, expectText, launchBrowser, newSession, pasteInto, shot, signIn, startE2eApp, type E2eApp } from '../helpers/browser';

jest.setTimeout(120_000);

describeWithChromium('e2e: a user enrols, signs in every way, syncs and signs out', () => {
  let app: E2eApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  let secret = '';
  let backupCodes: string[] = [];
  const email = 'alice@acme.test';
  const password = () => app.passwords.get(email)!;

  beforeAll(async () => {
    app = await startE2eApp();
    browser = await launchBrowser();
    ({ context, page, problems } = await newSession(browser));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
  });

  afterEach(() => {
    // No page error and no CSP violation on any page the journey visited.
    expect(problems).toEqual([]);
  });

  it('signs in with the password only and lands on the dashboard', async () => {
    await page.goto(`${app.url}/`);
    await page.waitForURL('**/login?next=%2F');
    await shot(page, 'login');
    await signIn(page, app.url, 'acme', email, password());
    await page.waitForURL(`${app.url}/`);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await expectText(page, '#profile', 'AAL 1');
  });

  it('enrols an authenticator app from the security page and saves the backup codes', async () => {
    await page.getByRole('link', { name: 'Security' }).first().click();
    await page.getByRole('heading', { name: 'Security settings' }).waitFor();
    await expectText(page, '#factor-totp .state', 'Not set up');
    await shot(page, 'security-before');
    await page.locator('#factor-totp').getByRole('link', { name: 'Set up' }).click();
    await page.waitForURL('**/enrol?method=totp&from=security');

    // The key shown is what an authenticator app would get from the QR code.
    const img = page.locator('#qr');
    await img.waitFor();
    const enrol = await enrolTotpOnPage(page, app, 'user');
    ({ secret, backupCodes } = enrol);
    expect(enrol.downloaded.name).toBe('backup-codes.txt');
    for (const c of backupCodes) expect(enrol.downloaded.text).toContain(c);
    expect(secret.replace(/\s/g, '')).toMatch(/^[A-Z2-7]{32}$/);
    expect(backupCodes).toHaveLength(10);
    await page.waitForURL(`${app.url}/security`);
    await expectText(page, '#factor-totp .state', 'On since');
    await expectText(page, '#factor-backup .state', '10 unused codes left');
  });

  it('signs out, then signs in with a pasted authenticator code after a wrong one', async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL('**/login?m=signed_out');
    await expectText(page, '#notice', 'You are signed out.');
    await signIn(page, app.url, 'acme', email, password());
    await page.waitForURL('**/challenge');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'challenge-mobile');
    await page.setViewportSize({ width: 1180, height: 860 });
    await expect(await page.locator('#code').getAttribute('autocomplete')).toBe('one-time-code');
    await expect(await page.locator('#code').getAttribute('inputmode')).toBe('numeric');
    await shot(page, 'challenge');

    await page.getByRole('textbox', { name: 'Authenticator code' }).fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await expectText(page, '#error', 'That code is not correct');
    expect(await page.locator('#error').textContent()).not.toMatch(/invalid_code/);
    await shot(page, 'challenge-wrong-code');

    // A whole code pasted with spaces: the field keeps the digits and submits itself.
    const code = app.nextTotp(secret);
    await pasteInto(page, '#code', `${code.slice(0, 3)} ${code.slice(3)}`);
    await page.waitForURL(`${app.url}/`);
    await expectText(page, '#profile', 'AAL 2');
  });

  it('signs in with a backup code', async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL('**/login?m=signed_out');
    await signIn(page, app.url, 'acme', email, password());
    await page.waitForURL('**/challenge');
    await page.getByRole('radio', { name: 'Backup code' }).check();
    expect(await page.locator('#code').getAttribute('inputmode')).toBe('text');
    await page.locator('#code').fill(backupCodes[0]!.toUpperCase());
    await shot(page, 'challenge-backup-code');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${app.url}/`);
    await page.goto(`${app.url}/security`);
    await expectText(page, '#factor-backup .state', '9 unused codes left');
  });

  it('adds email codes with a code read from the dev outbox, then signs in with an email code', async () => {
    // Adding a factor is a privilege step: the prompt asks for a fresh code first.
    app.clock.advance(301);
    await page.locator('#factor-email').getByRole('link', { name: 'Set up' }).click();
    await page.waitForURL('**/enrol?method=email_otp&from=security');
    await page.getByRole('button', { name: 'Send code' }).click();
    await stepUpWithTotp(page, app, secret, 'stepup-dialog');
    await expectText(page, '#email-status', 'Code sent');
    const enrolCode = await codeFromOutbox(page.context(), app, email);
    await page.getByLabel('Code from the email').fill(enrolCode);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Two-step verification is on' }).waitFor();
    await shot(page, 'enrol-email-done');

    await page.goto(`${app.url}/`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL('**/login?m=signed_out');
    await signIn(page, app.url, 'acme', email, password());
    await page.waitForURL('**/challenge');
    await page.getByRole('radio', { name: 'Email code' }).check();
    // One email code a minute per user: the first send was the enrolment's.
    app.clock.advance(61);
    await page.getByRole('button', { name: 'Send code' }).click();
    await expectText(page, '#send-status', 'We sent a code to a***@a***.test');
    await shot(page, 'challenge-email');
    const loginCode = await codeFromOutbox(page.context(), app, email);
    await page.getByRole('textbox', { name: 'Email code' }).fill(loginCode);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${app.url}/`);
  });

  it('regenerates backup codes through the step-up prompt; a dashboard in another tab stays live', async () => {
    const dash = await context.newPage();
    // The dashboard's second socket (the reconnect after the step-up below), awaited as an event, not polled.
    let sockets = 0;
    const secondSocket = new Promise<void>((resolve) =>
      dash.on('websocket', () => {
        sockets += 1;
        if (sockets === 2) resolve();
      }),
    );
    await dash.goto(`${app.url}/`);
    await dash.waitForFunction(() => document.getElementById('live-dot')?.dataset.state === 'connected');
    await page.goto(`${app.url}/security`);
    // The last verification is older than the tenant's step-up window (300 s).
    app.clock.advance(301);
    await page.getByRole('button', { name: 'Generate new codes' }).click();
    await stepUpWithTotp(page, app, secret, 'stepup-dialog-regenerate');
    await page.locator('#new-codes').waitFor({ state: 'visible' });
    const fresh = await page.locator('#backup-code-list code').allTextContents();
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(backupCodes[1]);
    await expectText(page, '#factor-backup .state', '10 unused codes left');
    await expectText(page, '#events', 'New backup codes generated');
    await shot(page, 'security-after');
    // The step-up gave the session a new id: the other tab's socket reconnects with it and still gets events.
    await secondSocket;
    expect(sockets).toBe(2);
    await dash.waitForFunction(() => document.getElementById('live-dot')?.dataset.state === 'connected');
    await dash.getByRole('button', { name: 'Start sync' }).click();
    await dash.waitForFunction(() => (document.getElementById('sync-progress') as HTMLProgressElement).value === 100);
    await dash.close();
  });

  it('adds a phone for SMS codes (code from the dev outbox) and signs in with an SMS code', async () => {
    await page.locator('#factor-sms').getByRole('link', { name: 'Set up' }).click();
    await page.waitForURL('**/enrol?method=sms_otp&from=security');
    await page.getByLabel('Mobile number').fill('not a number');
    await page.getByRole('button', { name: 'Text me a code' }).click();
    await expectText(page, '#error', 'The phone number is not valid.');
    await page.getByLabel('Mobile number').fill('+1 202 555 0125');
    await page.getByRole('button', { name: 'Text me a code' }).click();
    await expectText(page, '#sms-status', 'Code sent to +1******0125');
    await page.getByLabel('Code from the text message').fill(await codeFromOutbox(page.context(), app, '+12025550125'));
    await shot(page, 'enrol-sms');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Two-step verification is on' }).waitFor();
    await page.goto(`${app.url}/security`);
    await expectText(page, '#factor-sms .state', '+1******0125');

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL('**/login?m=signed_out');
    await signIn(page, app.url, 'acme', email, password());
    await page.waitForURL('**/challenge');
    await page.getByRole('radio', { name: 'SMS code' }).check();
    app.clock.advance(61); // one SMS a minute: the enrolment's was just sent
    await page.getByRole('button', { name: 'Send code' }).click();
    await expectText(page, '#send-status', 'We sent a code to +1******0125');
    await pasteInto(page, '#code', await codeFromOutbox(page.context(), app, '+12025550125'));
    await page.waitForURL(`${app.url}/`);
    await expectText(page, '#profile', 'AAL 2');
  });

  it('starts a sync and sees the progress bar reach 100% over the WebSocket', async () => {
    await page.goto(`${app.url}/`);
    await page.waitForFunction(() => document.getElementById('live-dot')?.dataset.state === 'connected');
    await shot(page, 'dashboard');
    await page.getByRole('button', { name: 'Start sync' }).click();
    await page.waitForFunction(() => (document.getElementById('sync-progress') as HTMLProgressElement).value === 100);
    await expectText(page, '#sync-status', 'Sync completed');
    await expectText(page, '#sync-percent', '100%');
    // The bar's CSS width transition has ended (no fixed wait: the animation is asked for its state).
    await page.waitForFunction(() => document.getAnimations().every((a) => a.playState === 'finished'));
    await shot(page, 'dashboard-sync-complete');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'dashboard-mobile');
    await page.setViewportSize({ width: 1180, height: 860 });
  });

  it('signs out in another tab: the dashboard goes to the sign-in page when its socket closes', async () => {
    const other = await context.newPage();
    await other.goto(`${app.url}/security`);
    await other.getByRole('button', { name: 'Sign out', exact: true }).click();
    await other.waitForURL('**/login?m=signed_out');
    await page.waitForURL('**/login?m=session_ended');
    await expectText(page, '#notice', 'Your session ended');
    await shot(page, 'dashboard-session-ended');
    await other.close();
  });
});


async function stepUpWithTotp(page: Page, app: E2eApp, secret: string, name: string): Promise<void> {
  const dialog = page.getByRole('dialog', { name: 'Confirm it’s you' });
  await dialog.waitFor();
  await shot(page, name);
  await dialog.getByLabel('Code').fill(app.nextTotp(secret));
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await dialog.waitFor({ state: 'detached' });
}

/** Opens the dev outbox page in a new tab and reads the newest code sent to `to`. */
async function codeFromOutbox(context: BrowserContext, app: E2eApp, to: string): Promise<string> {
  const tab = await context.newPage();
  await tab.goto(`${app.url}/dev/outbox`);
  const code = await tab.locator(`.message[data-to="${to}"] .otp`).first().getAttribute('data-code');
  await shot(tab, 'dev-outbox');
  await tab.close();
  expect(code).toMatch(/^\d{6}$/);
  return code!;
}
