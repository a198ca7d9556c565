import { modelName, startAppStack, type AppStack } from '../support/appStack';

/**
 * A run that reaches its deadline still owns its model while it cancels its refresh (docs/scale-out.md,
 * claimLeaseUntil): here AAS throttles the cancel for half an hour past the deadline, and a run waiting
 * for the model must not be given it before the cancel has gone through. With a lease that ended at the
 * deadline the entity handed the model over at the waiting run's next claim, and two runs worked on
 * one model.
 */
const minute = 60_000;
let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 1, clockStart: Date.now(), settings: { POLL_MIN_INTERVAL_SECONDS: '30', POLL_MAX_INTERVAL_SECONDS: '600' } });
  stack.emulators.aas.setTable('myserver', modelName(1), 'FactSales', { durationMs: 3 * 60 * minute });
});
afterAll(async () => {
  await stack?.stop();
});

it('a run cancelling past its deadline keeps the model: the waiting run starts only once the cancel is through', async () => {
  const model = modelName(1);
  const holder = await stack.start({ server: stack.server, model, timeout: 'PT1M', onConflict: 'wait', sync: false });
  await stack.host.runUntilIdle({ maxVirtualMs: 0 });
  expect((await stack.run(holder)).body.status).toBe('refreshing');
  // Three throttled answers of 10 minutes each to the cancel the deadline brings.
  stack.emulators.aas.inject({ operation: 'cancelRefresh', model, times: 3, fault: { status: 429, retryAfterSeconds: 600 } });
  const waiter = await stack.start({ server: stack.server, model, timeout: 'PT12H', onConflict: 'wait', sync: false });
  await stack.host.runUntilIdle({ maxVirtualMs: 0 });
  expect((await stack.run(waiter)).body.status).toBe('waiting');

  // 15 minutes on: the holder's deadline is 14 minutes past and its cancel is still being throttled;
  // the waiting run has checked the claim again in between (its backstop timer, up to 10 minutes).
  await stack.host.runUntilIdle({ maxVirtualMs: 15 * minute });
  expect((await stack.run(holder)).body.status).toBe('cancelling');
  // Still queued behind the holder (not given the model and then held back by AAS's own busy check).
  expect((await stack.run(waiter)).body).toMatchObject({ status: 'waiting', lastIssue: { code: 'MODEL_BUSY', message: expect.stringContaining(`Waiting for run ${holder} of this app`) as unknown } });
  // Not even tried: a run given the model would have submitted and met AAS's own 409 (and waited,
  // which also shows as "waiting").
  const submitted = () => stack.emulators.aas.requests.filter((entry) => entry.operation === 'submitRefresh' && entry.model === model);
  expect(submitted().map((entry) => entry.status)).toEqual([202]);

  // The cancel goes through, the holder ends timed out and hands the model over.
  await stack.host.runUntilIdle({ maxVirtualMs: 40 * minute });
  expect((await stack.run(holder)).body).toMatchObject({ status: 'timedOut' });
  expect((await stack.run(waiter)).body.status).toBe('refreshing');
  expect(submitted().map((entry) => entry.status)).toEqual([202, 202]);
  expect((await stack.request('DELETE', `refreshes/${waiter}`)).status).toBe(202);
  await stack.host.runUntilIdle({ maxVirtualMs: 60 * minute });
});
