/**
 * Browser tests: the example app in-process on a free port with an injected clock, and Chromium
 * through playwright-core. TOTP codes are computed here from the key the page shows, at the app's clock.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig } from '../../example-app/config';
import { startServer, type RunningExample } from '../../example-app/server';
import type { ExampleOptions } from '../../example-app/app';
import { codeFor, FAST_ARGON2 } from './app';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export const SCREENSHOT_DIR = path.join(__dirname, '..', '..', 'test-output', 'screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** The app's one clock: frozen, moved by the test (30 s per TOTP code, so no code is a replay). */
export class E2eClock {
  t = Math.floor(Date.now() / 30_000) * 30_000 + 1_000;
  now = (): number => this.t;
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

export const SUPERADMIN = { email: 'root@platform.test', password: 'superadmin-password-for-e2e-tests' };

export interface E2eApp {
  running: RunningExample;
  url: string;
  clock: E2eClock;
  /** Demo account passwords by email. */
  passwords: Map<string, string>;
  /** The current TOTP code for a secret as shown on the page (spaces allowed), a new time step each call. */
  nextTotp(secretAsShown: string): string;
  close(): Promise<void>;
}

export async function startE2eApp(opts: { env?: Record<string, string>; stepUp?: ExampleOptions['stepUp']; syncStepMs?: number } = {}): Promise<E2eApp> {
  const clock = new E2eClock();
  const cfg = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SESSION_SECRET: randomBytes(32).toString('hex'),
    MFA_ENCRYPTION_KEYS: `e2e:${randomBytes(32).toString('hex')}`,
    STEPUP_SUPERADMIN_EMAIL: SUPERADMIN.email,
    STEPUP_SUPERADMIN_PASSWORD: SUPERADMIN.password,
    ...opts.env,
  });
  const running = await startServer(cfg, {
    now: clock.now,
    stepUp: { password: { argon2: FAST_ARGON2 }, ...opts.stepUp },
    sync: { stepMs: opts.syncStepMs ?? 120 },
  });
  const passwords = new Map(running.ex.demo.filter((d) => d.password).map((d) => [d.email, d.password!]));
  passwords.set(SUPERADMIN.email, SUPERADMIN.password);
  return {
    running,
    url: running.url,
    clock,
    passwords,
    nextTotp(secretAsShown) {
      clock.advance(30);
      return codeFor(secretAsShown.replace(/\s+/g, ''), clock.now());
    },
    close: () => running.close(),
  };
}

/** A fresh browser context (its own cookies) that records page errors and CSP violations. */
export async function newSession(browser: Browser): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1180, height: 860 }, acceptDownloads: true });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const page = await context.newPage();
  const problems = watch(page);
  context.on('page', (p) => watch(p, problems));
  return { context, page, problems };
}

/** Page errors and CSP reports; failed API calls (4xx shown as sentences) are expected and not listed. */
export function watch(page: Page, problems: string[] = []): string[] {
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    const text = msg.text();
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(text)) problems.push(`csp: ${text}`);
  });
  return problems;
}

/** `STEPUP_SCREENSHOTS=1`: `shot()` also saves full-page PNGs under test-output/screenshots/ to look at. */
export const SAVE_SCREENSHOTS = process.env.STEPUP_SCREENSHOTS === '1';

/**
 * Checks the page a journey reached: every visible form control has a label (or an aria-label) and
 * there is exactly one h1. With `STEPUP_SCREENSHOTS=1` it also saves a full-page screenshot of it
 * (Chromium's PNG encoding is a third of a second per shot, so a plain `npm test` skips it).
 */
export async function shot(page: Page, name: string): Promise<void> {
  if (SAVE_SCREENSHOTS) {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  }
  const issues = await page.evaluate(() => {
    const out: string[] = [];
    for (const c of Array.from(document.querySelectorAll<HTMLInputElement>('input, select, textarea'))) {
      const visible = c.offsetParent !== null || c.getClientRects().length > 0;
      if (visible && !(c.labels && c.labels.length) && !c.getAttribute('aria-label') && !c.getAttribute('aria-labelledby')) out.push(`unlabelled ${c.tagName.toLowerCase()}#${c.id}`);
    }
    const h1 = document.querySelectorAll('h1').length;
    if (h1 !== 1) out.push(`${h1} h1 elements`);
    return out;
  });
  expect({ page: name, issues }).toEqual({ page: name, issues: [] });
}

export async function signIn(page: Page, url: string, tenant: string, email: string, password: string): Promise<void> {
  await page.goto(`${url}/login`);
  await page.getByLabel('Organisation').fill(tenant);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Pastes text into an input the way a browser does (a paste event with clipboard data). */
export async function pasteInto(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector).focus();
  await page.locator(selector).evaluate((input, t) => {
    const data = new DataTransfer();
    data.setData('text/plain', t);
    input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

/** Enrols TOTP on the enrolment page that is open: reads the key shown, confirms, returns key and backup codes. */
export async function enrolTotpOnPage(
  page: Page,
  app: E2eApp,
  shotPrefix?: string,
): Promise<{ secret: string; backupCodes: string[]; downloaded: { name: string; text: string } }> {
  const secretEl = page.locator('#secret');
  await secretEl.waitFor();
  await page.waitForFunction(() => (document.getElementById('secret')?.textContent ?? '').length > 10);
  await page.waitForFunction(() => (document.getElementById('qr') as HTMLImageElement | null)?.complete === true);
  const secret = (await secretEl.textContent())!.trim();
  if (shotPrefix) await shot(page, `${shotPrefix}-enrol-totp`);
  await page.getByLabel('Code from the app').fill(app.nextTotp(secret));
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('heading', { name: 'Save your backup codes' }).waitFor();
  const backupCodes = (await page.locator('#backup-code-list code').allTextContents()).map((c) => c.trim());
  if (shotPrefix) await shot(page, `${shotPrefix}-enrol-backup-codes`);
  // Continue stays disabled until the codes are saved: download them as the person would.
  if (!(await page.getByRole('button', { name: 'Continue' }).isDisabled())) throw new Error('Continue is enabled before the codes were saved');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download .txt' }).click()]);
  const downloaded = { name: download.suggestedFilename(), text: readFileSync((await download.path())!, 'utf8') };
  await page.getByLabel('I have saved my backup codes').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  return { secret, backupCodes, downloaded };
}

/** Waits until `selector` shows `text`; on failure, a screenshot and what it showed instead. */
export async function expectText(page: Page, selector: string, text: string): Promise<void> {
  try {
    const found = page.locator(selector).filter({ hasText: text }).first();
    await found.waitFor({ timeout: 10_000 });
    expect(await found.textContent()).toContain(text);
  } catch (err) {
    // A failure always keeps its screenshot.
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, `failed-${selector.replace(/\W+/g, '')}.png`), fullPage: true }).catch(() => undefined);
    const seen = await page.locator(selector).first().textContent().catch(() => null);
    throw new Error(`expected ${selector} to contain "${text}", it shows "${seen}" (${(err as Error).message.split('\n')[0]})`);
  }
}
