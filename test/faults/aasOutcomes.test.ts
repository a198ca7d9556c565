import { holdAnswer } from '../support/aasGate';
import { modelName, startAppStack, type AppStack } from '../support/appStack';
import { stepUntil } from '../support/virtualTime';
import type { BackendKind } from '../../local/emulators/backends';
import { BACKENDS, runTarget, expectFinalState, requestsOf, SERVER, serviceOf, serviceRequestsOf } from './invariants';

// Permanent AAS answers and races: conflicts, not-admin, unknown model, failed refreshes, a queue
// that never starts, cancel races, failed or forgotten syncs.

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 26 });
});
afterAll(async () => {
  await stack?.stop();
});

const hour = 3_600_000;

/** Lets durable timers fire one at a time until the run shows the status. */
const until = (id: string, status: string) => stepUntil(stack.host, async () => (await stack.run(id)).body.status === status, `run ${id} ${status}`);

/**
 * Holds the answer to the submit activity's own history read (the model's second listRefreshes:
 * the first is the run's look at the model), so that an outside refresh can start between that
 * read and the POST: AAS then answers the POST itself with 409.
 */
function holdSubmitsHistoryRead(model: string) {
  let reads = 0;
  return holdAnswer(stack.emulators.aas, (entry) => entry.operation === 'listRefreshes' && entry.model === model && ++reads === 2);
}

describe('AAS conflicts', () => {
  it('409 from an outside refresh seen before submitting, onConflict fail: MODEL_BUSY at once', async () => {
    const model = modelName(1);
    const outside = stack.emulators.aas.startOutsideRefresh(SERVER, model, { durationMs: hour });
    const id = await stack.start({ server: stack.server, model });
    await stack.finish(id);
    await expectFinalState(stack, id, model, { status: 'failed', code: 'MODEL_BUSY', errorText: outside, submitted: 0, outsideRefreshMayRun: true });
  });

  it('AAS answers 409 to the POST itself (outside refresh started at that moment), onConflict fail', async () => {
    const model = modelName(2);
    const aas = stack.emulators.aas;
    const held = holdSubmitsHistoryRead(model);
    const id = await stack.start({ server: stack.server, model });
    const done = stack.finish(id);
    await held.reached;
    aas.startOutsideRefresh(SERVER, model, { durationMs: hour });
    held.release();
    await done;
    expect(requestsOf(stack, 'submitRefresh', model).map((entry) => entry.status)).toEqual([409]);
    await expectFinalState(stack, id, model, { status: 'failed', code: 'MODEL_BUSY', errorText: 'A refresh operation is already in progress', submitted: 0, outsideRefreshMayRun: true });
  });

  it('AAS answers 409 to the POST, onConflict wait: waits for the outside refresh, then refreshes once', async () => {
    const model = modelName(3);
    const aas = stack.emulators.aas;
    const held = holdSubmitsHistoryRead(model);
    const id = await stack.start({ server: stack.server, model, onConflict: 'wait' });
    const done = stack.finish(id);
    await held.reached;
    aas.startOutsideRefresh(SERVER, model, { durationMs: 30 * 60_000 });
    held.release();
    await done;
    const submits = requestsOf(stack, 'submitRefresh', model);
    expect(submits.map((entry) => entry.status)).toEqual([409, 202]);
    const outside = aas.refreshes(SERVER, model).find((refresh) => refresh.outside);
    expect(submits[1]?.at).toBeGreaterThanOrEqual(outside?.endTime ?? Number.POSITIVE_INFINITY);
    await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1 });
  });
});

describe('AAS permanent refusals', () => {
  it('400 not-admin: fails at once with AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN and the x-ms-xmlaerror-extended text', async () => {
    const model = modelName(4);
    stack.emulators.aas.setNotAdmin(SERVER, true);
    try {
      const id = await stack.start({ server: stack.server, model });
      await stack.finish(id);
      const done = await expectFinalState(stack, id, model, { status: 'failed', code: 'AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN', errorText: 'is not the administrator of', submitted: 0 });
      expect(done.body.error?.message).toContain('x-ms-xmlaerror-extended');
      // At once: one look at the model, no retries.
      expect(requestsOf(stack, 'listRefreshes', model)).toHaveLength(1);
    } finally {
      stack.emulators.aas.setNotAdmin(SERVER, false);
    }
  });

  it('404 for a model the server does not have: AAS_NOT_FOUND with the AAS text, nothing submitted', async () => {
    const model = 'NoSuchModel';
    const id = await stack.start({ server: stack.server, model });
    await stack.finish(id);
    await expectFinalState(stack, id, model, { status: 'failed', code: 'AAS_NOT_FOUND', errorText: "The database 'NoSuchModel' does not exist", unknownModel: true });
    expect(requestsOf(stack, 'listRefreshes', model)).toHaveLength(1);
  });

  it('400 for a table the model does not have: AAS_BAD_REQUEST with the AAS text', async () => {
    const model = modelName(5);
    const id = await stack.start({ server: stack.server, model, objects: [{ table: 'NoSuchTable' }] });
    await stack.finish(id);
    await expectFinalState(stack, id, model, { status: 'failed', code: 'AAS_BAD_REQUEST', errorText: "Table 'NoSuchTable' does not exist", submitted: 0 });
    expect(requestsOf(stack, 'submitRefresh', model)).toHaveLength(1);
  });
});

describe('AAS refresh outcomes', () => {
  it('refresh failed: REFRESH_FAILED with the AAS message and the failed object', async () => {
    const model = modelName(6);
    stack.emulators.aas.setTable(SERVER, model, 'DimCustomer', { durationMs: 20_000, failAttempts: 3, failMessage: 'OLE DB error: login failed for user etl_reader.' });
    const id = await stack.start({ server: stack.server, model, retryCount: 1 });
    await stack.finish(id);
    const done = await expectFinalState(stack, id, model, { status: 'failed', code: 'REFRESH_FAILED', errorText: 'login failed for user etl_reader', submitted: 1 });
    expect(done.body.error?.message).toContain('DimCustomer');
    expect(done.body.aasStatus).toBe('failed');
    expect(requestsOf(stack, 'submitSync', model)).toHaveLength(0);
  });

  it('partialBatch partly committed: failed, with the committed objects and the AAS message', async () => {
    const model = modelName(7);
    stack.emulators.aas.setTable(SERVER, model, 'FactSales', { durationMs: 30_000, failAttempts: 9, failMessage: 'Memory error: allocation failure while processing FactSales 2025.' });
    const id = await stack.start({ server: stack.server, model, commitMode: 'partialBatch', maxParallelism: 2 });
    await stack.finish(id);
    const done = await expectFinalState(stack, id, model, { status: 'failed', code: 'REFRESH_FAILED', errorText: 'allocation failure', submitted: 1 });
    const committed = (done.body.committedObjects ?? []).map((object) => object.table).sort();
    expect(committed).toEqual(['DimCustomer', 'DimDate']);
    expect(done.body.objects.filter((object) => object.status === 'failed').map((object) => object.table)).toContain('FactSales');
  });

  it('stuck in notStarted past the deadline: cancelled in AAS, timedOut with 504', async () => {
    const model = modelName(8);
    stack.emulators.aas.setNotStartedMs(SERVER, model, 6 * hour);
    try {
      const id = await stack.start({ server: stack.server, model, timeout: 'PT1H' });
      await until(id, 'refreshing');
      await stack.host.runUntilIdle({ maxVirtualMs: 30 * 60_000 });
      expect((await stack.run(id)).body.aasStatus).toBe('notStarted');
      await stack.finish(id);
      await expectFinalState(stack, id, model, { status: 'timedOut', code: 'RUN_TIMED_OUT', submitted: 1 });
      expect(requestsOf(stack, 'cancelRefresh', model)).toHaveLength(1);
      expect(stack.emulators.aas.refreshes(SERVER, model)[0]?.status).toBe('cancelled');
    } finally {
      stack.emulators.aas.setNotStartedMs(SERVER, model, undefined);
    }
  });
});

describe('cancel races', () => {
  it('DELETE right after POST, while the run still looks at the model: ends cancelled, nothing submitted', async () => {
    const model = modelName(9);
    // The run's look at the model is answered only once the DELETE has been accepted.
    const held = holdAnswer(stack.emulators.aas, (entry) => entry.operation === 'listRefreshes' && entry.model === model);
    const id = await stack.start({ server: stack.server, model });
    await held.reached;
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    held.release();
    await stack.finish(id);
    await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', submitted: 0, errorText: 'before a refresh was submitted' });
    expect(requestsOf(stack, 'submitRefresh', model)).toHaveLength(0);
  });

  it('DELETE twice at once while refreshing: one cancel reaches AAS, a third DELETE after the end gets 409', async () => {
    const model = modelName(10);
    const id = await stack.start({ server: stack.server, model });
    await until(id, 'refreshing');
    // Both at once: the second is accepted too, or finds the run already cancelled (409).
    const answers = await Promise.all([stack.request('DELETE', `refreshes/${id}`), stack.request('DELETE', `refreshes/${id}`)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual(expect.arrayContaining([202]));
    for (const answer of answers) expect([202, 409]).toContain(answer.status);
    await stack.finish(id);
    await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', submitted: 1 });
    expect(requestsOf(stack, 'cancelRefresh', model)).toHaveLength(1);
    expect(stack.emulators.aas.refreshes(SERVER, model)[0]?.status).toBe('cancelled');
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(409);
  });

  it('DELETE during the sync: cancelled, the refresh stays succeeded in AAS (syncs cannot be cancelled)', async () => {
    const model = modelName(11);
    stack.emulators.aas.setSyncBehaviour(SERVER, model, { durationMs: 10 * 60_000 });
    const id = await stack.start({ server: stack.server, model });
    await until(id, 'syncing');
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    await stack.finish(id);
    const done = await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', errorText: 'during the replica sync', submitted: 1 });
    expect(done.body.aasStatus).toBe('succeeded');
    expect(requestsOf(stack, 'cancelRefresh', model)).toHaveLength(0);
    expect(stack.emulators.aas.refreshes(SERVER, model)[0]?.status).toBe('succeeded');
  });
});

describe('sync faults', () => {
  it('sync failed (syncstate 3): SYNC_FAILED with the details, the refresh reported succeeded', async () => {
    const model = modelName(12);
    stack.emulators.aas.setSyncBehaviour(SERVER, model, { fail: true });
    const id = await stack.start({ server: stack.server, model });
    await stack.finish(id);
    const done = await expectFinalState(stack, id, model, { status: 'failed', code: 'SYNC_FAILED', errorText: 'Replica synchronization failed', submitted: 1 });
    expect(done.body).toMatchObject({ aasStatus: 'succeeded', syncState: 3 });
  });

  it('sync operation unknown (404 on its status): SYNC_FAILED naming AAS_NOT_FOUND and the AAS text', async () => {
    const model = modelName(13);
    stack.emulators.aas.inject({ operation: 'getSync', model, fault: { status: 404 } });
    const id = await stack.start({ server: stack.server, model });
    await stack.finish(id);
    const done = await expectFinalState(stack, id, model, { status: 'failed', code: 'SYNC_FAILED', errorText: 'The requested operation was not found', submitted: 1 });
    expect(done.body.error?.message).toContain('AAS_NOT_FOUND');
    expect(done.body.aasStatus).toBe('succeeded');
  });
});

// A refresh already running at the service, on both backends. The services say it differently:
// AAS answers the POST 409 Conflict, Power BI 400 "Another refresh request is already executing"
// (docs/powerbi.md, Errors); the caller sees the same run either way.
const conflictAnswer: Record<BackendKind, { status: number; text: string }> = {
  aas: { status: 409, text: 'A refresh operation is already in progress' },
  powerbi: { status: 400, text: 'Another refresh request is already executing' },
};

describe.each(BACKENDS)('a refresh someone else runs, on %s', (backend) => {
  const service = () => serviceOf(stack, backend);
  const target = (model: string) => runTarget(stack, model, backend);
  /** As holdSubmitsHistoryRead, on this backend. */
  const holdSubmitsRead = (model: string) => {
    let reads = 0;
    return holdAnswer(service(), (entry) => entry.operation === 'listRefreshes' && entry.model === model && ++reads === 2);
  };

  it('seen in the history before submitting, onConflict fail: MODEL_BUSY at once, nothing submitted', async () => {
    const model = modelName(21);
    const outside = service().startOutsideRefresh(SERVER, model, { durationMs: hour });
    const id = await stack.start({ ...target(model) });
    await stack.finish(id);
    await expectFinalState(stack, id, model, { status: 'failed', code: 'MODEL_BUSY', errorText: outside, submitted: 0, outsideRefreshMayRun: true, backend });
    expect(serviceRequestsOf(stack, 'submitRefresh', model, backend)).toHaveLength(0);
  });

  it('refused by the service at the POST itself, onConflict fail: MODEL_BUSY with the service\'s words', async () => {
    const model = modelName(22);
    const held = holdSubmitsRead(model);
    const id = await stack.start({ ...target(model) });
    const done = stack.finish(id);
    await held.reached;
    service().startOutsideRefresh(SERVER, model, { durationMs: hour });
    held.release();
    await done;
    expect(serviceRequestsOf(stack, 'submitRefresh', model, backend).map((entry) => entry.status)).toEqual([conflictAnswer[backend].status]);
    await expectFinalState(stack, id, model, { status: 'failed', code: 'MODEL_BUSY', errorText: conflictAnswer[backend].text, submitted: 0, outsideRefreshMayRun: true, backend });
  });

  it('refused by the service at the POST, onConflict wait: waits for the other refresh to end, then refreshes once', async () => {
    const model = modelName(23);
    const held = holdSubmitsRead(model);
    const id = await stack.start({ ...target(model), onConflict: 'wait' });
    const done = stack.finish(id);
    await held.reached;
    service().startOutsideRefresh(SERVER, model, { durationMs: 30 * 60_000 });
    held.release();
    await done;
    const submits = serviceRequestsOf(stack, 'submitRefresh', model, backend);
    expect(submits.map((entry) => entry.status)).toEqual([conflictAnswer[backend].status, 202]);
    const outside = service().refreshes(SERVER, model).find((refresh) => refresh.outside);
    expect(submits[1]?.at).toBeGreaterThanOrEqual(outside?.endTime ?? Number.POSITIVE_INFINITY);
    await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1, backend });
  });
});

describe.each(BACKENDS)('a run\'s end at its deadline and under cancels, on %s', (backend) => {
  const service = () => serviceOf(stack, backend);
  const target = (model: string) => runTarget(stack, model, backend);

  it('stuck in notStarted past the deadline: cancelled at the service, timedOut with 504', async () => {
    const model = modelName(24);
    service().setNotStartedMs(SERVER, model, 6 * hour);
    try {
      const id = await stack.start({ ...target(model), timeout: 'PT1H' });
      await until(id, 'refreshing');
      await stack.host.runUntilIdle({ maxVirtualMs: 30 * 60_000 });
      expect((await stack.run(id)).body.refreshStatus).toBe('notStarted');
      await stack.finish(id);
      await expectFinalState(stack, id, model, { status: 'timedOut', code: 'RUN_TIMED_OUT', submitted: 1, backend });
      expect(serviceRequestsOf(stack, 'cancelRefresh', model, backend)).toHaveLength(1);
      expect(service().refreshes(SERVER, model)[0]?.status).toBe('cancelled');
    } finally {
      service().setNotStartedMs(SERVER, model, undefined);
    }
  });

  it('DELETE right after POST, while the run still looks at the model: cancelled, nothing submitted', async () => {
    const model = modelName(25);
    const held = holdAnswer(service(), (entry) => entry.operation === 'listRefreshes' && entry.model === model);
    const id = await stack.start({ ...target(model) });
    await held.reached;
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    held.release();
    await stack.finish(id);
    await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', submitted: 0, errorText: 'before a refresh was submitted', backend });
    expect(serviceRequestsOf(stack, 'submitRefresh', model, backend)).toHaveLength(0);
  });

  it('DELETE during the sync: cancelled, the refresh stays succeeded at the service (a sync cannot be cancelled on either)', async () => {
    const model = modelName(26);
    const id = await stack.start({ ...target(model) });
    await until(id, 'syncing');
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    await stack.finish(id);
    const done = await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', errorText: 'during the replica sync', submitted: 1, backend });
    expect(done.body.refreshStatus).toBe('succeeded');
    expect(serviceRequestsOf(stack, 'cancelRefresh', model, backend)).toHaveLength(0);
    expect(service().refreshes(SERVER, model)[0]?.status).toBe('succeeded');
  });
});
