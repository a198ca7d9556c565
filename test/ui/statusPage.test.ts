import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { modelName, startAppStack, testModels, type AppStack } from '../support/appStack';
import { stepUntil } from '../support/virtualTime';
import { openApiDocument } from '../../src/api/openapi';
import { focused, launchChromium, openStatusPage, type OpenedPage } from './browser';

const { buildStatusPage, errorGuidance } = require('../../web/build.js') as {
  buildStatusPage: () => Promise<string>;
  errorGuidance: (markdown: string) => Record<string, { meaning: string; todo: string }>;
};

// The status page end to end: the real app (src/index.ts) on the local durable host under a
// virtual clock, against the AAS and identity emulators, driven through Debian's chromium.
const HOSTILE = `<img src=x onerror="document.title='pwned'">"'&<script>window.pwned=1</script>`;
const HOSTILE_TABLE = 'Sales <b>2026</b>';
const hour = 3_600_000;

let stack: AppStack;
let browser: Browser;
const pages: OpenedPage[] = [];

beforeAll(async () => {
  await buildStatusPage();
  const models = testModels(9);
  models.servers[0]?.models.push({ name: HOSTILE, tables: [{ name: HOSTILE_TABLE, durationMs: 30_000 }] });
  stack = await startAppStack({ models, clockStart: Date.now() });
  browser = await launchChromium();
}, 120_000);

afterEach(async () => {
  for (const opened of pages.splice(0)) await opened.close();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** A new tab; by default the key is entered through the page's form, and timers run on Playwright's clock. */
async function open(options: { key?: string | null; hash?: string; clockAt?: number } = {}): Promise<OpenedPage> {
  const opened = await openStatusPage(browser, stack, { key: options.key === null ? undefined : (options.key ?? stack.functionKey), hash: options.hash, installClock: options.clockAt ?? stack.clock.now() });
  pages.push(opened);
  return opened;
}

/** Lets the page's next poll happen (the page polls at most 5 s apart). */
async function nextPoll(page: Page): Promise<void> {
  await page.clock.runFor(5_000);
}

async function startRunning(model: string, extra: Record<string, unknown> = {}): Promise<string> {
  const id = await stack.start({ server: stack.server, model, sync: false, ...extra });
  await stepUntil(stack.host, async () => (await stack.run(id)).body.status === 'refreshing', `${model} refreshing`);
  return id;
}

async function finished(model: string, extra: Record<string, unknown> = {}): Promise<string> {
  const id = await stack.start({ server: stack.server, model, sync: false, ...extra });
  await stack.finish(id);
  return id;
}

const isApi = (url: string) => new URL(url).pathname.startsWith('/api/') && !new URL(url).pathname.startsWith('/api/status');
const runHref = (id: string) => `#/runs/${id}`;

describe('status page', () => {
  it('is served with a strict Content-Security-Policy that the browser enforces', async () => {
    const shell = await stack.host.fetch('/api/status');
    expect(shell.status).toBe(200);
    expect(shell.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = (shell.headers.get('content-security-policy') ?? '').split(';').map((directive) => directive.trim());
    expect(csp).toEqual(expect.arrayContaining(["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "base-uri 'none'", "frame-ancestors 'none'"]));
    expect(csp.join(';')).not.toContain('unsafe');
    expect(shell.headers.get('x-content-type-options')).toBe('nosniff');
    expect(shell.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await shell.text()).not.toMatch(/<script>|<style|style=|\son[a-z]+=/i);
    expect((await stack.host.fetch('/api/status/app.js')).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    // Only the page's own files: no path reaches the file system.
    for (const other of ['/api/status/index.js', '/api/status/..%2F..%2Fpackage.json', '/api/status/app.js.map', '/api/status/app.js/x']) {
      expect((await stack.host.fetch(other)).status).toBe(404);
    }

    const { page, errors } = await open();
    await page.getByRole('heading', { name: 'Refresh runs' }).waitFor();
    // The page itself needs nothing the policy forbids.
    expect(errors.filter((error) => /Content Security Policy/i.test(error))).toEqual([]);
    const violated = await page.evaluate(`new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (event) => resolve(event.violatedDirective), { once: true });
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.body.append(script);
    })`);
    expect(violated).toBe('script-src-elem');
    expect(await page.evaluate('window.inlineRan')).toBeUndefined();
  });

  it('asks for the key once, sends it only as x-functions-key and never puts it in a URL', async () => {
    const opened = await open({ key: null });
    const { page } = opened;
    await page.locator('#function-key:focus').waitFor();
    expect(opened.requests.filter((request) => isApi(request.url()) && !request.url().endsWith('/openapi.json'))).toEqual([]);
    await page.getByLabel('Function key').fill('not-the-key');
    await page.getByRole('button', { name: 'Open the status page' }).click();
    await page.getByRole('alert').filter({ hasText: 'The app refused that key' }).waitFor();
    await page.getByLabel('Function key').fill(stack.functionKey);
    await page.getByRole('button', { name: 'Open the status page' }).click();
    await page.getByRole('heading', { name: 'Refresh runs' }).waitFor();
    // Kept for this tab: a reload does not ask again; another tab (its own session) does.
    await page.reload();
    await page.getByRole('heading', { name: 'Refresh runs' }).waitFor();
    const other = await open({ key: null });
    await other.page.getByLabel('Function key').waitFor();

    for (const request of opened.requests) expect(request.url()).not.toContain(stack.functionKey);
    const listCalls = opened.requests.filter((request) => new URL(request.url()).pathname === '/api/refreshes');
    expect(listCalls.length).toBe(3);
    expect(listCalls.map((request) => request.headers()['x-functions-key'])).toEqual(['not-the-key', stack.functionKey, stack.functionKey]);
  });

  it('lists runs newest first, filtered by model, status and time, and pages like the API', async () => {
    const model = modelName(1);
    const older = await finished(model);
    const newer = await finished(model);
    const running = await startRunning(model);
    // The page's clock two hours after the app's: every run started more than an hour ago.
    const { page } = await open({ hash: `#/runs?model=${model}`, clockAt: stack.clock.now() + 2 * hour });
    const rows = page.locator('table.runs tbody tr');
    await rows.first().waitFor();
    const hrefs = await rows.getByRole('link', { name: /^Open run/ }).evaluateAll((links) => links.map((link) => link.getAttribute('href')));
    expect(hrefs).toEqual([runHref(running), runHref(newer), runHref(older)]);

    await page.getByLabel('Status').selectOption('succeeded');
    await page.getByRole('button', { name: 'Show runs' }).click();
    await page.getByRole('table').getByText('2 runs, newest first').waitFor();
    expect(await rows.getByRole('link', { name: /^Open run/ }).evaluateAll((links) => links.map((link) => link.getAttribute('href')))).toEqual([runHref(newer), runHref(older)]);

    await page.getByLabel('Started within').selectOption('1h');
    await page.getByRole('button', { name: 'Show runs' }).click();
    await page.getByText('No runs match these filters.').waitFor();
    await page.getByLabel('Started within').selectOption('24h');
    await page.getByRole('button', { name: 'Show runs' }).click();
    await page.getByRole('table').getByText('2 runs, newest first').waitFor();
    await stack.finish(running);

    // Pages of 25 (the API's limit): 26 runs of one model make a second page.
    const many = modelName(2);
    const ids: string[] = [];
    for (let i = 0; i < 26; i++) ids.push(await finished(many));
    await page.goto(`${stack.host.baseUrl}/api/status#/runs?model=${many}`);
    await page.getByRole('table').getByText('25 runs, newest first').waitFor();
    await page.getByRole('link', { name: 'Show 25 more' }).click();
    await page.getByRole('table').getByText('26 runs, newest first').waitFor();
    expect(await rows.last().getByRole('link', { name: /^Open run/ }).getAttribute('href')).toBe(runHref(ids[0] ?? ''));
  });
});
