import fs from 'node:fs';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { AppStack } from '../support/appStack';

// Debian's chromium (apt-get install chromium), driven by playwright-core: no browser download.
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`No browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-background-networking'] });
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  /** Every request the page made, in order. */
  requests: Request[];
  /** Console messages of level error, and page errors (uncaught exceptions). */
  errors: string[];
  close(): Promise<void>;
}

/** Resolves once the element is the focused one (keyboard tests). */
export async function focused(page: Page): Promise<{ tag: string; text: string; label: string | null; id: string }> {
  return (await page.evaluate(`(() => { const e = document.activeElement; return e === null ? null : { tag: e.tagName.toLowerCase(), text: (e.textContent || '').trim(), label: e.getAttribute('aria-label'), id: e.id }; })()`)) as { tag: string; text: string; label: string | null; id: string };
}

/** A fresh tab (own sessionStorage) on the status page; with `key`, the key is entered through the page's form. */
export async function openStatusPage(browser: Browser, stack: AppStack, options: { key?: string; hash?: string; installClock?: number } = {}): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const requests: Request[] = [];
  const errors: string[] = [];
  page.on('request', (request) => requests.push(request));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  // The page's timers (live polling) on Playwright's clock, starting at the app's virtual time.
  if (options.installClock !== undefined) await page.clock.install({ time: options.installClock });
  await page.goto(`${stack.host.baseUrl}/api/status${options.hash ?? ''}`);
  if (options.key !== undefined) {
    await page.getByLabel('Function key').fill(options.key);
    await page.getByRole('button', { name: 'Open the status page' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).waitFor();
  }
  return { context, page, requests, errors, close: () => context.close() };
}
