import { BACKENDS, runTarget, expectFinalState, ownRefreshes, serviceOf, serviceRequestsOf } from '../faults/invariants';
import { modelName, startAppStack, type AppStack } from '../support/appStack';
import { stepUntil } from '../support/virtualTime';

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 13 });
});
afterAll(async () => {
  await stack?.stop();
});

const hour = 3_600_000;
const requestsOf404 = (model: string) => stack.emulators.aas.requests.filter((entry) => entry.operation === 'cancelRefresh' && entry.model === model && entry.status === 404).length;

describe('run lifecycle details', () => {
  it('shows the final status while the callback is still being retried', async () => {
    const model = modelName(1);
    stack.callbackStatus.code = 503;
    try {
      const id = await stack.start({ server: stack.server, model, sync: false, callbackUrl: `${stack.callbackUrl}?lifecycle=1` });
      const ours = () => stack.callbacks.filter((c) => c.path.endsWith('lifecycle=1'));
      await stepUntil(stack.host, () => ours().length > 0, 'first callback attempt');
      expect(stack.host.getInstance(id)?.status).toBe('Running');
      expect(ours()).toHaveLength(1);
      const during = await stack.run(id);
      expect(during.status).toBe(200);
      expect(during.body).toMatchObject({ status: 'succeeded' });
      expect(during.body.endedAt).toBeDefined();
      expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(409);
      stack.callbackStatus.code = 200;
      const done = await stack.finish(id);
      expect(done.body.callback).toMatchObject({ delivered: true, httpStatus: 200 });
      // The retry after the 503 got through: two attempts in all, the second about the 10 s retry
      // interval later: within 1 s either side (Durable's timer fires up to 1 s early on Azure
      // Storage, test/durable-host/timers.test.ts, and a turn may take a while).
      const attemptsAt = ours().map((c) => c.at - (ours()[0]?.at ?? 0));
      expect(attemptsAt).toHaveLength(2);
      expect(attemptsAt[1]).toBeGreaterThanOrEqual(10_000 - 1000);
      expect(attemptsAt[1]).toBeLessThanOrEqual(10_000 + 1000);
    } finally {
      stack.callbackStatus.code = 200;
    }
  });

  it('keeps a function key given as ?code= in the Location header only, never in the body', async () => {
    const model = modelName(2);
    const post = await stack.request('POST', `refreshes?code=${stack.functionKey}`, { key: null, body: { server: stack.server, model, sync: false } });
    expect(post.status).toBe(202);
    expect(post.headers.get('location')).toContain(`code=${stack.functionKey}`);
    expect(post.text).not.toContain(stack.functionKey);
    const id = (post.body as { id: string }).id;
    const running = await stack.request('GET', `refreshes/${id}?code=${stack.functionKey}`, { key: null });
    expect(running.status).toBe(202);
    expect(running.headers.get('location')).toContain(`code=${stack.functionKey}`);
    expect(running.text).not.toContain(stack.functionKey);
    await stack.finish(id);
  });

  it('lists at most 50 objects while running, with counts per status, and every object at the end', async () => {
    const model = modelName(3);
    const partitions = Array.from({ length: 120 }, (_, i) => `FactSales P${String(i).padStart(3, '0')}`);
    stack.emulators.aas.setTable('myserver', model, 'FactSales', { durationMs: 60_000, partitions });
    const id = await stack.start({ server: stack.server, model, maxParallelism: 10, sync: false });
    await stack.host.runUntilIdle({ maxVirtualMs: 3 * 60_000 });
    const running = await stack.run(id);
    expect(running.body.status).toBe('refreshing');
    expect(running.body.objects.length).toBeLessThanOrEqual(50);
    expect(running.body.objectsTruncated).toBe(true);
    expect(Object.values(running.body.objectCounts).reduce((a, b) => a + b, 0)).toBe(122);
    const customStatus = JSON.stringify(stack.host.getInstance(id)?.customStatus);
    expect(customStatus.length).toBeLessThan(8000);
    const done = await stack.finish(id);
    expect(done.body.status).toBe('succeeded');
    expect(done.body.objects).toHaveLength(122);
    expect(done.body.objectCounts).toEqual({ succeeded: 122 });
    expect(done.body.objectsTruncated).toBeUndefined();
  });

  it('keeps the custom status under 16 KB with huge object names and AAS messages, the output keeping them whole', async () => {
    const model = modelName(8);
    const name = (i: number) => `Ventes par région ✓ ${'é'.repeat(400)} ${i}`;
    const partitions = Array.from({ length: 60 }, (_, i) => name(i));
    stack.emulators.aas.setTable('myserver', model, 'FactSales', { durationMs: 60_000, partitions, failAttempts: 9, failMessage: `OLE DB error: ${'x'.repeat(20_000)}` });
    const id = await stack.start({ server: stack.server, model, maxParallelism: 10, sync: false, commitMode: 'partialBatch' });
    let largest = 0;
    await stepUntil(stack.host, () => {
      largest = Math.max(largest, JSON.stringify(stack.host.getInstance(id)?.customStatus ?? null).length * 2);
      return stack.host.getInstance(id)?.status === 'Completed';
    }, 'run completed');
    expect(largest).toBeLessThanOrEqual(16 * 1024);
    const done = await stack.run(id);
    expect(done.body.status).toBe('failed');
    expect(done.body.objects.filter((object) => object.table === 'FactSales').map((object) => object.partition)).toEqual(partitions);
    expect(done.body.messages.some((message) => message.message.length > 20_000)).toBe(true);
  });

  it('cancels the AAS refresh when a status call is refused for good, before failing', async () => {
    const model = modelName(4);
    const aas = stack.emulators.aas;
    stack.emulators.aas.setTable('myserver', model, 'FactSales', { durationMs: hour });
    const id = await stack.start({ server: stack.server, model, sync: false });
    await stack.host.runUntilIdle({ maxVirtualMs: 60_000 });
    aas.inject({ operation: 'getRefresh', model, times: 1, fault: { status: 404 } });
    const done = await stack.finish(id);
    expect(done.body).toMatchObject({ status: 'failed', error: { code: 'AAS_NOT_FOUND' } });
    expect(done.body.error?.message).toContain('the AAS refresh was cancelled');
    expect(aas.countRequests('cancelRefresh', model)).toBe(1);
    expect(aas.activeRefresh('myserver', model)).toBeUndefined();
  });

  it('ends timedOut without submitting when the model stays busy past the deadline', async () => {
    const model = modelName(5);
    stack.emulators.aas.startOutsideRefresh('myserver', model, { durationMs: 3 * hour });
    const id = await stack.start({ server: stack.server, model, onConflict: 'wait', timeout: 'PT1H' });
    const done = await stack.finish(id);
    expect(done.status).toBe(504);
    expect(done.body).toMatchObject({ status: 'timedOut', error: { code: 'RUN_TIMED_OUT' } });
    expect(stack.emulators.aas.countRequests('submitRefresh', model)).toBe(0);
  });

  it('says so when AAS does not know the refresh it is asked to cancel (404)', async () => {
    const model = modelName(6);
    const aas = stack.emulators.aas;
    const id = await stack.start({ server: stack.server, model, sync: false });
    await stepUntil(stack.host, async () => (await stack.run(id)).body.statusCalls >= 1, 'first poll');
    // AAS answers the cancel as for a refresh it does not know; the refresh goes on there.
    aas.inject({ operation: 'cancelRefresh', model, times: 1, fault: { status: 404 } });
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    const done = await stack.finish(id);
    expect(done.body.status).toBe('cancelled');
    expect(done.body.error?.message).toContain('AAS does not know refresh');
    expect(requestsOf404(model)).toBe(1);
  });

  it('queues new runs in the model claim\'s order behind the holder, also after the holder continued as new', async () => {
    const model = modelName(7);
    stack.emulators.aas.setTable('myserver', model, 'FactSales', { durationMs: 8 * hour });
    const first = await stack.start({ server: stack.server, model, sync: false, timeout: 'PT12H' });
    await stepUntil(stack.host, async () => (await stack.run(first)).body.statusCalls >= 2, 'first run polled twice');
    const createdAt = (await stack.run(first)).body.createdAt;
    const second = await stack.start({ server: stack.server, model, sync: false, onConflict: 'wait', timeout: 'PT12H' });
    await stepUntil(stack.host, () => (stack.host.engine.getInstance(first)?.execution ?? 0) >= 1, 'first run continued as new');
    const third = await stack.start({ server: stack.server, model, sync: false, onConflict: 'wait', timeout: 'PT12H' });
    // The modelclaim entity holds the queue (docs/scale-out.md): the first run still holds the model.
    const claimOf = (id: string) => (stack.host.getInstance(id)?.customStatus as { claim?: unknown } | null)?.claim;
    expect(claimOf(second)).toEqual({ state: 'queued', holder: first, position: 1 });
    expect(claimOf(third)).toEqual({ state: 'queued', holder: first, position: 2 });
    expect((await stack.run(third)).body.status).toBe('waiting');
    // The run keeps the time it was created, whatever the task hub says of its newest execution.
    expect((await stack.run(first)).body.createdAt).toBe(createdAt);
    for (const id of [first, second, third]) await stack.request('DELETE', `refreshes/${id}`);
    await stack.host.runUntilIdle({ maxVirtualMs: 60_000 });
  });
});

// The same run on both services: what a caller sees must not depend on the backend. Model10..13
// are served by both emulators (startEmulators' Power BI mirror), so the bodies are shared.
describe.each(BACKENDS)('a run on %s, as its caller sees it', (backend) => {
  const service = () => serviceOf(stack, backend);
  const target = (model: string) => runTarget(stack, model, backend);
  // Fields only AAS runs carry: the deprecated aasStatus and syncState, kept because ADF pipelines read them.
  const legacy = (refresh: string, sync?: number) => (backend === 'aas' ? { aasStatus: refresh, ...(sync === undefined ? {} : { syncState: sync }) } : {});

  it('is accepted, then refreshing, syncing and succeeded, with one refresh and one sync at the service', async () => {
    const model = modelName(10);
    const post = await stack.request('POST', 'refreshes', { body: { ...target(model), objects: [{ table: 'DimDate' }], sync: true, timeout: 'PT2H' } });
    expect(post.status).toBe(202);
    expect(post.body).toMatchObject({ status: 'pending', ...target(model) });
    const id = (post.body as { id: string }).id;
    const seen: string[] = [];
    await stepUntil(stack.host, async () => {
      const status = (await stack.run(id)).body.status;
      if (seen[seen.length - 1] !== status) seen.push(status);
      return status === 'succeeded';
    }, `${backend} run succeeded`);
    // 'pending' lasts until the submit is recorded, which may happen before the first quiet moment.
    expect(seen.filter((status) => status !== 'pending')).toEqual(['refreshing', 'syncing', 'succeeded']);
    const done = await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1, backend });
    expect(done.body).toMatchObject({ backend, refreshStatus: 'succeeded', syncStatus: 'succeeded', objects: [{ table: 'DimDate', status: 'succeeded' }], ...legacy('succeeded', 2) });
    expect(done.body.refreshId).toBe(ownRefreshes(stack, model, backend)[0]?.refreshId);
    expect(serviceRequestsOf(stack, 'submitSync', model, backend)).toHaveLength(1);
  });

  it('is cancelled while refreshing: the refresh is cancelled at the service, nothing left running', async () => {
    const model = modelName(11);
    service().setTable('myserver', model, 'FactSales', { durationMs: hour });
    const id = await stack.start({ ...target(model), sync: false });
    await stepUntil(stack.host, async () => (await stack.run(id)).body.statusCalls >= 1, 'first poll');
    expect((await stack.run(id)).body.status).toBe('refreshing');
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    await stack.finish(id);
    const done = await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', submitted: 1, backend });
    expect(done.body).toMatchObject({ refreshStatus: 'cancelled', ...legacy('cancelled') });
    expect(ownRefreshes(stack, model, backend)[0]?.status).toBe('cancelled');
    expect(service().countRequests('cancelRefresh', model)).toBe(1);
  });

  it('times out: the refresh is cancelled at the service and the run answers 504 timedOut', async () => {
    const model = modelName(12);
    service().setTable('myserver', model, 'FactSales', { durationMs: 10 * 60_000 });
    const id = await stack.start({ ...target(model), sync: false, timeout: 'PT2M' });
    const done = await stack.finish(id);
    expect(done.status).toBe(504);
    await expectFinalState(stack, id, model, { status: 'timedOut', code: 'RUN_TIMED_OUT', submitted: 1, backend });
    expect(done.body).toMatchObject({ refreshStatus: 'cancelled', ...legacy('cancelled') });
    expect(ownRefreshes(stack, model, backend)[0]?.status).toBe('cancelled');
    expect(service().countRequests('cancelRefresh', model)).toBe(1);
    // Ended at the deadline, not when the refresh would have.
    expect(Date.parse(done.body.endedAt ?? '') - Date.parse(done.body.startedAt ?? '')).toBeLessThan(5 * 60_000);
  });

  it('fails with the message the service gave, naming the table, and does not sync', async () => {
    const model = modelName(13);
    service().setTable('myserver', model, 'DimCustomer', { durationMs: 20_000, failAttempts: 3, failMessage: 'OLE DB error: login failed for user etl_reader.' });
    const id = await stack.start({ ...target(model), retryCount: 1, sync: true });
    await stack.finish(id);
    const done = await expectFinalState(stack, id, model, { status: 'failed', code: 'REFRESH_FAILED', errorText: 'login failed for user etl_reader', submitted: 1, backend });
    expect(done.body.error?.message).toContain('DimCustomer');
    expect(done.body).toMatchObject({ refreshStatus: 'failed', ...legacy('failed') });
    expect(done.body.objects.filter((object) => object.status === 'failed').map((object) => object.table)).toContain('DimCustomer');
    expect(service().countRequests('submitSync', model)).toBe(0);
  });
});
