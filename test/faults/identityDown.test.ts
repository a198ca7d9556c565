import { modelName, startAppStack, type AppStack } from '../support/appStack';
import { expectFinalState, requestsOf } from './invariants';

// The managed identity endpoint never answers (own file: the SDK keeps managed identity tokens
// per process, so this must run before any token was obtained).

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 1 });
  stack.emulators.identity.faults.managedIdentityDown = true;
});
afterAll(async () => {
  await stack?.stop();
});

it('managed identity down for good: fails with AUTH_MANAGED_IDENTITY_UNAVAILABLE after the retries, AAS never called', async () => {
  const model = modelName(1);
  const id = await stack.start({ server: stack.server, model });
  await stack.finish(id);
  await expectFinalState(stack, id, model, { status: 'failed', code: 'AUTH_MANAGED_IDENTITY_UNAVAILABLE', errorText: 'managed identity', submitted: 0 });
  expect(requestsOf(stack, 'listRefreshes', model)).toHaveLength(0);
  expect(stack.emulators.identity.count('keyVault', 200)).toBe(0);
});
