import { modelName, startAppStack, type AppStack } from '../support/appStack';
import { stepUntil } from '../support/virtualTime';

// A run's expected duration (which shapes its polling) comes from refreshes of the same shape:
// AAS's history does not say what each refresh covered, so a one-table refresh must not be judged
// by the model's whole-model runs.

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 2 });
});
afterAll(async () => {
  await stack?.stop();
});

const hour = 3_600_000;

describe('expected duration per refresh shape', () => {
  it('a one-table refresh of a model whose history is two-hour full refreshes is polled by its own record', async () => {
    const model = modelName(1);
    const aas = stack.emulators.aas;
    aas.setTable('myserver', model, 'FactSales', { durationMs: 2 * hour });
    aas.setTable('myserver', model, 'DimDate', { durationMs: 10_000 });
    const full = async () => stack.finish(await stack.start({ server: stack.server, model, type: 'full', sync: false, timeout: 'PT4H' }));
    const firstFull = await full();
    expect(firstFull.body.status).toBe('succeeded');

    const oneTable = async () => {
      const id = await stack.start({ server: stack.server, model, type: 'full', objects: [{ table: 'DimDate' }], sync: false });
      await stepUntil(stack.host, async () => (await stack.run(id)).body.status === 'refreshing', 'one-table refresh submitted');
      const expected = (await stack.run(id)).body.expectedDurationSeconds;
      const done = await stack.finish(id);
      return { expected, done, took: Date.parse(done.body.endedAt ?? '') - Date.parse(done.body.startedAt ?? '') };
    };
    // No run of this shape yet: AAS's whole-model history is not used, polling follows elapsed time.
    const first = await oneTable();
    expect(first.expected).toBeUndefined();
    expect(first.done.body.status).toBe('succeeded');
    expect(first.took).toBeLessThanOrEqual(60_000);
    // Now the app has its own record of this shape: about the 12 s it took in AAS.
    const second = await oneTable();
    expect(second.expected).toBeGreaterThanOrEqual(10);
    expect(second.expected).toBeLessThanOrEqual(15);
    expect(second.took).toBeLessThanOrEqual(60_000);

    // A whole-model run expects what the earlier whole-model run took.
    const id = await stack.start({ server: stack.server, model, type: 'full', sync: false, timeout: 'PT4H' });
    await stepUntil(stack.host, async () => (await stack.run(id)).body.status === 'refreshing', 'full refresh submitted');
    const expectedFull = (await stack.run(id)).body.expectedDurationSeconds ?? 0;
    const tookFull = Date.parse(firstFull.body.refreshEndTime ?? '') - Date.parse(firstFull.body.refreshStartTime ?? '');
    expect(Math.abs(expectedFull * 1000 - tookFull)).toBeLessThanOrEqual(1_000);
    await stack.finish(id);
  });

  it('a whole-model refresh without a record of its own uses AAS\'s history of the model', async () => {
    const model = modelName(2);
    const aas = stack.emulators.aas;
    const outside = aas.startOutsideRefresh('myserver', model, { durationMs: hour });
    await stack.host.runUntilIdle({ maxVirtualMs: 0 });
    stack.clock.advanceBy(hour + 1_000);
    const id = await stack.start({ server: stack.server, model, sync: false });
    await stepUntil(stack.host, async () => (await stack.run(id)).body.status === 'refreshing', 'submitted');
    expect(outside).toBeDefined();
    expect((await stack.run(id)).body.expectedDurationSeconds).toBe(3600);
    await stack.finish(id);
  });
});
