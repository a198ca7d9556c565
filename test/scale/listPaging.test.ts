import { decodeContinuationToken, encodeContinuationToken, newRunId } from '../../src/api/runList';
import { modelName, startAppStack, type AppStack } from '../support/appStack';

/**
 * GET /api/refreshes reads one page of the task hub per request (issue 12, item 4): pages are
 * bounded by `limit`, followed with the continuationToken the answer carries, and a full
 * server + model (or Power BI workspace + semantic model) selects the model's runs in the query
 * itself, newest first across pages.
 */
let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 3 });
});
afterAll(async () => {
  await stack?.stop();
});

type Page = { runs: { id: string; model: string; createdAt: string; status: string }[]; order: string; continuationToken?: string };

async function allPages(query: string, maxPages = 20): Promise<{ pages: Page[]; ids: string[] }> {
  const pages: Page[] = [];
  let token: string | undefined;
  do {
    const answer = await stack.request('GET', `refreshes?${query}${token === undefined ? '' : `&continuationToken=${encodeURIComponent(token)}`}`);
    expect(answer.status).toBe(200);
    const page = answer.body as Page;
    pages.push(page);
    token = page.continuationToken;
  } while (token !== undefined && pages.length < maxPages);
  return { pages, ids: pages.flatMap((page) => page.runs.map((run) => run.id)) };
}

/** The model field of the Power BI runs in `started`. */
const POWER_BI = 'powerbi:myserver/Model01';

describe('the run list, one page at a time', () => {
  const started: { id: string; model: string }[] = [];

  beforeAll(async () => {
    // Three runs on each of three models, one after another (each ends before the next starts).
    for (let round = 0; round < 3; round += 1) {
      for (let m = 1; m <= 3; m += 1) {
        const id = await stack.start({ server: stack.server, model: modelName(m), sync: false });
        await stack.finish(id);
        started.push({ id, model: modelName(m) });
        stack.clock.advanceBy(60_000);
      }
    }
    // Then two runs of a Power BI semantic model, by name.
    for (let round = 0; round < 2; round += 1) {
      const id = await stack.start({ workspace: 'myserver', semanticModel: modelName(1), sync: false });
      await stack.finish(id);
      started.push({ id, model: POWER_BI });
      stack.clock.advanceBy(60_000);
    }
  });

  it('pages of at most limit runs, followed by continuationToken, list every run exactly once', async () => {
    const { pages, ids } = await allPages('limit=2');
    expect(pages.length).toBeGreaterThanOrEqual(5);
    for (const page of pages) expect(page.runs.length).toBeLessThanOrEqual(2);
    // No model named: the answer says its pages go model by model.
    expect(new Set(pages.map((page) => page.order))).toEqual(new Set(['byModel']));
    expect([...ids].sort()).toEqual(started.map((run) => run.id).sort());
  });

  it("a full server + model lists that model's runs only, newest first across pages", async () => {
    const { ids, pages } = await allPages(`server=${encodeURIComponent(stack.server)}&model=${modelName(2)}&limit=1`);
    const expected = started.filter((run) => run.model === modelName(2)).map((run) => run.id).reverse();
    expect(ids).toEqual(expected);
    expect(pages.flatMap((page) => page.runs.map((run) => run.model))).toEqual([modelName(2), modelName(2), modelName(2)]);
    expect(new Set(pages.map((page) => page.order))).toEqual(new Set(['newestFirst']));
  });

  it("a Power BI workspace + semantic model, by name or by id, is the run id prefix: the model's runs on the first pages, newest first", async () => {
    const powerBi = started.filter((run) => run.model === POWER_BI).map((run) => run.id).reverse();
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

  it('a Power BI name that cannot be resolved now (Power BI unavailable) refines the pages instead, and the answer says they go model by model', async () => {
    const lookUps = stack.emulators.powerbi.countRequests('listGroups');
    stack.emulators.powerbi.inject({ operation: 'listGroups', times: 50, fault: { status: 503 } });
    try {
      const { pages, ids } = await allPages(`workspace=myserver&semanticModel=${modelName(1)}&limit=50`);
      expect(new Set(pages.map((page) => page.order))).toEqual(new Set(['byModel']));
      expect([...ids].sort()).toEqual(started.filter((run) => run.model === POWER_BI).map((run) => run.id).sort());
      // It did ask (and was refused), once per page.
      expect(stack.emulators.powerbi.countRequests('listGroups')).toBe(lookUps + pages.length);
    } finally {
      stack.emulators.powerbi.clearFaults();
    }
  });

  it('createdFrom and createdTo go into the query; a token the API did not give is refused', async () => {
    const firstRound = await stack.run(started[2]?.id ?? '');
    const secondRoundStart = await stack.run(started[3]?.id ?? '');
    const { ids } = await allPages(`createdTo=${encodeURIComponent(firstRound.body.createdAt)}&limit=50`);
    expect([...ids].sort()).toEqual(started.slice(0, 3).map((run) => run.id).sort());
    const lastAasRun = await stack.run(started[8]?.id ?? '');
    const later = await allPages(`createdFrom=${encodeURIComponent(secondRoundStart.body.createdAt)}&createdTo=${encodeURIComponent(lastAasRun.body.createdAt)}&limit=50`);
    expect([...later.ids].sort()).toEqual(started.slice(3, 9).map((run) => run.id).sort());
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
