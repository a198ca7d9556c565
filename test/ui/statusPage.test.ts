import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { modelName, startAppStack, testModels, type AppStack } from '../support/appStack';
import { stepUntil } from '../support/virtualTime';
import { openApiDocument } from '../../src/api/openapi';
import { ErrorCodes } from '../../src/errors';
import { focused, launchChromium, openStatusPage, type OpenedPage } from './browser';

import { buildStatusPage, errorGuidance } from '../../web/build';

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
  // Virtual time starts in the past (the stack's default), so tokens the SDKs cache by the real clock never outlive the emulators' virtual one.
  stack = await startAppStack({ models });
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
  // Refreshing, and polled once: the objects are listed.
  await stepUntil(stack.host, async () => {
    const run = (await stack.run(id)).body;
    return run.status === 'refreshing' && run.objects.length > 0;
  }, `${model} refreshing with its objects listed`);
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
    // The page itself needs nothing the policy forbids, and loads without a failed request.
    expect(errors).toEqual([]);
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
    expect(await rows.first().locator('.badge').textContent()).toBe('refreshing');

    await page.getByLabel('Status').selectOption('refreshing');
    await page.getByRole('button', { name: 'Show runs' }).click();
    await page.getByRole('table').getByText('1 run, newest first').waitFor();
    expect(await rows.getByRole('link', { name: /^Open run/ }).getAttribute('href')).toBe(runHref(running));
    // The list follows a running run by itself: once it has ended it no longer matches.
    await stack.finish(running);
    await page.clock.runFor(10_000);
    await page.getByText('No runs match these filters.').waitFor();

    await page.getByLabel('Status').selectOption('succeeded');
    await page.getByRole('button', { name: 'Show runs' }).click();
    await page.getByRole('table').getByText('3 runs, newest first').waitFor();
    expect(await rows.getByRole('link', { name: /^Open run/ }).evaluateAll((links) => links.map((link) => link.getAttribute('href')))).toEqual([runHref(running), runHref(newer), runHref(older)]);

    await page.getByLabel('Started within').selectOption('1h');
    await page.getByRole('button', { name: 'Show runs' }).click();
    await page.getByText('No runs match these filters.').waitFor();
    await page.getByLabel('Started within').selectOption('24h');
    await page.getByRole('button', { name: 'Show runs' }).click();
    await page.getByRole('table').getByText('3 runs, newest first').waitFor();

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

  it('shows a running run live: each poll the page sees extends the bars without a reload, and a reload keeps them', async () => {
    const model = modelName(3);
    // One object at a time, so the objects change status at different polls.
    const id = await startRunning(model, { maxParallelism: 1, callbackUrl: `${stack.callbackUrl}?ui-live` });
    const { page } = await open({ hash: runHref(id) });
    let navigations = 0;
    page.on('framenavigated', () => (navigations += 1));
    await page.getByRole('heading', { name: `Run: ${model}` }).waitFor();
    const status = page.locator('.phase .badge');
    expect(await status.textContent()).toBe('refreshing');
    await page.getByText('Live: updates by itself.').waitFor();
    const bar = (name: string) => page.getByRole('img', { name: new RegExp(`^${name}: `) });
    const firstSeen = await bar('DimCustomer').getAttribute('aria-label');

    // The app polls AAS until the first object is done; the page's next poll shows it.
    await stepUntil(stack.host, async () => (await stack.run(id)).body.objects.some((o) => o.status === 'succeeded'), 'an object succeeded');
    const doneInApp = (await stack.run(id)).body.objects.filter((o) => o.status === 'succeeded').map((o) => o.partition ?? o.table);
    await nextPoll(page);
    await page.locator('.timeline .badge', { hasText: 'succeeded' }).first().waitFor();
    expect(await page.locator('.timeline li', { has: page.locator('.badge', { hasText: 'succeeded' }) }).locator('.object').allTextContents()).toEqual(doneInApp.map((name) => (name === 'DimCustomer' || name === 'DimDate' ? name : `FactSales / ${name}`)));
    // Two segments now on a finished object's bar: what it was at the first poll, then succeeded.
    const changed = page.locator('.timeline li', { has: page.locator('.badge', { hasText: 'succeeded' }) }).first().locator('svg rect');
    expect(await changed.count()).toBe(2);
    expect(await bar('DimCustomer').getAttribute('aria-label')).not.toBe(firstSeen);
    // A reload keeps what the page saw (this tab's sessionStorage).
    await page.reload();
    await page.locator('.timeline .badge', { hasText: 'succeeded' }).first().waitFor();
    expect(await changed.count()).toBe(2);
    if (process.env.STATUS_PAGE_SCREENSHOT === '1') await page.screenshot({ path: path.join(__dirname, '..', '..', 'docs', 'status-page.png'), fullPage: true });

    await stack.finish(id);
    await nextPoll(page);
    await page.locator('.phase .badge', { hasText: 'succeeded' }).waitFor();
    await page.getByText('Live: updates by itself.').waitFor({ state: 'detached' });
    expect(await page.getByRole('button', { name: 'Cancel this refresh…' }).isHidden()).toBe(true);
    await page.getByText('delivered (HTTP 200)').waitFor();
    expect(navigations).toBe(1); // the reload above, nothing else
  });

  it('cancels a running run only after the operator confirms', async () => {
    const model = modelName(4);
    const id = await startRunning(model);
    const opened = await open({ hash: runHref(id) });
    const { page } = opened;
    const deletes = () => opened.requests.filter((request) => request.method() === 'DELETE');
    await page.getByRole('button', { name: 'Cancel this refresh…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this refresh?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(model);
    await page.getByRole('button', { name: 'No, keep it running' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(deletes()).toEqual([]);
    expect((await stack.run(id)).body.status).toBe('refreshing');

    await page.getByRole('button', { name: 'Cancel this refresh…' }).click();
    const answered = page.waitForResponse((response) => response.request().method() === 'DELETE');
    await page.getByRole('button', { name: 'Yes, cancel the refresh' }).click();
    expect((await answered).status()).toBe(202);
    expect(deletes().map((request) => [new URL(request.url()).pathname, request.headers()['x-functions-key']])).toEqual([[`/api/refreshes/${id}`, stack.functionKey]]);
    await stack.finish(id);
    await nextPoll(page);
    await page.locator('.phase .badge', { hasText: 'cancelled' }).waitFor();
    expect(await page.locator('.error code').first().textContent()).toBe('RUN_CANCELLED');
    expect(stack.emulators.aas.requests.filter((entry) => entry.operation === 'cancelRefresh' && entry.model === model)).not.toHaveLength(0);
  });

  it('works from the keyboard alone, with a visible focus and readable contrast', async () => {
    const model = modelName(5);
    const id = await startRunning(model);
    const { page } = await open({ key: null, hash: `#/runs?model=${model}` });
    // The key field has the focus: type and press Enter; the runs view then has it at its heading.
    await page.locator('#function-key:focus').waitFor();
    await page.keyboard.type(stack.functionKey);
    await page.keyboard.press('Enter');
    await page.getByRole('table').getByText('1 run, newest first').waitFor();
    expect(await focused(page)).toMatchObject({ tag: 'h1', text: 'Refresh runs' });
    const stops: string[] = [];
    for (let i = 0; i < 7; i++) {
      await page.keyboard.press('Tab');
      const now = await focused(page);
      stops.push(now.id !== '' ? now.id : (now.label ?? now.text));
    }
    expect(stops.slice(0, 6)).toEqual(['filter-model', 'filter-server', 'filter-status', 'filter-since', 'Show runs', model]);
    expect(stops[6]).toMatch(new RegExp(`^Open run of ${model} started`));
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: `Run: ${model}` }).waitFor();
    expect(await focused(page)).toMatchObject({ tag: 'h1', text: `Run: ${model}` });
    for (let i = 0; i < 30 && (await focused(page)).text !== 'Cancel this refresh…'; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    expect(await focused(page)).toMatchObject({ text: 'No, keep it running' });
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    expect(await focused(page)).toMatchObject({ text: 'Cancel this refresh…' });
    expect((await stack.run(id)).body.status).toBe('refreshing');
    // On a fresh load the first Tab reaches the skip link, which moves the focus to the content.
    await page.reload();
    await page.getByRole('heading', { name: `Run: ${model}` }).waitFor();
    await page.keyboard.press('Tab');
    expect(await focused(page)).toMatchObject({ tag: 'a', text: 'Skip to the content' });
    await page.keyboard.press('Enter');
    expect(await focused(page)).toMatchObject({ tag: 'main' });

    // WCAG AA: 4.5:1 for the page's text on its background, badges and buttons included.
    const pairs = (await page.evaluate(`(() => {
      const background = (element) => { for (let e = element; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor; if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
      return [...document.querySelectorAll('h1, h2, dt, dd, p, a, button, .badge, label, th, td')].filter((e) => e.offsetParent !== null && e.textContent.trim() !== '').map((e) => ({ text: e.textContent.trim().slice(0, 40), fg: getComputedStyle(e).color, bg: background(e) }));
    })()`)) as { text: string; fg: string; bg: string }[];
    expect(pairs.length).toBeGreaterThan(20);
    const low = pairs.filter((pair) => contrast(pair.fg, pair.bg) < 4.5).map((pair) => `${pair.text}: ${pair.fg} on ${pair.bg} (${contrast(pair.fg, pair.bg).toFixed(2)})`);
    expect(low).toEqual([]);
    await stack.finish(id);
  });

  it('shows hostile model and table names as text, in the list, the run and the model view', async () => {
    const id = await finished(HOSTILE);
    const { page } = await open({ hash: `#/runs?model=${encodeURIComponent(HOSTILE)}` });
    await page.getByRole('table').getByText('1 run, newest first').waitFor();
    await page.getByRole('link', { name: HOSTILE, exact: true }).waitFor();
    await page.getByRole('link', { name: /^Open run of / }).click();
    await page.getByRole('heading', { name: `Run: ${HOSTILE}`, exact: true }).waitFor();
    await page.locator('.timeline .object', { hasText: HOSTILE_TABLE }).first().waitFor();
    expect(await page.locator('.timeline .object').first().textContent()).toBe(HOSTILE_TABLE);
    await page.getByRole('link', { name: HOSTILE, exact: true }).click();
    await page.getByRole('heading', { name: `Model: ${HOSTILE}`, exact: true }).waitFor();
    // Nothing from the names became markup or ran.
    expect(await page.locator('img, b, main script').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(1);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    expect(await page.title()).toBe('Refresh status');
    expect((await stack.run(id)).body.model).toBe(HOSTILE);
  });

  it('checks the start form against the request schema the app serves, then shows the app\'s own problems', async () => {
    const model = modelName(6);
    const opened = await open({ hash: '#/start' });
    const { page } = opened;
    // The served schema decides: a stricter maximum in it is what the form enforces.
    const served = openApiDocument.components.schemas.RefreshRequest.properties.maxParallelism.maximum;
    await page.route('**/api/openapi.json', async (route) => {
      const document = JSON.parse(JSON.stringify(openApiDocument)) as { components: { schemas: { RefreshRequest: { properties: { maxParallelism: { maximum: number } } } } } };
      document.components.schemas.RefreshRequest.properties.maxParallelism.maximum = 4;
      await route.fulfill({ json: document });
    });
    await page.reload();
    await page.getByRole('heading', { name: 'Start a refresh' }).waitFor();
    const posts = () => opened.requests.filter((request) => request.method() === 'POST');
    expect(await page.getByLabel(/^Type/).locator('option').allTextContents()).toEqual(['Default (automatic)', ...openApiDocument.components.schemas.RefreshRequest.properties.type.enum]);
    await page.getByLabel(/^Server/).fill(stack.server);
    await page.getByLabel(/^Max parallelism/).fill('5');
    await page.getByRole('button', { name: 'Start the refresh' }).click();
    const summary = page.locator('.error-summary');
    await summary.waitFor();
    // The served schema names the model by one of two pairs: the started one is completed.
    expect(await summary.locator('li').allTextContents()).toEqual(['Max parallelism must be at most 4.', 'Model is required.', 'Give server and model, or workspace and semanticModel.']);
    expect(await page.getByLabel(/^Max parallelism/).getAttribute('aria-invalid')).toBe('true');
    expect(served).toBeGreaterThan(4);
    expect(posts()).toEqual([]);

    // What only the app can check (the timeout's form) comes back as its 400 problems.
    await page.getByLabel(/^Model/).fill(model);
    await page.getByLabel(/^Max parallelism/).fill('4');
    await page.getByLabel(/^Timeout/).fill('two hours');
    await page.getByRole('button', { name: 'Start the refresh' }).click();
    await summary.getByText('The refresh request is not valid.').waitFor();
    expect(await summary.locator('li').count()).toBeGreaterThan(1);
    expect(await summary.textContent()).toMatch(/timeout/i);
    expect(posts()).toHaveLength(1);

    await page.getByLabel(/^Timeout/).fill('PT2H');
    await page.getByLabel(/^Objects/).fill('DimDate\nFactSales :: FactSales 2026');
    await page.getByRole('button', { name: 'Start the refresh' }).click();
    await page.getByRole('heading', { name: `Run: ${model}` }).waitFor();
    const id = new URL(page.url()).hash.replace('#/runs/', '');
    const run = (await stack.run(id)).body;
    expect(run.request).toMatchObject({ maxParallelism: 4, timeoutSeconds: 7200, objects: [{ table: 'DimDate' }, { table: 'FactSales', partition: 'FactSales 2026' }] });
    expect(JSON.parse(posts()[1]?.postData() ?? '{}')).toEqual({ server: stack.server, model, maxParallelism: 4, timeout: 'PT2H', objects: [{ table: 'DimDate' }, { table: 'FactSales', partition: 'FactSales 2026' }] });
    await stack.finish(id);
  });

  it("charts a model's recent refresh durations with the duration its polling policy expects", async () => {
    const model = modelName(7);
    const ids = [await finished(model), await finished(model), await finished(model)];
    const runs = await Promise.all(ids.map(async (id) => (await stack.run(id)).body));
    const expected = runs[2]?.expectedDurationSeconds;
    // The first run has nothing to learn from; the later ones expect what the earlier ones took.
    expect(runs.map((run) => run.expectedDurationSeconds === undefined)).toEqual([true, false, false]);
    const history = (await stack.request('GET', `models/refreshes?server=${encodeURIComponent(stack.server)}&model=${model}`)).body as { refreshes: unknown[] };
    expect(history.refreshes).toHaveLength(3);
    const { page } = await open({ hash: `#/model?server=${encodeURIComponent(stack.server)}&model=${model}` });
    await page.getByRole('heading', { name: `Model: ${model}` }).waitFor();
    const minutes = Math.floor((expected ?? 0) / 60);
    const label = `expected ${minutes === 0 ? `${expected} s` : `${minutes} min ${(expected ?? 0) % 60} s`}`;
    for (const section of ['#runs-chart', '#history-chart']) {
      const chart = page.locator(`${section} svg.chart`);
      await chart.waitFor();
      expect(await chart.locator('rect').count()).toBe(3);
      expect(await chart.locator('line.expected').count()).toBe(1);
      expect(await chart.locator('.expected-label').textContent()).toBe(label);
    }
    // Each of this app's runs with the expectation it ran under: a tick on its bar and a table column.
    expect(await page.locator('#runs-chart line.expected-tick').count()).toBe(2);
    await page.locator('#runs-chart').getByText('Durations as a table').click();
    expect(await page.locator('#runs-chart table.durations tbody tr').count()).toBe(3);
    expect(await page.locator('#runs-chart table.durations tbody tr').first().locator('td').last().textContent()).toBe(label.replace('expected ', ''));
    expect(await page.locator('#runs-chart').getByRole('link').count()).toBe(3);
  });

  it('shows the replica sync and the callback of a finished run, and its bars from the final status', async () => {
    const model = modelName(9);
    const id = await finished(model, { sync: true, callbackUrl: `${stack.callbackUrl}?ui-sync` });
    const run = (await stack.run(id)).body;
    expect(run).toMatchObject({ status: 'succeeded', syncStatus: 'succeeded', callback: { delivered: true, httpStatus: 200 } });
    const { page } = await open({ hash: runHref(id) });
    await page.locator('.phase .badge', { hasText: 'succeeded' }).waitFor();
    const fact = (term: string) => page.locator('dt', { hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');
    expect(await fact('Replica sync').textContent()).toBe(`succeeded (AAS: ${['replicating', 'rehydrating', 'completed', 'failed', 'finalizing'][run.syncState ?? -1]})`);
    expect(await fact('Sync operation').textContent()).toBe(run.syncOperationId);
    expect(await fact('Callback').textContent()).toBe('delivered (HTTP 200)');
    await page.getByText('Opened after the run ended: each bar shows the final status over the refresh.').waitFor();
    expect(await page.locator('.timeline li').count()).toBe(run.objects.length);
    expect(await page.locator('.timeline svg rect').count()).toBe(run.objects.length);
    expect(await page.getByRole('button', { name: 'Cancel this refresh…' }).isHidden()).toBe(true);
  });

  it('asks for one pair of fields, as the served schema offers them (server + model or workspace + semanticModel)', async () => {
    expect(openApiDocument.components.schemas.RefreshRequest.oneOf.map((alternative) => alternative.required)).toEqual([
      ['server', 'model'],
      ['workspace', 'semanticModel'],
    ]);
    const opened = await open({ hash: '#/start' });
    const { page } = opened;
    await page.getByText('Name the model with server and model, or workspace and semanticModel.', { exact: false }).waitFor();
    const summary = page.locator('.error-summary');
    await page.getByLabel(/^Workspace/).fill('Sales Analytics');
    await page.getByRole('button', { name: 'Start the refresh' }).click();
    await summary.waitFor();
    expect(await summary.locator('li').allTextContents()).toEqual(['Semantic model is required.', 'Give server and model, or workspace and semanticModel.']);
    await page.getByLabel(/^Semantic model/).fill('AdventureWorks');
    await page.getByLabel(/^Server/).fill(stack.server);
    await page.getByLabel(/^Model \(/).fill('AdventureWorks');
    await page.getByRole('button', { name: 'Start the refresh' }).click();
    await summary.getByText('Give server and model, or workspace and semanticModel, not more than one of these.').waitFor();
    expect(opened.requests.filter((request) => request.method() === 'POST')).toEqual([]);
  });

  it('starts and follows a Power BI semantic model from the form: workspace, service status, messages, history chart', async () => {
    const semanticModel = 'AdventureWorks';
    // The Power BI emulator mirrors the AAS models: workspace "myserver" holds a semantic model of each name.
    const { page } = await open({ hash: '#/start' });
    await page.getByLabel(/^Workspace/).fill('myserver');
    await page.getByLabel(/^Semantic model/).fill(semanticModel);
    await page.getByLabel(/^Max parallelism/).fill('1');
    await page.getByRole('button', { name: 'Start the refresh' }).click();
    await page.getByRole('heading', { name: `Run: ${semanticModel}` }).waitFor();
    const id = new URL(page.url()).hash.replace('#/runs/', '');
    expect((await stack.run(id)).body).toMatchObject({ backend: 'powerbi', workspace: 'myserver', semanticModel });
    await stepUntil(stack.host, async () => (await stack.run(id)).body.objects.length > 0, 'Power BI run polled');
    await nextPoll(page);
    const fact = (term: string) => page.locator('#main dl.facts dt', { hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');
    await page.locator('.timeline li').first().waitFor();
    expect(await fact('Service').textContent()).toBe('Power BI');
    expect(await fact('Workspace').textContent()).toBe('myserver');
    expect(await fact('Power BI status').textContent()).toBe((await stack.run(id)).body.refreshStatus);
    await page.getByRole('heading', { name: 'Messages from Power BI' }).waitFor();
    expect(await page.locator('.timeline li').count()).toBe((await stack.run(id)).body.objects.length);
    await stack.finish(id);
    await nextPoll(page);
    await page.locator('.phase .badge', { hasText: 'succeeded' }).waitFor();
    // The model view asks the history route with the run's own pair.
    await page.locator('#main dl.facts').getByRole('link', { name: semanticModel, exact: true }).click();
    await page.getByRole('heading', { name: `Model: ${semanticModel}` }).waitFor();
    await page.locator('#history-chart svg.chart').waitFor();
    const history = (await stack.request('GET', `models/refreshes?workspace=myserver&semanticModel=${semanticModel}`)).body as { refreshes: unknown[] };
    expect(history.refreshes.length).toBeGreaterThan(0);
    expect(await page.locator('#history-chart svg.chart rect').count()).toBe(history.refreshes.length);
    expect(await page.locator('#runs-chart svg.chart rect').count()).toBe(1);
  });

  it('shows a failed run with the service messages and what to do from docs/operations.md', async () => {
    const model = modelName(8);
    stack.emulators.aas.setTable('myserver', model, 'DimDate', { failAttempts: 1_000, failMessage: 'The column DateKey has a duplicate value 20260101.' });
    const id = await finished(model);
    expect((await stack.run(id)).body.error?.code).toBe('REFRESH_FAILED');
    const { page } = await open({ hash: runHref(id) });
    await page.locator('.phase .badge', { hasText: 'failed' }).waitFor();
    const error = page.locator('#main div.error').first();
    expect(await error.locator('code').textContent()).toBe('REFRESH_FAILED');
    const guidance = errorGuidance(fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8'));
    // The page knows every code the app has (the build reads them from the operations guide's table).
    expect(Object.values(ErrorCodes).filter((code) => guidance[code] === undefined)).toEqual([]);
    const todo = guidance.REFRESH_FAILED?.todo;
    expect(todo).toMatch(/re-run/);
    expect(await error.textContent()).toContain(`What to do: ${todo}`);
    await page.locator('.messages li', { hasText: 'The column DateKey has a duplicate value 20260101.' }).first().waitFor();
    expect(await page.locator('.timeline li', { hasText: 'DimDate' }).locator('.badge').textContent()).toBe('failed');
    // The operator sees the app's words, never a stack trace or a file path.
    expect(await page.locator('body').textContent()).not.toMatch(/\bat \S+ \(|\/work\/|node_modules|\.ts:\d+/);
  });
});

/** WCAG 2 contrast ratio of two computed CSS colours (rgb/rgba). */
function contrast(foreground: string, background: string): number {
  const luminance = (color: string) => {
    const [r = 0, g = 0, b = 0] = (color.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number).map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [light, dark] = [luminance(foreground), luminance(background)].sort((a, b) => b - a);
  return ((light ?? 0) + 0.05) / ((dark ?? 0) + 0.05);
}
