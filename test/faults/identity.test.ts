import { modelName, startAppStack, type AppStack } from '../support/appStack';
import { stepUntil } from '../support/virtualTime';
import { BACKENDS, runTarget, expectFinalState, requestsOf, serviceOf } from './invariants';

// The identity chain (keyVault mode: managed identity -> Key Vault secret -> service principal
// token) failing under a run. The order matters: the first scenario runs before any token is
// cached. Each later one makes AAS answer 401 once (expireTokens) so the app drops its cached
// token and secret and walks the chain again.
// Entra ID answering 503: MSAL then refuses that credential's token requests locally for 60 s
// of real time, so the token provider drops the credential after a transient error and the
// retry builds a new one.

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 9 });
});
afterAll(async () => {
  await stack?.stop();
});

const hour = 3_600_000;
let rotation = 0;
/** Entra and Key Vault agree on a new secret again. */
function rotate(): void {
  rotation += 1;
  const { identity, servicePrincipal } = stack.emulators;
  identity.rotateSecret(identity.secretName, servicePrincipal.clientId, `rotated-secret-${rotation}-${'x'.repeat(24)}`);
}

describe('identity faults (keyVault mode)', () => {
  it('managed identity down for a moment, then back: the run succeeds', async () => {
    const model = modelName(1);
    const { identity } = stack.emulators;
    identity.faults.managedIdentityDown = true;
    try {
      const id = await stack.start({ server: stack.server, model });
      await stack.host.runUntilIdle({ maxVirtualMs: 6_000 });
      expect(identity.count('managedIdentity')).toBeGreaterThanOrEqual(1);
      expect(requestsOf(stack, 'listRefreshes', model)).toHaveLength(0);
      identity.faults.managedIdentityDown = false;
      await stack.finish(id);
      await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1 });
    } finally {
      identity.faults.managedIdentityDown = false;
    }
  });

  it('Entra ID answering 503 for a moment: the retry asks again with a fresh credential and the run succeeds', async () => {
    const model = modelName(2);
    const { identity, aas } = stack.emulators;
    aas.inject({ operation: 'listRefreshes', model, fault: { kind: 'expireTokens' } });
    identity.faults.entraUnavailable = true;
    try {
      const id = await stack.start({ server: stack.server, model });
      // AAS rejects the cached token; the retry 5 s later finds Entra down.
      await stack.host.runUntilIdle({ maxVirtualMs: 8_000 });
      expect(identity.count('token', 503) + identity.count('openidConfiguration', 503)).toBeGreaterThanOrEqual(1);
      identity.faults.entraUnavailable = false;
      await stack.finish(id);
      await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1 });
    } finally {
      identity.faults.entraUnavailable = false;
    }
  });

  it('Key Vault 403: fails with AUTH_KEY_VAULT_FORBIDDEN naming the role to grant', async () => {
    const model = modelName(3);
    const { identity, aas } = stack.emulators;
    aas.inject({ operation: 'listRefreshes', model, fault: { kind: 'expireTokens' } });
    identity.faults.keyVaultForbidden = true;
    try {
      const id = await stack.start({ server: stack.server, model });
      await stack.finish(id);
      await expectFinalState(stack, id, model, { status: 'failed', code: 'AUTH_KEY_VAULT_FORBIDDEN', errorText: 'Key Vault Secrets User', submitted: 0 });
    } finally {
      identity.faults.keyVaultForbidden = false;
    }
  });

  it('wrong secret in Key Vault: fails with AUTH_INVALID_CLIENT', async () => {
    const model = modelName(4);
    const { identity, aas, servicePrincipal } = stack.emulators;
    aas.inject({ operation: 'listRefreshes', model, fault: { kind: 'expireTokens' } });
    identity.setServicePrincipalSecret(servicePrincipal.clientId, 'a-secret-the-vault-does-not-have-0123456789');
    try {
      const id = await stack.start({ server: stack.server, model });
      await stack.finish(id);
      await expectFinalState(stack, id, model, { status: 'failed', code: 'AUTH_INVALID_CLIENT', errorText: 'rejected the client secret', submitted: 0 });
    } finally {
      rotate();
    }
  });

  it('secret rotated mid-run (old tokens rejected): the run picks up the new secret and succeeds', async () => {
    const model = modelName(5);
    const { aas } = stack.emulators;
    aas.setTable('myserver', model, 'FactSales', { durationMs: 20 * 60_000 });
    const id = await stack.start({ server: stack.server, model });
    await stack.host.runUntilIdle({ maxVirtualMs: 5 * 60_000 });
    expect((await stack.run(id)).body.status).toBe('refreshing');
    rotate();
    aas.inject({ operation: 'any', model, fault: { kind: 'expireTokens' } });
    await stack.finish(id);
    await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1 });
    expect(aas.requests.some((entry) => entry.model === model && entry.status === 401)).toBe(true);
  });

  it('tokens expire during a four-hour refresh (AAS checks them by the virtual clock): the run succeeds', async () => {
    const model = modelName(6);
    const { aas } = stack.emulators;
    aas.setTable('myserver', model, 'FactSales', { durationMs: 4 * hour / 3 });
    const id = await stack.start({ server: stack.server, model, maxParallelism: 1 });
    await stack.finish(id);
    const done = await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1 });
    expect(Date.parse(done.body.endedAt ?? '') - Date.parse(done.body.startedAt ?? '')).toBeGreaterThan(4 * hour);
    // The cached token outlived its virtual hour at least once, and the run got a new one.
    expect(aas.requests.filter((entry) => entry.model === model && entry.status === 401).length).toBeGreaterThanOrEqual(1);
  });
});

// The same token failures on both services: the token for Power BI is another scope
// (https://analysis.windows.net/powerbi/api/.default) through the same chain, and a 401 from
// either service makes the app drop that token and walk the chain again.
describe.each(BACKENDS)('token failures on %s', (backend) => {
  const service = () => serviceOf(stack, backend);

  it('the service refuses the token and Key Vault answers 403: AUTH_KEY_VAULT_FORBIDDEN naming the role, nothing submitted', async () => {
    const model = modelName(7);
    const { identity } = stack.emulators;
    service().inject({ operation: 'listRefreshes', model, fault: { kind: 'expireTokens' } });
    identity.faults.keyVaultForbidden = true;
    try {
      const id = await stack.start({ ...runTarget(stack, model, backend) });
      await stack.finish(id);
      await expectFinalState(stack, id, model, { status: 'failed', code: 'AUTH_KEY_VAULT_FORBIDDEN', errorText: 'Key Vault Secrets User', submitted: 0, backend });
      expect(service().requests.filter((entry) => entry.model === model && entry.status === 401)).toHaveLength(1);
    } finally {
      identity.faults.keyVaultForbidden = false;
    }
  });

  it('secret rotated mid-run, old tokens refused: the run picks up the new secret and succeeds with one refresh', async () => {
    const model = modelName(8);
    service().setTable('myserver', model, 'FactSales', { durationMs: 20 * 60_000 });
    const id = await stack.start({ ...runTarget(stack, model, backend) });
    await stack.host.runUntilIdle({ maxVirtualMs: 5 * 60_000 });
    expect((await stack.run(id)).body.status).toBe('refreshing');
    rotate();
    service().inject({ operation: 'any', model, fault: { kind: 'expireTokens' } });
    await stack.finish(id);
    await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1, backend });
    expect(service().requests.some((entry) => entry.model === model && entry.status === 401)).toBe(true);
  });

  it('a token refused only on the last poll before the deadline: timedOut as RUN_TIMED_OUT, not blamed on the identity (the cancel and the last read got through)', async () => {
    const model = modelName(9);
    service().setTable('myserver', model, 'FactSales', { durationMs: 3 * hour });
    const id = await stack.start({ ...runTarget(stack, model, backend), sync: false, timeout: 'PT30M' });
    const deadline = Date.parse((await stack.run(id)).body.deadline ?? '');
    // The next wake-up is the poll at (or past) the deadline: the last one before the run cancels.
    await stepUntil(stack.host, async () => Date.parse((await stack.run(id)).body.nextPollAt ?? '') >= deadline, 'last poll before the deadline scheduled');
    const refusedBefore = service().requests.filter((entry) => entry.model === model && entry.status === 401).length;
    service().inject({ operation: 'getRefresh', model, times: 1, fault: { kind: 'expireTokens' } });
    await stack.finish(id);
    expect(service().requests.filter((entry) => entry.model === model && entry.status === 401)).toHaveLength(refusedBefore + 1);
    const done = await expectFinalState(stack, id, model, { status: 'timedOut', code: 'RUN_TIMED_OUT', submitted: 1, backend });
    expect(done.body.error?.message).not.toMatch(/identity/);
    expect(service().countRequests('cancelRefresh', model)).toBe(1);
    expect(done.body.refreshStatus).toBe('cancelled');
  });
});
