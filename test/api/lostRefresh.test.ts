import { modelName, startAppStack, type AppStack } from '../support/appStack';

// After a restart with an empty emulator (or a server that lost its refreshes) AAS answers 404
// for the run's refresh: the run's error must say AAS does not know it, not that it had ended.

let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack({ modelCount: 1 });
});

afterAll(async () => {
  await stack?.stop();
});

it('a refresh AAS no longer knows is reported as unknown to AAS, not as "had already ended"', async () => {
  const model = modelName(1);
  const id = await stack.start({ server: stack.server, model, sync: false });
  await stack.host.runUntilIdle({ maxVirtualMs: 0 });
  const running = await stack.run(id);
  expect(running.body.status).toBe('refreshing');
  stack.emulators.aas.forgetRefreshes('myserver', model);

  const final = await stack.finish(id);
  expect(final.body.status).toBe('failed');
  expect(final.body.error?.code).toBe('AAS_NOT_FOUND');
  expect(final.body.error?.message).toContain(`AAS does not know refresh ${running.body.refreshId ?? ''}`);
  expect(final.body.error?.message).not.toContain('had already ended');
  // The cancel really went to AAS, and AAS answered 404.
  expect(stack.emulators.aas.requests.filter((entry) => entry.model === model && entry.operation === 'cancelRefresh').map((entry) => entry.status)).toEqual([404]);
});
