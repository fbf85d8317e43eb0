/**
 * Passkeys in Chromium with virtual authenticators (DevTools Protocol `WebAuthn` domain), against the
 * example app opened as http://localhost:PORT (a secure context; RP ID `localhost`):
 * register a passkey on the security page -> sign in with password + passkey -> sign in with the
 * passkey alone (the organisation allows it) -> step up with it to remove it -> a second
 * authenticator holding a passkey the server never registered is refused.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { describeWithChromium } from '../helpers/services';
import { expectText, launchBrowser, newSession, startE2eApp, type E2eApp } from '../helpers/browser';
import { AUTHENTICATOR } from '../fixtures/webauthn/fixtures';

jest.setTimeout(120_000);

describeWithChromium('e2e: passkeys with a virtual authenticator', () => {
  let app: E2eApp;
  let url: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  let cdp: CDPSession;
  let authenticatorA: string;
  const email = 'alice@acme.test';
  const password = () => app.passwords.get(email)!;

  // The login page has two buttons starting with "Sign in" here (the organisation allows passkeys).
  const signIn = async (page: Page, base: string, tenant: string, address: string, pw: string) => {
    await page.goto(`${base}/login`);
    await page.getByLabel('Organisation').fill(tenant);
    await page.getByLabel('Email').fill(address);
    await page.getByLabel('Password').fill(pw);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  };
  const session = () => page.evaluate(() => fetch('/auth/session').then((r) => r.json())) as Promise<Record<string, unknown>>;
  // Through the page's own button: its socket then closes without racing a navigation of ours.
  const signOut = async () => {
    await page.locator('#logout').click();
    await page.waitForURL('**/login**');
  };

  beforeAll(async () => {
    app = await startE2eApp();
    // WebAuthn needs a secure context and an RP ID the page's host belongs to: localhost, not 127.0.0.1.
    url = app.url.replace('127.0.0.1', 'localhost');
    const stepUp = app.running.ex.stepUp;
    const acme = (await stepUp.stores.tenants.findBySlug('acme'))!;
    await stepUp.stores.tenants.updatePolicy(acme.id, { ...acme.policy, passwordlessPasskeys: true });
    browser = await launchBrowser();
    ({ context, page, problems } = await newSession(browser));
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId: authenticatorA } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { ...AUTHENTICATOR } }));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
  });

  afterEach(() => expect(problems).toEqual([]));

  it('registers a passkey on the security page (the first factor brings backup codes)', async () => {
    await signIn(page, url, 'acme', email, password());
    await page.waitForURL(`${url}/`);
    await page.goto(`${url}/security`);
    await page.getByLabel('Name for a new passkey').fill('Laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await expectText(page, '#notice', 'Passkey “Laptop” added.');
    await expectText(page, '#passkeys', 'Laptop');
    await page.locator('#new-codes').waitFor();
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticatorA });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]!.rpId).toBe('localhost');
  });

  it('signs in with the password and the passkey: aal 2, phishing resistant', async () => {
    await signOut();
    await signIn(page, url, 'acme', email, password());
    await page.waitForURL('**/challenge');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL(`${url}/`);
    expect(await session()).toMatchObject({ state: 'authenticated', aal: 2, amr: ['webauthn'], phishing_resistant: true });
  });

  it('signs in with the passkey alone where the organisation allows it', async () => {
    await signOut();
    await page.goto(`${url}/login`);
    await page.getByLabel('Organisation').fill('acme');
    await page.getByLabel('Email').focus(); // `change` on the organisation shows the passkey button
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL(`${url}/`);
    expect(await session()).toMatchObject({ state: 'authenticated', aal: 2, user: { email }, amr: ['webauthn'] });
  });

  it('steps up with the passkey to remove it', async () => {
    app.clock.advance(301); // the sign-in's proof is no longer fresh: removing asks again
    await page.goto(`${url}/security`);
    await expectText(page, '#passkeys', 'Laptop');
    await page.locator('#passkeys').getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('button', { name: 'Remove passkey' }).click();
    await page.locator('#stepup-passkey').click();
    await expectText(page, '#notice', 'Passkey removed.');
    expect(await page.locator('#passkeys li').count()).toBe(0);
  });

  it('a second authenticator with a passkey the server never registered is refused', async () => {
    const me = (await session()).user as { id: string };
    await signOut();
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: authenticatorA });
    const { authenticatorId: b } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { ...AUTHENTICATOR } });
    // A discoverable passkey for Alice's user handle on this RP, made outside the server.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await cdp.send('WebAuthn.addCredential', {
      authenticatorId: b,
      credential: {
        credentialId: randomBytes(32).toString('base64'),
        isResidentCredential: true,
        rpId: 'localhost',
        privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
        userHandle: Buffer.from(me.id, 'utf8').toString('base64'),
        signCount: 1,
      },
    });
    await page.goto(`${url}/login`);
    await page.getByLabel('Organisation').fill('acme');
    await page.getByLabel('Email').focus();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expectText(page, '#error', 'could not be verified');
    expect(page.url()).toContain('/login');
    expect((await session()).state).toBe('anonymous');
  });
});
