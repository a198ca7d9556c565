import { holdAnswer } from '../support/aasGate';
import { startAppStack, modelName, type AppStack } from '../support/appStack';
import { stepUntil } from '../support/virtualTime';

// Each test uses its own model and sets up what it needs.
let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 16 });
});
afterAll(async () => {
  await stack?.stop();
});

const hour = 3_600_000;

describe('refresh service end to end (virtual time)', () => {
  it('refreshes, syncs and reports every object, answering 202 then 200', async () => {
    const model = modelName(1);
    const post = await stack.request('POST', 'refreshes', { body: { server: stack.server, model, type: 'full', maxParallelism: 2 } });
    expect(post.status).toBe(202);
    const accepted = post.body as { id: string; statusUrl: string };
    expect(post.headers.get('location')).toBe(accepted.statusUrl);
    expect(post.headers.get('location')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/refreshes\/([0-9a-f]{16}-[0-9a-f]{12}-)?[0-9a-f-]{36}$/);
    expect(post.headers.get('retry-after')).toBe('10');

    const running = await stack.run(accepted.id);
    expect(running.status).toBe(202);
    expect(['pending', 'refreshing']).toContain(running.body.status);

    const done = await stack.finish(accepted.id);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'succeeded', aasStatus: 'succeeded', syncState: 2, model });
    expect(done.body.objects.map((o) => `${o.table}/${o.partition ?? ''}:${o.status}`).sort()).toEqual([
      'DimCustomer/DimCustomer:succeeded',
      'DimDate/DimDate:succeeded',
      'FactSales/FactSales 2024:succeeded',
      'FactSales/FactSales 2025:succeeded',
      'FactSales/FactSales 2026:succeeded',
    ]);
    expect(done.body.refreshId).toMatch(/[0-9a-f-]{36}/);
    expect(done.body.syncOperationId).toMatch(/[0-9a-f-]{36}/);
    expect(done.body.statusCalls).toBeGreaterThan(1);
    const aas = stack.emulators.aas;
    expect(aas.countRequests('submitRefresh', model)).toBe(1);
    expect(aas.countRequests('submitSync', model)).toBe(1);
    expect(aas.activeRefresh('myserver', model)).toBeUndefined();
  });

  it('fails with the AAS messages and per-object statuses when a table fails', async () => {
    const model = modelName(2);
    stack.emulators.aas.setTable('myserver', model, 'DimDate', { durationMs: 10_000, failAttempts: 5, failMessage: 'The column Date has a duplicate value 2026-01-01.' });
    const id = await stack.start({ server: stack.server, model, type: 'full' });
    const done = await stack.finish(id);
    expect(done.status).toBe(500);
    expect(done.body.status).toBe('failed');
    expect(done.body.error?.code).toBe('REFRESH_FAILED');
    expect(done.body.error?.message).toContain('duplicate value 2026-01-01');
    expect(done.body.objects.find((o) => o.table === 'DimDate')?.status).toBe('failed');
    expect(done.body.syncOperationId).toBeUndefined();
    expect(stack.emulators.aas.countRequests('submitSync', model)).toBe(0);
  });

  it('reports which objects a failed partialBatch refresh committed', async () => {
    const model = modelName(3);
    stack.emulators.aas.setTable('myserver', model, 'FactSales', { durationMs: 60_000, failAttempts: 9, failMessage: 'Out of memory while processing FactSales.' });
    const id = await stack.start({ server: stack.server, model, commitMode: 'partialBatch', maxParallelism: 1, objects: [{ table: 'DimDate' }, { table: 'DimCustomer' }, { table: 'FactSales', partition: 'FactSales 2026' }] });
    const done = await stack.finish(id);
    expect(done.body.status).toBe('failed');
    expect((done.body.committedObjects ?? []).map((o) => o.table).sort()).toEqual(['DimCustomer', 'DimDate']);
    expect(done.body.error?.message).toContain('Out of memory');
  });

  it('cancels the AAS refresh when the run is cancelled', async () => {
    const model = modelName(4);
    const id = await stack.start({ server: stack.server, model, type: 'full' });
    await stack.host.runUntilIdle({ maxVirtualMs: 40_000 });
    const running = await stack.run(id);
    expect(running.body.status).toBe('refreshing');
    const cancel = await stack.request('DELETE', `refreshes/${id}`);
    expect(cancel.status).toBe(202);
    const done = await stack.finish(id);
    expect(done.body.status).toBe('cancelled');
    expect(done.status).toBe(500);
    expect(stack.emulators.aas.countRequests('cancelRefresh', model)).toBe(1);
    expect(stack.emulators.aas.refreshes('myserver', model)[0]?.status).toBe('cancelled');
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(409);
  });

  it('does not lose a cancel that arrives while a status poll is in flight', async () => {
    const model = modelName(13);
    const aas = stack.emulators.aas;
    aas.setTable('myserver', model, 'FactSales', { durationMs: hour });
    const id = await stack.start({ server: stack.server, model, type: 'full' });
    await stepUntil(stack.host, async () => (await stack.run(id)).body.status === 'refreshing', 'refreshing');
    // AAS's answer to the next status call is held until the DELETE has been accepted.
    const held = holdAnswer(aas, (entry) => entry.operation === 'getRefresh' && entry.model === model);
    const running = stack.finish(id);
    await held.reached;
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    held.release();
    const done = await running;
    expect(done.body).toMatchObject({ status: 'cancelled', error: { code: 'RUN_CANCELLED' } });
    expect(aas.countRequests('cancelRefresh', model)).toBe(1);
    expect(aas.refreshes('myserver', model)[0]?.status).toBe('cancelled');
  });

  it('times out: cancels the refresh in AAS and ends timedOut with 504', async () => {
    const model = modelName(5);
    stack.emulators.aas.setTable('myserver', model, 'FactSales', { durationMs: 3 * hour });
    const id = await stack.start({ server: stack.server, model, timeout: 'PT1H' });
    const done = await stack.finish(id);
    expect(done.status).toBe(504);
    expect(done.body).toMatchObject({ status: 'timedOut', error: { code: 'RUN_TIMED_OUT' } });
    expect(stack.emulators.aas.countRequests('cancelRefresh', model)).toBe(1);
    expect(stack.emulators.aas.activeRefresh('myserver', model)).toBeUndefined();
  });

  it('answers 409 naming the active run for a second request (onConflict fail)', async () => {
    const model = modelName(6);
    const first = await stack.start({ server: stack.server, model });
    const second = await stack.request('POST', 'refreshes', { body: { server: stack.server, model } });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ error: { code: 'MODEL_BUSY', activeRunId: first } });
    await stack.finish(first);
    expect(stack.emulators.aas.countRequests('submitRefresh', model)).toBe(1);
  });

  it('waits for a refresh someone else started, then refreshes (onConflict wait)', async () => {
    const model = modelName(7);
    stack.emulators.aas.startOutsideRefresh('myserver', model, { durationMs: 20 * 60_000 });
    const id = await stack.start({ server: stack.server, model, onConflict: 'wait' });
    await stack.host.runUntilIdle({ maxVirtualMs: 60_000 });
    expect((await stack.run(id)).body.status).toBe('waiting');
    const done = await stack.finish(id);
    expect(done.body.status).toBe('succeeded');
    expect(stack.emulators.aas.countRequests('submitRefresh', model)).toBe(1);
  });

  it('queues a second run of this app behind the first (onConflict wait): two refreshes, one after the other', async () => {
    const model = modelName(14);
    const first = await stack.start({ server: stack.server, model, type: 'full' });
    const second = await stack.start({ server: stack.server, model, type: 'dataOnly', onConflict: 'wait' });
    await stack.host.runUntilIdle({ maxVirtualMs: 60_000 });
    expect((await stack.run(second)).body).toMatchObject({ status: 'waiting', lastIssue: { code: 'MODEL_BUSY' } });
    const [a, b] = [await stack.finish(first), await stack.finish(second)];
    expect([a.body.status, b.body.status]).toEqual(['succeeded', 'succeeded']);
    expect(a.body.refreshId).not.toBe(b.body.refreshId);
    expect(b.body.adopted).toBe(false);
    expect(Date.parse(b.body.refreshStartTime ?? '')).toBeGreaterThanOrEqual(Date.parse(a.body.endedAt ?? ''));
  });

  it('fails at once with MODEL_BUSY when someone else is refreshing (onConflict fail)', async () => {
    const model = modelName(8);
    const outside = stack.emulators.aas.startOutsideRefresh('myserver', model, { durationMs: 20 * 60_000 });
    const id = await stack.start({ server: stack.server, model });
    const done = await stack.finish(id);
    expect(done.body).toMatchObject({ status: 'failed', error: { code: 'MODEL_BUSY' } });
    expect(done.body.error?.message).toContain(outside);
    expect(stack.emulators.aas.countRequests('submitRefresh', model)).toBe(0);
  });

  it('adopts its own refresh when the submit answer was lost, never submitting twice', async () => {
    const model = modelName(9);
    stack.emulators.aas.inject({ operation: 'submitRefresh', model, times: 1, fault: { kind: 'resetAfterProcessing' } });
    const id = await stack.start({ server: stack.server, model });
    const done = await stack.finish(id);
    expect(done.body).toMatchObject({ status: 'succeeded', adopted: true });
    expect(stack.emulators.aas.refreshes('myserver', model)).toHaveLength(1);
  });

  it('keeps history bounded through a six-hour refresh', async () => {
    const model = modelName(10);
    // The three FactSales partitions run in parallel: six hours in all.
    stack.emulators.aas.setTable('myserver', model, 'FactSales', { durationMs: 6 * hour });
    const id = await stack.start({ server: stack.server, model, sync: false, timeout: 'PT8H' });
    const done = await stack.finish(id);
    expect(done.body.status).toBe('succeeded');
    expect(Date.parse(done.body.refreshEndTime ?? '') - Date.parse(done.body.refreshStartTime ?? '')).toBeGreaterThanOrEqual(6 * hour);
    const instance = stack.host.getInstance(id);
    const executions = instance?.history ?? [];
    expect(executions.length).toBeGreaterThan(1);
    for (const execution of executions) expect(execution.events.length).toBeLessThanOrEqual(200);
    // The run's count of status calls survives continueAsNew and matches what AAS answered.
    expect(done.body.statusCalls).toBe(stack.emulators.aas.countRequests('getRefresh', model));
  });

  it('POSTs the ADF Webhook body to the callback URL', async () => {
    const model = modelName(11);
    const id = await stack.start({ server: stack.server, model, callBackUri: `${stack.callbackUrl}?run=11` });
    const done = await stack.finish(id);
    expect(done.body.callback).toEqual({ delivered: true, httpStatus: 200 });
    const received = stack.callbacks.find((c) => c.path.endsWith('run=11'));
    expect(received?.body).toMatchObject({ StatusCode: '200', Output: { runId: id, status: 'succeeded' } });
  });

  it('retries a failing callback, then reports it undelivered without failing the run', async () => {
    const model = modelName(12);
    stack.callbackStatus.code = 503;
    try {
      const id = await stack.start({ server: stack.server, model, sync: false, callbackUrl: `${stack.callbackUrl}?run=12` });
      const done = await stack.finish(id);
      expect(done.status).toBe(200);
      expect(done.body.status).toBe('succeeded');
      expect(done.body.callback).toMatchObject({ delivered: false });
      expect(stack.callbacks.filter((c) => c.path.endsWith('run=12')).length).toBe(6);
    } finally {
      stack.callbackStatus.code = 200;
    }
  });

  it('lists runs newest first and serves the model AAS history', async () => {
    const model = modelName(15);
    const id = await stack.start({ server: stack.server, model, objects: [{ table: 'DimDate' }] });
    await stack.finish(id);
    const list = await stack.request('GET', `refreshes?server=${encodeURIComponent(stack.server)}&model=${model}`);
    expect(list.status).toBe(200);
    expect((list.body as { runs: { id: string; model: string }[] }).runs.map((r) => [r.id, r.model])).toEqual([[id, model]]);
    const all = (await stack.request('GET', 'refreshes')).body as { runs: { createdAt: string }[] };
    const created = all.runs.map((r) => r.createdAt);
    expect(created).toEqual([...created].sort().reverse());
    const history = await stack.request('GET', `models/refreshes?server=${encodeURIComponent(stack.server)}&model=${model}`);
    expect(`${history.status} ${history.text}`).toMatch(/^200 /);
    expect((history.body as { refreshes: { status: string }[] }).refreshes[0]?.status).toBe('succeeded');
  });

  it('answers 404 for an unknown run and 401 without a function key', async () => {
    expect((await stack.request('GET', 'refreshes/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await stack.request('GET', 'refreshes', { key: null })).status).toBe(401);
    expect((await stack.request('GET', 'openapi.json', { key: null })).status).toBe(200);
  });
});
