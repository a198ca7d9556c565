import { modelName, startAppStack, type AppStack } from '../support/appStack';

/**
 * Freeing a model whose holder cannot release it (docs/scale-out.md, "Operator: free a model" and
 * POST step 1): the first waiting run is told at once and starts, on the local host under virtual
 * time. The backstop timer of a waiting run is an hour here, and no virtual time passes between
 * the free and the check: the waiting run can only have started because it was told.
 */
const hour = 3_600_000;
let stack: AppStack;
beforeAll(async () => {
  // The HTTP triggers read the real clock (leases against now), so virtual time starts there.
  stack = await startAppStack({ modelCount: 2, clockStart: Date.now(), settings: { POLL_MIN_INTERVAL_SECONDS: '3600', POLL_MAX_INTERVAL_SECONDS: '3600' } });
  for (let m = 1; m <= 2; m += 1) stack.emulators.aas.setTable('myserver', modelName(m), 'FactSales', { durationMs: 3 * hour });
});
afterAll(async () => {
  await stack?.stop();
});

/** A holder refreshing the model and a run waiting behind it. */
async function holderAndWaiter(model: string): Promise<{ holder: string; waiter: string }> {
  const holder = await stack.start({ server: stack.server, model, onConflict: 'wait', sync: false });
  await stack.host.runUntilIdle({ maxVirtualMs: 0 });
  const waiter = await stack.start({ server: stack.server, model, onConflict: 'wait', sync: false });
  await stack.host.runUntilIdle({ maxVirtualMs: 0 });
  expect([(await stack.run(holder)).body.status, (await stack.run(waiter)).body.status]).toEqual(['refreshing', 'waiting']);
  return { holder, waiter };
}

/**
 * Terminates the holder through the Durable API (as from the portal): it runs no release, so its
 * claim stays until someone frees it. AAS would keep its refresh; the emulator forgets it, as if
 * it had ended (a refresh still running in AAS would make the next run wait on AAS's own busy check).
 */
async function terminate(holder: string, model: string): Promise<void> {
  const terminated = await fetch(`${stack.host.rpcBaseUrl}instances/${holder}/terminate?reason=operator`, { method: 'POST' });
  expect(terminated.status).toBe(202);
  stack.emulators.aas.forgetRefreshes('myserver', model);
  await stack.host.runUntilIdle({ maxVirtualMs: 0 });
  expect((await stack.run(holder)).body.status).toBe('cancelled');
}

/** Submits of a refresh the AAS emulator accepted for the model. */
const submits = (model: string) => stack.emulators.aas.requests.filter((entry) => entry.operation === 'submitRefresh' && entry.model === model && entry.status === 202).length;

describe('freeing a model wakes the first waiting run at once', () => {
  it('POST /api/models/claim/free: the waiting run claims the model and submits its refresh, with no time passing', async () => {
    const model = modelName(1);
    const { holder, waiter } = await holderAndWaiter(model);
    await terminate(holder, model);
    expect((await stack.run(waiter)).body.status).toBe('waiting');
    const before = { at: stack.clock.now(), submits: submits(model) };
    const freed = await stack.request('POST', `models/claim/free?server=${encodeURIComponent(stack.server)}&model=${model}`);
    expect(freed.status).toBe(202);
    expect(freed.body).toMatchObject({ freed: true, freedFrom: holder, next: waiter });
    await stack.host.runUntilIdle({ maxVirtualMs: 0 });
    expect((await stack.run(waiter)).body.status).toBe('refreshing');
    expect(submits(model)).toBe(before.submits + 1);
    expect(stack.clock.now()).toBe(before.at);
    expect((await stack.request('DELETE', `refreshes/${waiter}`)).status).toBe(202);
    await stack.host.runUntilIdle({ maxVirtualMs: hour });
  });

  it('a POST with onConflict "fail" that finds the holder terminated frees the model, and the waiting run starts at once', async () => {
    const model = modelName(2);
    const { holder, waiter } = await holderAndWaiter(model);
    await terminate(holder, model);
    expect((await stack.run(waiter)).body.status).toBe('waiting');
    const before = { at: stack.clock.now(), submits: submits(model) };

    const busy = await stack.request('POST', 'refreshes', { body: { server: stack.server, model, onConflict: 'fail', sync: false } });
    // The waiting run got the model first (it was first in the queue): the new one is refused, naming it.
    expect(busy.status).toBe(409);
    expect(busy.body).toMatchObject({ error: { code: 'MODEL_BUSY', activeRunId: waiter } });
    await stack.host.runUntilIdle({ maxVirtualMs: 0 });
    expect((await stack.run(waiter)).body.status).toBe('refreshing');
    expect(submits(model)).toBe(before.submits + 1);
    expect(stack.clock.now()).toBe(before.at);
    expect((await stack.request('DELETE', `refreshes/${waiter}`)).status).toBe(202);
    await stack.host.runUntilIdle({ maxVirtualMs: hour });
  });
});
