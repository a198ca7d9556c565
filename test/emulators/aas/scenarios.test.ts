import { request } from 'undici';
import { toRefreshRequest } from '../../../src/backends/aas/client';
import { parseScenarioSetting, SCENARIO_NAMES } from '../../../local/emulators/aas';
import { rejectionOf, startHarness, type Harness } from '../../backends/aas/support';

// The documented ways for a local user to make the sample model fail (README, "Trying failures
// locally"): each scenario through the control route, seen by the app's real AAS client.

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());

async function control(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await request(`${h.emulator.url}/_emulator${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

const refreshOf = async (objects: { table: string }[]) => (await h.client.submitRefresh(h.model, toRefreshRequest({ objects }))).refreshId ?? '';

describe('emulator scenarios through the control route', () => {
  it('lists every scenario with what it does', async () => {
    const answer = await control('GET', '');
    expect(answer.status).toBe(200);
    expect((answer.body.scenarios as { name: string }[]).map((scenario) => scenario.name)).toEqual([...SCENARIO_NAMES]);
  });

  it('fail-table: DimDate (the table of the sample request) fails on every attempt, with the AAS message', async () => {
    expect(await control('POST', '/scenarios/fail-table')).toEqual({ status: 200, body: { scenario: 'fail-table', applied: 'table DimDate of myserver/AdventureWorks now fails on every attempt' } });
    const id = await h.client.submitRefresh(h.model, toRefreshRequest({ objects: [{ table: 'DimDate' }, { table: 'DimCurrency' }], retryCount: 3 }));
    h.clock.advanceBy(3_600_000);
    const refresh = await h.client.getRefresh(h.model, id.refreshId ?? '');
    expect(refresh.status).toBe('failed');
    expect(refresh.messages.map((message) => message.message)).toEqual([expect.stringContaining("The data source for table 'DimDate' returned an error (emulator scenario fail-table)")]);
  });

  it('fail-table with a table option, and a 400 naming an unknown table', async () => {
    expect((await control('POST', '/scenarios/fail-table', { table: 'FactResellerSales' })).body.applied).toBe('table FactResellerSales of myserver/AdventureWorks now fails on every attempt');
    expect(await control('POST', '/scenarios/fail-table', { table: 'NoSuchTable' })).toEqual({ status: 400, body: { error: 'no table "NoSuchTable" in myserver/AdventureWorks' } });
  });

  it('slow-refresh: every partition takes an hour', async () => {
    await control('POST', '/scenarios/slow-refresh');
    const id = await refreshOf([{ table: 'DimDate' }]);
    h.clock.advanceBy(30 * 60_000);
    expect((await h.client.getRefresh(h.model, id)).status).toBe('inProgress');
    h.clock.advanceBy(31 * 60_000);
    expect((await h.client.getRefresh(h.model, id)).status).toBe('succeeded');
  });

  it('throttle: the next calls answer 429 with the Retry-After asked for, then AAS answers again', async () => {
    await control('POST', '/scenarios/throttle', { times: 2, retryAfterSeconds: 45 });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const error = await rejectionOf(h.client.listRefreshes(h.model));
      expect({ code: error.code, retryAfterMs: error.retryAfterMs }).toEqual({ code: 'AAS_THROTTLED', retryAfterMs: 45_000 });
    }
    await expect(h.client.listRefreshes(h.model)).resolves.toEqual([]);
  });

  it('fail-sync: the replica sync ends with syncstate 3', async () => {
    await control('POST', '/scenarios/fail-sync');
    const { operationId = '' } = await h.client.submitSync(h.model);
    h.clock.advanceBy(3_600_000);
    expect((await h.client.getSync(h.model, operationId)).syncState).toBe(3);
  });

  it('busy: someone else refreshes the model, so a submit gets 409', async () => {
    await control('POST', '/scenarios/busy', { durationSeconds: 120 });
    expect((await rejectionOf(h.client.submitRefresh(h.model, toRefreshRequest({})))).code).toBe('AAS_CONFLICT');
    h.clock.advanceBy(121_000);
    await expect(refreshOf([{ table: 'DimDate' }])).resolves.toMatch(/^[0-9a-f-]{36}$/);
  });

  it('not-admin: AAS answers as for an identity that is not a server administrator', async () => {
    await control('POST', '/scenarios/not-admin');
    expect((await rejectionOf(h.client.listRefreshes(h.model))).code).toBe('AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN');
  });

  it('reset undoes every scenario: tables, throttling, sync, someone else\'s refresh and the admin', async () => {
    for (const name of ['fail-table', 'slow-refresh', 'fail-sync', 'busy', 'not-admin', 'throttle']) expect((await control('POST', `/scenarios/${name}`)).status).toBe(200);
    expect(await control('POST', '/reset')).toEqual({ status: 200, body: { reset: true } });
    const id = await refreshOf([{ table: 'DimDate' }]);
    h.clock.advanceBy(60_000);
    expect((await h.client.getRefresh(h.model, id)).status).toBe('succeeded');
    const { operationId = '' } = await h.client.submitSync(h.model);
    h.clock.advanceBy(3_600_000);
    expect((await h.client.getSync(h.model, operationId)).syncState).toBe(2);
  });

  it.each<[string, 'GET' | 'POST', string, unknown, number, string]>([
    ['an unknown scenario', 'POST', '/scenarios/meteor', undefined, 404, 'no scenario "meteor" (fail-table, slow-refresh, throttle, fail-sync, busy, not-admin)'],
    ['an unknown option', 'POST', '/scenarios/throttle', { retries: 3 }, 400, 'unknown option "retries" (known: server, model, table, durationSeconds, times, retryAfterSeconds)'],
    ['a fractional option', 'POST', '/scenarios/throttle', { times: 1.5 }, 400, 'times must be a whole number from 1 to 604800'],
    ['an unknown model', 'POST', '/scenarios/fail-sync', { model: 'Nope' }, 400, 'no model "Nope" on server "myserver"'],
    ['an unknown route', 'GET', '/nothing', undefined, 404, 'no control route GET /_emulator/nothing'],
  ])('answers %s with a message saying what is wrong', async (_label, method, path, body, status, error) => {
    expect(await control(method, path, body)).toEqual({ status, body: { error } });
  });

  it('control requests are not AAS requests: they stay out of the request log', async () => {
    await control('GET', '');
    await control('POST', '/scenarios/fail-sync');
    expect(h.emulator.requests).toEqual([]);
  });
});

describe('the callback sink', () => {
  it('records what is POSTed under /_emulator/callbacks and lists it', async () => {
    const answer = await request(`${h.emulator.url}/_emulator/callbacks/run-1?x=1`, { method: 'POST', body: JSON.stringify({ StatusCode: '200', Output: { status: 'succeeded' } }), headers: { 'content-type': 'application/json' } });
    expect(answer.statusCode).toBe(200);
    await answer.body.text();
    expect(h.emulator.callbacks).toEqual([{ path: '/_emulator/callbacks/run-1', receivedAt: new Date(h.clock.now()).toISOString(), body: { StatusCode: '200', Output: { status: 'succeeded' } } }]);
    expect((await control('GET', '/callbacks')).body.callbacks).toEqual(h.emulator.callbacks);
  });
});

describe('AAS_EMULATOR_SCENARIO', () => {
  it('takes comma-separated scenario names', () => {
    expect(parseScenarioSetting(' fail-table, throttle ')).toEqual(['fail-table', 'throttle']);
    expect(parseScenarioSetting(undefined)).toEqual([]);
    expect(parseScenarioSetting('')).toEqual([]);
  });
  it('names a wrong one and the known ones', () => {
    expect(() => parseScenarioSetting('fail-table,slow')).toThrow('AAS_EMULATOR_SCENARIO: "slow" is not a scenario (fail-table, slow-refresh, throttle, fail-sync, busy, not-admin)');
  });
});
