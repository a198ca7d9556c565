import { modelName, startAppStack, type AppStack } from '../support/appStack';
import { BACKENDS, expectFinalState, runTarget, serviceOf } from './invariants';

// The managed identity endpoint never answers (own file: the SDK keeps managed identity tokens
// per process, so this must run before any token was obtained; with the endpoint down for the
// whole file, no run ever gets one, on either backend).

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 1 });
  stack.emulators.identity.faults.managedIdentityDown = true;
});
afterAll(async () => {
  await stack?.stop();
});

it.each(BACKENDS)('managed identity down for good (%s): fails with AUTH_MANAGED_IDENTITY_UNAVAILABLE after the retries, the service never called', async (backend) => {
  const model = modelName(1);
  const id = await stack.start({ ...runTarget(stack, model, backend) });
  await stack.finish(id);
  await expectFinalState(stack, id, model, { status: 'failed', code: 'AUTH_MANAGED_IDENTITY_UNAVAILABLE', errorText: 'managed identity', submitted: 0, backend });
  expect(serviceOf(stack, backend).requests.filter((entry) => entry.model === model)).toHaveLength(0);
  expect(stack.emulators.identity.count('keyVault', 200)).toBe(0);
});
