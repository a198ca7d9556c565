import { modelName, startAppStack, type AppStack } from '../support/appStack';

// Durable timers fire up to 1 s before their FireAt on Azure Storage, and the local host delivers
// them so (test/durable-host/timers.test.ts). The app asks every timer for 1 s past the time it
// must not wake before (src/orchestration/durableTimer.ts): at the shortest poll interval AAS is
// never polled sooner than it, and a run that reaches its deadline is not ended before it nor
// polls in a burst just before it. (Retry-After: test/faults/aasTransient.test.ts.)

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 2, settings: { POLL_MIN_INTERVAL_SECONDS: '1', POLL_MAX_INTERVAL_SECONDS: '1' } });
});
afterAll(async () => {
  await stack.stop();
});

/** When AAS saw the status calls of a model's refresh (virtual time). */
function statusCallTimes(model: string): number[] {
  return stack.emulators.aas.requests.filter((r) => r.operation === 'getRefresh' && r.model === model).map((r) => r.at);
}

function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - (times[i] ?? 0));
}

it('polls AAS no sooner than POLL_MIN_INTERVAL_SECONDS apart when it is 1 s', async () => {
  const model = modelName(1);
  // DimDate refreshes for 10 s in the emulator.
  const id = await stack.start({ server: stack.server, model, sync: false, objects: [{ table: 'DimDate' }] });
  const done = await stack.finish(id);
  expect(done.body.status).toBe('succeeded');
  const times = statusCallTimes(model);
  expect(times.length).toBeGreaterThanOrEqual(5);
  expect(Math.min(...gaps(times))).toBeGreaterThanOrEqual(1000);
  // At most one poll a second of refresh, plus the one that sees it end.
  expect(times.length).toBeLessThanOrEqual(11);
});

it('ends a run at its deadline, not before, without polling faster near it', async () => {
  const model = modelName(2);
  // The whole model takes minutes in the emulator: the 1-minute deadline comes first.
  const id = await stack.start({ server: stack.server, model, sync: false, timeout: 'PT1M' });
  const done = await stack.finish(id);
  expect(done.body).toMatchObject({ status: 'timedOut', error: { code: 'RUN_TIMED_OUT' } });
  expect(Date.parse(done.body.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done.body.deadline ?? ''));
  // The polls until the deadline's cancel (after it, the run reads the refresh once more at once).
  const cancelledAt = stack.emulators.aas.requests.find((r) => r.operation === 'cancelRefresh' && r.model === model)?.at ?? 0;
  const times = statusCallTimes(model).filter((at) => at < cancelledAt);
  expect(times.length).toBeGreaterThanOrEqual(30);
  expect(Math.min(...gaps(times))).toBeGreaterThanOrEqual(1000);
  expect(times.length).toBeLessThanOrEqual(61);
});
