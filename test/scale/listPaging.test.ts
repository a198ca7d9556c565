import { randomUUID } from 'node:crypto';
import { decodeContinuationToken, encodeContinuationToken, newRunId } from '../../src/api/runList';
import { modelKey } from '../../src/api/runLookup';
import { RECENT_RUNS_ENTITY, runListKey } from '../../src/api/recentRuns';
import { FunctionNames } from '../../src/orchestration/contracts';
import { modelName, startAppStack, type AppStack } from '../support/appStack';
import { untilDefined } from '../support/virtualTime';

/**
 * GET /api/refreshes reads one page's work per request (issue 12, item 4): pages are bounded by
 * `limit`, followed with the continuationToken the answer carries. Without a model filter the
 * recent-runs index names the newest runs of every model, newest first across models; past it
 * the task hub's older runs follow model by model. A full server + model (or Power BI workspace +
 * semantic model) selects the model's runs in the query itself, newest first across pages.
 */
let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({
    modelCount: 3,
    // A schedule that fires only when the test fires its timer (no virtual-time firing).
    settings: (emulators) => ({ REFRESH_SCHEDULES: JSON.stringify([{ name: 'yearly', schedule: '0 0 0 1 1 *', request: { server: emulators.aas.serverName('myserver'), model: modelName(3), sync: false } }]) }),
  });
});
afterAll(async () => {
  await stack?.stop();
});

type Page = { runs: { id: string; model: string; createdAt: string; status: string; source: string }[]; order: string; continuationToken?: string };

async function allPages(query: string, maxPages = 40): Promise<{ pages: Page[]; ids: string[] }> {
  const pages: Page[] = [];
  let token: string | undefined;
  do {
    const answer = await stack.request('GET', `refreshes?${query}${token === undefined ? '' : `&continuationToken=${encodeURIComponent(token)}`}`);
    expect(answer.status).toBe(200);
    const page = answer.body as Page;
    pages.push(page);
    token = page.continuationToken;
  } while (token !== undefined && pages.length < maxPages);
  expect(token).toBeUndefined();
  return { pages, ids: pages.flatMap((page) => page.runs.map((run) => run.id)) };
}

/** The ids on the pages that answered `order`. */
const idsOn = (pages: Page[], order: string) => pages.filter((page) => page.order === order).flatMap((page) => page.runs.map((run) => run.id));

/** Removes a run from the task hub, as the retention timer does (the Durable purge API). */
async function purge(id: string): Promise<void> {
  const answer = await fetch(`${stack.host.rpcBaseUrl}instances/${encodeURIComponent(id)}`, { method: 'DELETE' });
  expect(answer.status).toBe(200);
}

/** The recent-runs index as the entity holds it. */
async function readIndex(): Promise<string[]> {
  const response = await fetch(`${stack.host.rpcBaseUrl}entities/${RECENT_RUNS_ENTITY}/all`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { ids: string[] }).ids;
}

/** The model field of the Power BI runs in `started`. */
const POWER_BI = 'powerbi:myserver/Model01';

describe('the run list, one page at a time', () => {
  /** The runs started one after another, oldest first. */
  const started: { id: string; model: string }[] = [];
  /** Every run of the set-up, newest first (as created). */
  const newestFirst: { id: string; model: string }[] = [];

  beforeAll(async () => {
    const sequential = started;
    // Three runs on each of three models, one after another (each ends before the next starts).
    for (let round = 0; round < 3; round += 1) {
      for (let m = 1; m <= 3; m += 1) {
        const id = await stack.start({ server: stack.server, model: modelName(m), sync: false });
        await stack.finish(id);
        sequential.push({ id, model: modelName(m) });
        stack.clock.advanceBy(60_000);
      }
    }
    // Then two runs of a Power BI semantic model, by name.
    for (let round = 0; round < 2; round += 1) {
      const id = await stack.start({ workspace: 'myserver', semanticModel: modelName(1), sync: false });
      await stack.finish(id);
      sequential.push({ id, model: POWER_BI });
      stack.clock.advanceBy(60_000);
    }
    // Then six POSTs at once, two per model (the second of each waits for the first): their
    // signals reach the index together. Created in the same few milliseconds, they are ordered by
    // their ids (creation time, then UUID), as the API orders them.
    const concurrent = await Promise.all(
      [1, 2, 3, 1, 2, 3].map(async (m) => ({ id: await stack.start({ server: stack.server, model: modelName(m), onConflict: 'wait', sync: false }), model: modelName(m) })),
    );
    await stack.host.runUntilIdle({ maxVirtualMs: 48 * 3600 * 1000 });
    concurrent.sort((a, b) => ((runListKey(a.id) ?? '') < (runListKey(b.id) ?? '') ? -1 : 1));
    newestFirst.push(...concurrent, ...[...sequential].reverse());
  });

  const ofModel = (model: string) => newestFirst.filter((run) => run.model === model).map((run) => run.id);

  it('without a model filter, the first page is the newest runs of every model, newest first across models', async () => {
    const answer = await stack.request('GET', 'refreshes?limit=8');
    expect(answer.status).toBe(200);
    const page = answer.body as Page;
    expect(page.runs.map((run) => run.id)).toEqual(newestFirst.slice(0, 8).map((run) => run.id));
    // The six concurrent runs of three models, then the two Power BI runs: not one model's runs.
    expect(new Set(newestFirst.slice(0, 8).map((run) => run.model)).size).toBe(4);
    expect(page.order).toBe('newestFirst');
    expect(page.continuationToken).toBeDefined();
  });

  it('the concurrent POSTs were all added to the index, none lost to another', async () => {
    expect(await readIndex()).toEqual(newestFirst.map((run) => run.id));
  });

  it('pages of at most limit runs, followed by continuationToken, list every run exactly once, newest first across models', async () => {
    const { pages, ids } = await allPages('limit=2');
    for (const page of pages) expect(page.runs.length).toBeLessThanOrEqual(2);
    // Every run is in the index: its pages list them all, newest first; the pages past it (the
    // task hub's older runs, model by model) have none left to list.
    expect(idsOn(pages, 'newestFirst')).toEqual(newestFirst.map((run) => run.id));
    expect(ids).toEqual(newestFirst.map((run) => run.id));
    expect(pages.at(-1)?.order).toBe('byModel');
  });

  it('runs the index does not name (started before it existed; plain-UUID ids from before issue 12) follow the newest, model by model, each once', async () => {
    const template = stack.host.getInstance(newestFirst.at(-1)?.id ?? '')?.input as { request: unknown; claim: unknown };
    const key = modelKey({ backend: 'aas', server: stack.server, model: modelName(1) });
    // Started as the app did before the index: straight into the task hub, no signal. The first
    // was created an hour before the runs above (its id says so), the second has no time at all.
    const unindexed = [newRunId(key, randomUUID(), Date.now() - 3_600_000), randomUUID()];
    try {
      for (const id of unindexed) {
        stack.host.startNew(FunctionNames.refreshOrchestrator, { request: template.request, claim: template.claim }, id);
        expect((await stack.finish(id)).body.status).toBe('succeeded');
      }
      const { pages, ids } = await allPages('limit=3');
      expect(ids.slice(0, newestFirst.length)).toEqual(newestFirst.map((run) => run.id));
      expect(ids.slice(newestFirst.length).sort()).toEqual([...unindexed].sort());
      // The pages of the index's runs say newest first; those that hold the others, model by model.
      const holding = (page: Page, some: string[]) => page.runs.some((run) => some.includes(run.id));
      expect(new Set(pages.filter((page) => holding(page, unindexed)).map((page) => page.order))).toEqual(new Set(['byModel']));
      expect(new Set(pages.filter((page) => page.runs.length > 0 && !holding(page, unindexed)).map((page) => page.order))).toEqual(new Set(['newestFirst']));
    } finally {
      for (const id of unindexed) await purge(id);
    }
  });

  it('a run started by a schedule is listed first across models; once purged it is gone and the list closes up', async () => {
    await stack.host.fireTimer('schedule-yearly');
    const first = ((await stack.request('GET', 'refreshes?limit=1')).body as Page).runs[0];
    expect(first).toMatchObject({ model: modelName(3), source: 'schedule:yearly' });
    const scheduled = first?.id ?? '';
    expect((await stack.finish(scheduled)).body.status).toBe('succeeded');
    await purge(scheduled);
    // The index still names it: the page skips it and lists the next runs, no gap, no repeat.
    const { ids } = await allPages('limit=4');
    expect(ids).toEqual(newestFirst.map((run) => run.id));
    // Found gone, it is forgotten by the index: the next first page of one run is the newest left.
    await untilDefined(async () => ((await readIndex()).includes(scheduled) ? undefined : true), 'the index forgot the purged run', 10_000, 50);
    const again = ((await stack.request('GET', 'refreshes?limit=1')).body as Page).runs.map((run) => run.id);
    expect(again).toEqual([newestFirst[0]?.id]);
  });

  it('a status filter without a model keeps the order newest first across models', async () => {
    const { pages, ids } = await allPages('status=succeeded&limit=5');
    expect(ids).toEqual(newestFirst.map((run) => run.id));
    expect(pages[0]?.order).toBe('newestFirst');
    expect((await allPages('status=failed&limit=5')).ids).toEqual([]);
  });

  it("a full server + model lists that model's runs only, newest first across pages", async () => {
    const { ids, pages } = await allPages(`server=${encodeURIComponent(stack.server)}&model=${modelName(2)}&limit=1`);
    expect(ids).toEqual(ofModel(modelName(2)));
    expect(pages.flatMap((page) => page.runs.map((run) => run.model))).toEqual(Array.from({ length: 5 }, () => modelName(2)));
    expect(new Set(pages.map((page) => page.order))).toEqual(new Set(['newestFirst']));
  });

  it("a Power BI workspace + semantic model, by name or by id, is the run id prefix: the model's runs on the first pages, newest first", async () => {
    const powerBi = ofModel(POWER_BI);
    // The task hub holds nine AAS runs and the models' claim entities besides: with limit=1, a
    // page refined after the query would show them one at a time (mostly empty pages).
    const byName = await allPages(`workspace=myserver&semanticModel=${modelName(1)}&limit=1`);
    expect(byName.pages[0]?.runs.map((run) => run.id)).toEqual([powerBi[0]]);
    expect(byName.ids).toEqual(powerBi);
    expect(byName.pages[0]?.order).toBe('newestFirst');
    const run = (await stack.run(powerBi[0] ?? '')).body as unknown as { workspaceId: string; semanticModelId: string };
    const lookUps = stack.emulators.powerbi.countRequests('listGroups');
    const byId = await allPages(`workspace=${run.workspaceId}&semanticModel=${run.semanticModelId}&limit=1`);
    expect(byId.ids).toEqual(powerBi);
    // GUIDs are the key itself: no call to the service.
    expect(stack.emulators.powerbi.countRequests('listGroups')).toBe(lookUps);
  });

  it('a Power BI name that cannot be resolved now (Power BI unavailable) refines the pages instead, newest first across models as without a filter', async () => {
    const lookUps = stack.emulators.powerbi.countRequests('listGroups');
    stack.emulators.powerbi.inject({ operation: 'listGroups', times: 50, fault: { status: 503 } });
    try {
      const { pages, ids } = await allPages(`workspace=myserver&semanticModel=${modelName(1)}&limit=50`);
      expect(pages[0]?.order).toBe('newestFirst');
      expect(ids).toEqual(ofModel(POWER_BI));
      // It did ask (and was refused), once per page.
      expect(stack.emulators.powerbi.countRequests('listGroups')).toBe(lookUps + pages.length);
    } finally {
      stack.emulators.powerbi.clearFaults();
    }
  });

  it('createdFrom and createdTo select runs by their start; a token the API did not give is refused', async () => {
    const firstRound = await stack.run(started[2]?.id ?? '');
    const secondRoundStart = await stack.run(started[3]?.id ?? '');
    const { ids } = await allPages(`createdTo=${encodeURIComponent(firstRound.body.createdAt)}&limit=50`);
    expect(ids).toEqual(started.slice(0, 3).map((run) => run.id).reverse());
    const lastAasRun = await stack.run(started[8]?.id ?? '');
    const later = await allPages(`createdFrom=${encodeURIComponent(secondRoundStart.body.createdAt)}&createdTo=${encodeURIComponent(lastAasRun.body.createdAt)}&limit=50`);
    expect(later.ids).toEqual(started.slice(3, 9).map((run) => run.id).reverse());
    const bad = await stack.request('GET', 'refreshes?continuationToken=not%20a%20token');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('continuationToken');
  });

  it('run ids sort newest first within a model; tokens round-trip', () => {
    const older = newRunId('k', '00000000-0000-4000-8000-000000000001', Date.UTC(2026, 0, 1));
    const newer = newRunId('k', '00000000-0000-4000-8000-000000000002', Date.UTC(2026, 0, 2));
    expect([older, newer].sort()).toEqual([newer, older]);
    expect(decodeContinuationToken(encodeContinuationToken('{"next":"a/b c"}'))).toBe('{"next":"a/b c"}');
    expect(decodeContinuationToken('%%%')).toBeUndefined();
  });
});

describe('a long run that continued as new after createdTo', () => {
  const hour = 3600_000;
  it('is listed by its start on the model-filtered page and without a model filter alike', async () => {
    const model = modelName(2);
    // The three FactSales partitions run in parallel: six hours of polls, so the run continues as new.
    stack.emulators.aas.setTable('myserver', model, 'FactSales', { durationMs: 6 * hour });
    const id = await stack.start({ server: stack.server, model, sync: false, timeout: 'PT8H' });
    const done = await stack.finish(id);
    expect(done.body.status).toBe('succeeded');
    const startedAt = Date.parse(done.body.createdAt);
    const createdTo = new Date(startedAt + 60_000).toISOString();
    // What the status query compares with: the last execution's start, hours after createdTo.
    const instance = stack.host.getInstance(id);
    expect(instance?.history.length ?? 0).toBeGreaterThan(1);
    const status = await fetch(`${stack.host.rpcBaseUrl}instances/${encodeURIComponent(id)}`);
    expect(Date.parse(((await status.json()) as { createdTime: string }).createdTime)).toBeGreaterThan(Date.parse(createdTo));
    const range = `createdFrom=${encodeURIComponent(done.body.createdAt)}&createdTo=${encodeURIComponent(createdTo)}&limit=50`;
    const byModel = await allPages(`server=${encodeURIComponent(stack.server)}&model=${encodeURIComponent(model)}&${range}`);
    expect(byModel.ids).toEqual([id]);
    const across = await allPages(range);
    expect(across.ids).toEqual([id]);
  });
});

describe('after a bulk purge of the newest runs', () => {
  it('the first page without a model filter still lists the newest runs left', async () => {
    const index = await readIndex();
    expect(index.length).toBeGreaterThan(6);
    // The four newest runs purged at once (as a purge by created time does): the index still names them.
    for (const id of index.slice(0, 4)) await purge(id);
    const first = await stack.request('GET', 'refreshes?limit=2');
    expect(first.status).toBe(200);
    expect((first.body as Page).runs.map((run) => run.id)).toEqual(index.slice(4, 6));
  });
});
