import { modelName, startAppStack, type AppStack } from '../support/appStack';

// The ADF callback's Output is the run's result: the neutral refreshStatus and syncStatus, and, for
// an AAS run, the two fields it carried before Power BI support (aasStatus, numeric syncState), so
// that pipelines reading them keep working.

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack();
});
afterAll(async () => {
  await stack?.stop();
});

it('an AAS run calls back with refreshStatus, syncStatus and the compatibility fields', async () => {
  const id = await stack.start({ server: stack.server, model: modelName(1), objects: [{ table: 'DimDate' }], sync: true, callbackUrl: stack.callbackUrl });
  const done = await stack.finish(id);
  expect(done.body.status).toBe('succeeded');
  const delivered = stack.callbacks.map((callback) => callback.body as { StatusCode: string; Output: Record<string, unknown> });
  expect(delivered).toHaveLength(1);
  expect(delivered[0]?.StatusCode).toBe('200');
  expect(delivered[0]?.Output).toMatchObject({ runId: id, status: 'succeeded', refreshStatus: 'succeeded', syncStatus: 'succeeded', aasStatus: 'succeeded', syncState: 2 });
});
