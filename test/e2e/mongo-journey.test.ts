/**
 * The example app on MongoDB (MONGODB_URI, or the private FerretDB the test setup starts), in Chromium:
 * a demo user signs in, enrols an authenticator and signs in with a code; the account lives in MongoDB
 * (raw document: sealed secret), and a second app process on the same database (same key ring) still
 * knows it and asks for its code.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Connection } from 'mongoose';
import { describeWithChromium } from '../helpers/services';
import { enrolTotpOnPage, expectText, launchBrowser, newSession, signIn, startE2eApp, type E2eApp } from '../helpers/browser';
import { connect, dbPrefix, dropDatabases, mongoUri, uriWithDb } from '../helpers/mongo';

jest.setTimeout(120_000);

const PREFIX = dbPrefix('e2e');
const CI = process.env.CI === 'true' || process.env.CI === '1';

/** Chromium and MongoDB both: without MongoDB a loud skip, or under CI=true a failing suite. */
function withMongo(name: string, fn: () => void): void {
  if (mongoUri()) return describeWithChromium(name, fn);
  if (CI) return describe(name, () => it('needs MongoDB', () => expect('MongoDB is not available and CI=true').toBe('')));
  console.warn(`\n!!! SKIPPED "${name}": MongoDB is not available (MONGODB_URI, or ferretdb: see .ci/run) !!!\n`);
  describe.skip(name, fn);
}

withMongo('e2e on MongoDB: enrol and sign in with a code; the account outlives the process', () => {
  const env = { MONGODB_URI: uriWithDb(`${PREFIX}_app`), MFA_ENCRYPTION_KEYS: `e2e:${randomBytes(32).toString('hex')}` };
  const email = 'alice@acme.test';
  let app: E2eApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  let conn: Connection;
  let password = '';
  let secret = '';

  beforeAll(async () => {
    conn = await connect(`${PREFIX}_probe`);
    app = await startE2eApp({ env });
    password = app.passwords.get(email)!;
    browser = await launchBrowser();
    ({ context, page, problems } = await newSession(browser));
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    await dropDatabases(conn, PREFIX);
  });
  afterEach(() => expect(problems).toEqual([]));

  it('signs in, enrols an authenticator, and signs in again with a code', async () => {
    await signIn(page, app.url, 'acme', email, password);
    await page.waitForURL(`${app.url}/`);
    await expectText(page, '#profile', 'AAL 1');
    await page.goto(`${app.url}/security`);
    await page.locator('#factor-totp').getByRole('link', { name: 'Set up' }).click();
    await page.waitForURL('**/enrol?method=totp&from=security');
    ({ secret } = await enrolTotpOnPage(page, app));
    await page.waitForURL(`${app.url}/security`);
    await expectText(page, '#factor-totp .state', 'On since');

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL('**/login?m=signed_out');
    await signIn(page, app.url, 'acme', email, password);
    await page.waitForURL('**/challenge');
    await page.getByRole('textbox', { name: 'Authenticator code' }).fill(app.nextTotp(secret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${app.url}/`);
    await expectText(page, '#profile', 'AAL 2');
  });

  it('keeps the account in MongoDB: sealed at rest, known to the next process', async () => {
    const raw = await conn.useDb(`${PREFIX}_app`).collection('users').findOne({ email });
    expect(raw).not.toBeNull();
    const sealed = (raw!.mfa as { totp: { secret: string } }).totp.secret;
    expect(sealed).toMatch(/^v1\.e2e\./);
    expect(JSON.stringify(raw)).not.toContain(secret.replace(/\s/g, ''));

    // A new process on the same database and key ring: no demo data re-created, the factor still asked for.
    const clockWas = app.clock.now();
    await app.close();
    app = await startE2eApp({ env });
    app.clock.t = clockWas;
    expect(app.passwords.has(email)).toBe(false);
    await page.goto(`${app.url}/login`);
    await signIn(page, app.url, 'acme', email, password);
    await page.waitForURL('**/challenge');
    await page.getByRole('textbox', { name: 'Authenticator code' }).fill(app.nextTotp(secret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${app.url}/`);
    await expectText(page, '#profile', 'AAL 2');
  });
});
