import { request } from 'undici';
import { toRefreshRequest } from '../../../src/backends/aas/client';
import { AAS_PUBLIC_SCOPE } from '../../../src/backends/aas/serverName';
import { NOT_STARTED_MS } from '../../../local/emulators/aas';
import { startHarness, type Harness } from '../../backends/aas/support';

const twoTables = {
  servers: [{ name: 'myserver', models: [{ name: 'AdventureWorks', tables: [
    { name: 'A', durationMs: 1_000 }, { name: 'B', durationMs: 2_000 }, { name: 'C', durationMs: 4_000 }, { name: 'D', durationMs: 1_000 },
  ] }] }],
};

describe('AAS emulator refresh timeline (virtual clock)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ models: twoTables });
  });
  afterEach(async () => h.close());

  const statuses = async (refreshId: string) => (await h.client.getRefresh(h.model, refreshId)).objects.map((object) => `${object.table}:${object.status}`);

  it('processes objects in batches of MaxParallelism, each as long as its slowest table', async () => {
    const { refreshId = '' } = await h.client.submitRefresh(h.model, toRefreshRequest({ maxParallelism: 2 }));
    h.clock.advanceBy(NOT_STARTED_MS + 500);
    expect(await statuses(refreshId)).toEqual(['A:inProgress', 'B:inProgress', 'C:notStarted', 'D:notStarted']);
    h.clock.advanceBy(2_000); // first batch (2 s) done
    expect(await statuses(refreshId)).toEqual(['A:succeeded', 'B:succeeded', 'C:inProgress', 'D:inProgress']);
    h.clock.advanceBy(3_500); // second batch ends 4 s after the first
    const done = await h.client.getRefresh(h.model, refreshId);
    expect(done.status).toBe('succeeded');
    expect(Date.parse(done.endTime ?? '') - Date.parse(done.startTime ?? '')).toBe(NOT_STARTED_MS + 6_000);
  });

  it('with MaxParallelism 4 the same refresh takes only the slowest table', async () => {
    const { refreshId = '' } = await h.client.submitRefresh(h.model, toRefreshRequest({ maxParallelism: 4 }));
    h.clock.advanceBy(NOT_STARTED_MS + 4_000);
    expect((await h.client.getRefresh(h.model, refreshId)).status).toBe('succeeded');
  });

  it('partialBatch keeps committed batches when a later batch fails; transactional keeps none', async () => {
    h.emulator.setTable('myserver', 'AdventureWorks', 'C', { failAttempts: 1, failMessage: 'Source table dbo.C is locked.' });
    const partial = await h.client.submitRefresh(h.model, toRefreshRequest({ maxParallelism: 2, commitMode: 'partialBatch' }));
    h.clock.advanceBy(60_000);
    const failed = await h.client.getRefresh(h.model, partial.refreshId ?? '');
    expect(failed.status).toBe('failed');
    expect(failed.objects.map((object) => `${object.table}:${object.status}`)).toEqual(['A:succeeded', 'B:succeeded', 'C:failed', 'D:cancelled']);
    expect(failed.messages).toEqual([expect.objectContaining({ code: 'ProcessingError', type: 'Error', message: expect.stringContaining('dbo.C is locked') })]);

    const transactional = await h.client.submitRefresh(h.model, toRefreshRequest({ maxParallelism: 2 }));
    h.clock.advanceBy(60_000);
    expect(await statuses(transactional.refreshId ?? '')).toEqual(['A:cancelled', 'B:cancelled', 'C:failed', 'D:cancelled']);
  });

  it('objects after a failed batch are reported notStarted', async () => {
    h.emulator.setTable('myserver', 'AdventureWorks', 'A', { failAttempts: 1 });
    const { refreshId = '' } = await h.client.submitRefresh(h.model, toRefreshRequest({ maxParallelism: 1, commitMode: 'partialBatch' }));
    h.clock.advanceBy(60_000);
    expect(await statuses(refreshId)).toEqual(['A:failed', 'B:notStarted', 'C:notStarted', 'D:notStarted']);
  });

  it.each([
    [2, 1, 'failed'],
    [2, 2, 'succeeded'],
    [2, 3, 'succeeded'],
  ])('a table failing %i attempts with RetryCount %i ends %s (retries take time)', async (failAttempts, retryCount, outcome) => {
    h.emulator.setTable('myserver', 'AdventureWorks', 'A', { failAttempts, durationMs: 10_000 });
    const { refreshId = '' } = await h.client.submitRefresh(h.model, toRefreshRequest({ retryCount, objects: [{ table: 'A' }] }));
    h.clock.advanceBy(NOT_STARTED_MS + 10_000 * Math.min(failAttempts, retryCount) + 5_000);
    expect((await h.client.getRefresh(h.model, refreshId)).status).toBe('inProgress');
    h.clock.advanceBy(10_000);
    expect((await h.client.getRefresh(h.model, refreshId)).status).toBe(outcome);
  });

  it('cancel during partialBatch keeps the batches already committed', async () => {
    const { refreshId = '' } = await h.client.submitRefresh(h.model, toRefreshRequest({ maxParallelism: 2, commitMode: 'partialBatch' }));
    h.clock.advanceBy(NOT_STARTED_MS + 3_000);
    await h.client.cancelRefresh(h.model, refreshId);
    h.clock.advanceBy(60_000);
    const details = await h.client.getRefresh(h.model, refreshId);
    expect(details.status).toBe('cancelled');
    expect(details.objects.map((object) => object.status)).toEqual(['succeeded', 'succeeded', 'cancelled', 'cancelled']);
    expect(Date.parse(details.endTime ?? '')).toBe(h.clock.now() - 60_000);
  });

  it('cancelling a finished refresh leaves it succeeded', async () => {
    const { refreshId = '' } = await h.client.submitRefresh(h.model, toRefreshRequest());
    h.clock.advanceBy(60_000);
    await h.client.cancelRefresh(h.model, refreshId);
    expect((await h.client.getRefresh(h.model, refreshId)).status).toBe('succeeded');
  });

  it('one refresh per model: 409 while ours or someone else\'s runs, accepted once it ends', async () => {
    const outsideId = h.emulator.startOutsideRefresh('myserver', 'AdventureWorks', { durationMs: 30_000 });
    expect(h.emulator.activeRefresh('myserver', 'AdventureWorks')?.refreshId).toBe(outsideId);
    const conflict = await request(`${h.emulator.url}/servers/myserver/models/AdventureWorks/refreshes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await h.tokens.getToken(AAS_PUBLIC_SCOPE)}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const body = (await conflict.body.json()) as Record<string, unknown>;
    expect(conflict.statusCode).toBe(409);
    expect(body).toMatchObject({ code: 'Conflict', subCode: 0, httpStatusCode: 409, details: [{ code: 'RootActivityId', message: conflict.headers['x-ms-root-activity-id'] }] });
    h.clock.advanceBy(30_000);
    expect(h.emulator.activeRefresh('myserver', 'AdventureWorks')).toBeUndefined();
    await h.client.submitRefresh(h.model, toRefreshRequest());
    await expect(h.client.submitRefresh(h.model, toRefreshRequest())).rejects.toThrow(/AAS_CONFLICT/);
  });

  it('history lists the last 30 days, newest first', async () => {
    const first = await h.client.submitRefresh(h.model, toRefreshRequest());
    h.clock.advanceBy(20 * 24 * 3600_000);
    const second = await h.client.submitRefresh(h.model, toRefreshRequest());
    h.clock.advanceBy(60_000);
    expect((await h.client.listRefreshes(h.model)).map((entry) => entry.refreshId)).toEqual([second.refreshId, first.refreshId]);
    h.clock.advanceBy(11 * 24 * 3600_000);
    expect((await h.client.listRefreshes(h.model)).map((entry) => entry.refreshId)).toEqual([second.refreshId]);
  });
});

describe('AAS emulator HTTP surface', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  it('serves the sample AdventureWorks model with partitioned fact tables', async () => {
    const { refreshId = '' } = await h.client.submitRefresh(h.model, toRefreshRequest({ objects: [{ table: 'FactInternetSales' }] }));
    const details = await h.client.getRefresh(h.model, refreshId);
    expect(details.objects.map((object) => object.partition)).toEqual(['FactInternetSales 2011', 'FactInternetSales 2012', 'FactInternetSales 2013', 'FactInternetSales 2014']);
  });

  it('answers with realistic headers: absolute Location to a GUID, activity id, 7-digit UTC date', async () => {
    const response = await request(`${h.emulator.url}/servers/myserver/models/AdventureWorks/refreshes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await h.tokens.getToken(AAS_PUBLIC_SCOPE)}` },
      body: JSON.stringify({ type: 'Full', objects: [{ table: 'DimDate' }] }),
    });
    await response.body.text();
    expect(response.statusCode).toBe(202);
    expect(response.headers.location).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:\\d+/servers/myserver/models/AdventureWorks/refreshes/[0-9a-f-]{36}$`));
    expect(response.headers['x-ms-current-utc-date']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
    const get = await request(String(response.headers.location), { headers: { authorization: `Bearer ${await h.tokens.getToken(AAS_PUBLIC_SCOPE)}` } });
    const body = (await get.body.json()) as { startTime: string; type: string };
    expect(body.startTime).toMatch(/\.\d{7}Z$/);
    expect(body.type).toBe('full');
  });

  it('requires a valid bearer token; logs requests without the token', async () => {
    const response = await request(`${h.emulator.url}/servers/myserver/models/AdventureWorks/refreshes`, { headers: { authorization: 'Bearer not-a-token' } });
    const body = (await response.body.json()) as Record<string, unknown>;
    expect(response.statusCode).toBe(401);
    expect(body).toMatchObject({ code: 'Unauthorized', httpStatusCode: 401 });
    await h.client.listRefreshes(h.model);
    expect(h.emulator.requests).toEqual([
      expect.objectContaining({ method: 'GET', operation: 'listRefreshes', server: 'myserver', model: 'AdventureWorks', status: 401, authorized: false }),
      expect.objectContaining({ method: 'GET', operation: 'listRefreshes', status: 200, authorized: true, at: h.clock.now() }),
    ]);
    expect(JSON.stringify(h.emulator.requests)).not.toContain(h.tokens.issued[0]);
    expect(h.emulator.countRequests('listRefreshes', 'AdventureWorks')).toBe(2);
  });

  it('a fault with times hits only that many matching requests, and only for its model', async () => {
    h.emulator.inject({ operation: 'listRefreshes', model: 'AdventureWorks', times: 2, fault: { status: 503 } });
    await expect(h.client.listRefreshes({ ...h.model, model: 'Other' })).rejects.toThrow(/AAS_NOT_FOUND/);
    await expect(h.client.listRefreshes(h.model)).rejects.toThrow(/AAS_TRANSIENT/);
    await expect(h.client.listRefreshes(h.model)).rejects.toThrow(/AAS_TRANSIENT/);
    await expect(h.client.listRefreshes(h.model)).resolves.toEqual([]);
  });

  it('the not-admin answer has the documented header and flat body', async () => {
    h.emulator.setNotAdmin('myserver', true);
    const response = await request(`${h.emulator.url}/servers/myserver/models/AdventureWorks/refreshes`, { headers: { authorization: `Bearer ${await h.tokens.getToken(AAS_PUBLIC_SCOPE)}` } });
    const body = (await response.body.json()) as Record<string, unknown>;
    expect(response.statusCode).toBe(400);
    expect(response.headers['x-ms-xmlaerror-extended']).toBe(`Either server '${h.emulator.serverName()}' does not exist or user is not the administrator of '${h.emulator.serverName()}'.`);
    expect(body).toMatchObject({ code: 'Unauthorized', subCode: 0, message: 'An internal error occurred.', httpStatusCode: 400 });
    h.emulator.setNotAdmin('myserver', false);
    await expect(h.client.listRefreshes(h.model)).resolves.toEqual([]);
  });
});
