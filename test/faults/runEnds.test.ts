import { holdAnswer } from '../support/aasGate';
import { modelName, startAppStack, type AppStack } from '../support/appStack';
import { stepUntil } from '../support/virtualTime';
import { BACKENDS, runTarget, expectFinalState, ownRefreshes, requestsOf, serviceOf, serviceRequestsOf } from './invariants';

// Fault rows for issue 11: every run ends true and promptly, and leaves nothing behind — a
// callback receiver that is down, a cancel that comes too late or too early, a huge Retry-After.
// Production polling defaults (POLL_MIN_INTERVAL_SECONDS=30, POLL_MAX_INTERVAL_SECONDS=600).

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 23 });
});
afterAll(async () => {
  await stack?.stop();
});

const logged = (event: string, runId: string) => stack.logs.some((line) => line.includes(` ${event} `) && line.includes(runId));

describe('callback receiver down', () => {
  it('frees the model and logs the outcome the moment the run times out, while the callback is retried as documented', async () => {
    const model = modelName(1);
    stack.callbackStatus.code = 503;
    try {
      stack.emulators.aas.setTable('myserver', model, 'FactSales', { durationMs: 10 * 60_000 });
      const path = `/callback?row=receiver-down`;
      const id = await stack.start({ server: stack.server, model, sync: false, timeout: 'PT2M', callbackUrl: `https://${new URL(stack.callbackUrl).host}${path}` });
      const ours = () => stack.callbacks.filter((callback) => callback.path === path);
      await stepUntil(stack.host, () => ours().length === 1, 'first callback attempt');
      const endedAt = Date.parse((await stack.run(id)).body.endedAt ?? '');

      // The outcome is decided: logged now, the model free, the run no longer cancellable.
      expect(logged('run.timedOut', id)).toBe(true);
      expect((await stack.run(id)).body).toMatchObject({ status: 'timedOut', error: { code: 'RUN_TIMED_OUT' } });
      expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(409);
      const next = await stack.request('POST', 'refreshes', { body: { server: stack.server, model, sync: false, objects: [{ table: 'DimDate' }] } });
      expect(next.status).toBe(202);

      // The callback: 6 attempts, 10 s after the first failure and doubling (README). Durable's
      // retry timers fire 0.9 s early, as on Azure Storage (test/durable-host/timers.test.ts).
      await stack.finish(id);
      const attempts = ours();
      expect(attempts).toHaveLength(6);
      expect(attempts.slice(1).map((attempt, i) => attempt.at - (attempts[i]?.at ?? 0))).toEqual([10_000, 20_000, 40_000, 80_000, 160_000].map((ms) => ms - 900));
      expect(attempts[0]?.at).toBe(endedAt);
      expect((await stack.run(id)).body.callback).toMatchObject({ delivered: false });
      expect(logged('callback.failed', id)).toBe(true);
      const nextId = (next.body as { id: string }).id;
      expect((await stack.run(nextId)).body.status).toBe('succeeded');
      // Two runs, two refreshes: the timed-out one cancelled in AAS, nothing left running.
      expect(stack.emulators.aas.refreshes('myserver', model).map((refresh) => refresh.status).sort()).toEqual(['cancelled', 'succeeded']);
      expect(stack.emulators.aas.activeRefresh('myserver', model)).toBeUndefined();
    } finally {
      stack.callbackStatus.code = 200;
    }
  });

  it('a run queued behind one whose callback is failing starts at once', async () => {
    const model = modelName(2);
    stack.callbackStatus.code = 503;
    try {
      const path = `/callback?row=queued`;
      const first = await stack.start({ server: stack.server, model, sync: false, objects: [{ table: 'DimDate' }], callbackUrl: `https://${new URL(stack.callbackUrl).host}${path}` });
      const second = await stack.start({ server: stack.server, model, sync: false, objects: [{ table: 'DimDate' }], onConflict: 'wait' });
      await stepUntil(stack.host, () => stack.callbacks.some((callback) => callback.path === path), 'first callback attempt');
      const firstEnded = Date.parse((await stack.run(first)).body.endedAt ?? '');
      await stepUntil(stack.host, async () => (await stack.run(second)).body.status === 'refreshing', 'second run refreshing');
      // Within one wait of the queued run (30 s), not after the callback's 5 minutes of retries.
      expect(stack.clock.now() - firstEnded).toBeLessThanOrEqual(60_000);
      expect(requestsOf(stack, 'submitRefresh', model).filter((entry) => entry.status === 202)).toHaveLength(2);
      await stack.finish(second);
    } finally {
      stack.callbackStatus.code = 200;
    }
  });
});

describe('cancel after AAS finished', () => {
  it('a cancel that reaches a refresh AAS already finished ends succeeded, synced, and tells the caller so', async () => {
    const model = modelName(3);
    const aas = stack.emulators.aas;
    aas.setTable('myserver', model, 'DimDate', { durationMs: 5_000 });
    const path = '/callback?row=cancel-after-success';
    const id = await stack.start({ server: stack.server, model, objects: [{ table: 'DimDate' }], sync: true, callbackUrl: `https://${new URL(stack.callbackUrl).host}${path}` });
    await stepUntil(stack.host, async () => (await stack.run(id)).body.status === 'refreshing', 'submitted');
    stack.clock.advanceBy(15_000);
    await stack.host.runUntilIdle({ maxVirtualMs: 0 });
    // AAS has finished; the run waits for its first poll (30 s).
    expect(aas.refreshes('myserver', model)[0]?.status).toBe('succeeded');
    expect((await stack.run(id)).body.status).toBe('refreshing');
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    const done = await stack.finish(id);
    expect(done.body).toMatchObject({ status: 'succeeded', aasStatus: 'succeeded', syncState: 2 });
    expect(done.body.error).toBeUndefined();
    expect(done.body.note).toMatch(/cancel came too late.*synced as asked/);
    expect(requestsOf(stack, 'submitSync', model)).toHaveLength(1);
    expect(stack.callbacks.filter((callback) => callback.path === path).map((callback) => (callback.body as { StatusCode: string }).StatusCode)).toEqual(['200']);
    await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1 });
  });

  it('a run that timed out shows the objects as AAS left them after the cancel', async () => {
    const model = modelName(4);
    stack.emulators.aas.setTable('myserver', model, 'FactSales', { durationMs: 10 * 60_000 });
    const id = await stack.start({ server: stack.server, model, sync: false, timeout: 'PT2M' });
    const done = await stack.finish(id);
    await expectFinalState(stack, id, model, { status: 'timedOut', code: 'RUN_TIMED_OUT', submitted: 1 });
    expect(done.body.aasStatus).toBe('cancelled');
    const statuses = new Set(done.body.objects.map((object) => object.status));
    expect(statuses.has('inProgress') || statuses.has('notStarted')).toBe(false);
    expect(done.body.objectCounts).not.toHaveProperty('inProgress');
  });
});

describe('cancel before submit, under retries', () => {
  /** Starts a run, lets it fail `operation` once, then DELETEs it while it backs off; returns the virtual time of the DELETE. */
  async function cancelDuringBackoff(model: string, operation: 'listRefreshes' | 'submitRefresh') {
    const id = await stack.start({ server: stack.server, model, sync: false });
    await stepUntil(stack.host, () => requestsOf(stack, operation, model).length >= 1, `first ${operation}`);
    expect((await stack.run(id)).body.status).toBe('pending');
    const requestsBefore = requestsOf(stack, operation, model).length;
    const at = stack.clock.now();
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    const done = await stack.finish(id);
    return { id, at, done, requestsBefore };
  }

  it('503s on the submit: the cancel ends the backoff at once and nothing is submitted', async () => {
    const model = modelName(5);
    stack.emulators.aas.inject({ operation: 'submitRefresh', model, times: 4, fault: { status: 503 } });
    const { id, at, done, requestsBefore } = await cancelDuringBackoff(model, 'submitRefresh');
    await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', submitted: 0, errorText: 'before a refresh was submitted' });
    expect(requestsOf(stack, 'submitRefresh', model)).toHaveLength(requestsBefore);
    expect(Date.parse(done.body.endedAt ?? '')).toBe(at);
  });

  it('503s on the history read: the cancel stops the run before any submit', async () => {
    const model = modelName(6);
    stack.emulators.aas.inject({ operation: 'listRefreshes', model, times: 4, fault: { status: 503 } });
    const { id, at, done } = await cancelDuringBackoff(model, 'listRefreshes');
    await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', submitted: 0 });
    expect(requestsOf(stack, 'submitRefresh', model)).toHaveLength(0);
    expect(Date.parse(done.body.endedAt ?? '')).toBe(at);
  });

  it('a submit AAS took whose answer was lost, then a cancel: the refresh is found and cancelled, nothing left running', async () => {
    const model = modelName(7);
    stack.emulators.aas.inject({ operation: 'submitRefresh', model, times: 1, fault: { kind: 'resetAfterProcessing' } });
    const { id } = await cancelDuringBackoff(model, 'submitRefresh');
    await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', submitted: 1, errorText: 'the AAS refresh was cancelled' });
    expect(stack.emulators.aas.refreshes('myserver', model)[0]?.status).toBe('cancelled');
  });
});

describe('cancel while the submit is out', () => {
  it('the submit is waited for, then what it submitted is cancelled: nothing left running', async () => {
    const model = modelName(16);
    // Hold the submit activity's own history read (the model's second listRefreshes) until the DELETE is in.
    let reads = 0;
    const held = holdAnswer(stack.emulators.aas, (entry) => entry.operation === 'listRefreshes' && entry.model === model && ++reads === 2);
    const id = await stack.start({ server: stack.server, model, sync: false });
    const done = stack.finish(id);
    await held.reached;
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    held.release();
    await done;
    await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', submitted: 1, errorText: 'the AAS refresh was cancelled' });
    expect(stack.emulators.aas.refreshes('myserver', model)[0]?.status).toBe('cancelled');
  });
});

describe('identity failures mid-run', () => {
  type Breakage = { name: string; code: string; fixText: RegExp; breakIt: () => void; fixIt: () => void };
  let rotation = 0;
  const breakages = (): Breakage[] => {
    const { identity, servicePrincipal } = stack.emulators;
    const rotate = () => {
      rotation += 1;
      identity.rotateSecret(identity.secretName, servicePrincipal.clientId, `rotated-secret-${rotation}-${'y'.repeat(24)}`);
    };
    return [
      { name: 'Key Vault 403', code: 'AUTH_KEY_VAULT_FORBIDDEN', fixText: /Key Vault Secrets User/, breakIt: () => void (identity.faults.keyVaultForbidden = true), fixIt: () => void (identity.faults.keyVaultForbidden = false) },
      { name: 'wrong secret', code: 'AUTH_INVALID_CLIENT', fixText: /client secret/, breakIt: () => identity.setServicePrincipalSecret(servicePrincipal.clientId, 'a-secret-the-vault-does-not-have-0123456789'), fixIt: rotate },
      { name: 'managed identity down', code: 'AUTH_MANAGED_IDENTITY_UNAVAILABLE', fixText: /managed identity/i, breakIt: () => void (identity.faults.managedIdentityDown = true), fixIt: () => void (identity.faults.managedIdentityDown = false) },
      { name: 'Entra 503', code: 'AUTH_TRANSIENT', fixText: /./, breakIt: () => void (identity.faults.entraUnavailable = true), fixIt: () => void (identity.faults.entraUnavailable = false) },
    ];
  };

  /** A 20-minute refresh, polled once; then the identity breaks and the cached token is refused once. */
  async function breakMidRun(model: string, breakage: Breakage, timeout: string) {
    stack.emulators.aas.setTable('myserver', model, 'FactSales', { durationMs: 20 * 60_000 });
    const id = await stack.start({ server: stack.server, model, timeout });
    await stepUntil(stack.host, async () => (await stack.run(id)).body.statusCalls >= 1, 'first poll');
    breakage.breakIt();
    stack.emulators.aas.inject({ operation: 'any', model, fault: { kind: 'expireTokens' } });
    return id;
  }

  it.each(['Key Vault 403', 'wrong secret', 'managed identity down', 'Entra 503'].map((name, index) => [name, index] as const))('%s: the run keeps polling, noting the issue, and succeeds once it is fixed', async (_name, index) => {
    const breakage = breakages()[index] as Breakage;
    const model = modelName(8 + index);
    try {
      const id = await breakMidRun(model, breakage, 'PT2H');
      await stepUntil(stack.host, async () => (await stack.run(id)).body.lastIssue?.code === breakage.code, `${breakage.name} noted on the run`);
      const during = (await stack.run(id)).body;
      expect(during.status).toBe('refreshing');
      // Well past the refresh's end in AAS: still polling, never abandoned.
      await stack.host.runUntilIdle({ maxVirtualMs: 30 * 60_000 });
      expect((await stack.run(id)).body).toMatchObject({ status: 'refreshing', lastIssue: { code: breakage.code } });
      breakage.fixIt();
      await stack.finish(id);
      await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1 });
      expect((await stack.run(id)).body.syncState).toBe(2);
    } finally {
      breakage.fixIt();
    }
  });

  it('never fixed: at the deadline the run says what to fix (Key Vault 403), having tried to cancel', async () => {
    const breakage = breakages()[0] as Breakage;
    const model = modelName(12);
    try {
      stack.emulators.aas.setTable('myserver', model, 'FactSales', { durationMs: 3 * 3_600_000 });
      const id = await breakMidRun(model, breakage, 'PT1H');
      const done = await stack.finish(id);
      expect(done.body).toMatchObject({ status: 'timedOut', error: { code: 'AUTH_KEY_VAULT_FORBIDDEN' } });
      expect(done.body.error?.message).toMatch(/could not read the refresh's status until the deadline/);
      expect(done.body.error?.message).toMatch(breakage.fixText);
      expect(Date.parse(done.body.endedAt ?? '') - Date.parse(done.body.startedAt ?? '')).toBeGreaterThanOrEqual(3_600_000);
    } finally {
      breakage.fixIt();
    }
  });
});

describe('huge Retry-After', () => {
  it.each(['getRefresh', 'submitRefresh', 'getSync'] as const)('429 with Retry-After: 100000 on %s waits POLL_MAX_INTERVAL_SECONDS (600 s) at most', async (operation) => {
    const model = modelName(operation === 'getRefresh' ? 13 : operation === 'submitRefresh' ? 14 : 15);
    const aas = stack.emulators.aas;
    aas.setTable('myserver', model, 'DimDate', { durationMs: 5_000 });
    aas.inject({ operation, model, times: 1, fault: { status: 429, retryAfterSeconds: 100_000 } });
    const id = await stack.start({ server: stack.server, model, objects: [{ table: 'DimDate' }], sync: true, timeout: 'PT12H' });
    const done = await stack.finish(id);
    expect(done.body).toMatchObject({ status: 'succeeded', syncState: 2 });
    const calls = requestsOf(stack, operation, model).filter((entry) => entry.at >= Date.parse(done.body.startedAt ?? ''));
    const throttled = calls.findIndex((entry) => entry.status === 429);
    expect(throttled).toBeGreaterThanOrEqual(0);
    const wait = (calls[throttled + 1]?.at ?? Number.POSITIVE_INFINITY) - (calls[throttled]?.at ?? 0);
    expect(wait).toBeGreaterThanOrEqual(600_000);
    expect(wait).toBeLessThanOrEqual(600_000 + 1_000);
    expect(Date.parse(done.body.endedAt ?? '') - Date.parse(done.body.startedAt ?? '')).toBeLessThan(30 * 60_000);
  });
});

// The same ends on both services (Model17..23, served by both emulators).
describe.each(BACKENDS)('run ends on %s', (backend) => {
  const service = () => serviceOf(stack, backend);
  const target = (model: string) => runTarget(stack, model, backend);

  it('a cancel that reaches a refresh the service already finished ends succeeded, synced, and says the cancel came too late', async () => {
    const model = modelName(17);
    service().setTable('myserver', model, 'DimDate', { durationMs: 5_000 });
    const id = await stack.start({ ...target(model), objects: [{ table: 'DimDate' }], sync: true });
    await stepUntil(stack.host, async () => (await stack.run(id)).body.status === 'refreshing', 'submitted');
    stack.clock.advanceBy(15_000);
    await stack.host.runUntilIdle({ maxVirtualMs: 0 });
    // The service has finished; the run waits for its first poll (30 s).
    expect(ownRefreshes(stack, model, backend)[0]?.status).toBe('succeeded');
    expect((await stack.run(id)).body.status).toBe('refreshing');
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    const done = await stack.finish(id);
    expect(done.body).toMatchObject({ status: 'succeeded', refreshStatus: 'succeeded', syncStatus: 'succeeded' });
    expect(done.body.note).toMatch(/cancel came too late.*synced as asked/);
    expect(serviceRequestsOf(stack, 'submitSync', model, backend)).toHaveLength(1);
    expect(ownRefreshes(stack, model, backend)[0]?.status).toBe('succeeded');
    await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1, backend });
  });

  it('a run that timed out shows the objects as the service left them after the cancel', async () => {
    const model = modelName(18);
    service().setTable('myserver', model, 'FactSales', { durationMs: 10 * 60_000 });
    const id = await stack.start({ ...target(model), sync: false, timeout: 'PT2M' });
    const done = await stack.finish(id);
    await expectFinalState(stack, id, model, { status: 'timedOut', code: 'RUN_TIMED_OUT', submitted: 1, backend });
    expect(done.body.refreshStatus).toBe('cancelled');
    expect(done.body.objects.length).toBeGreaterThan(0);
    expect(done.body.objectCounts).not.toHaveProperty('inProgress');
    expect(done.body.objectCounts).not.toHaveProperty('notStarted');
  });

  it('503s on the submit, then a cancel: the backoff ends at once and nothing is submitted', async () => {
    const model = modelName(19);
    service().inject({ operation: 'submitRefresh', model, times: 4, fault: { status: 503 } });
    const id = await stack.start({ ...target(model), sync: false });
    await stepUntil(stack.host, () => serviceRequestsOf(stack, 'submitRefresh', model, backend).length >= 1, 'first submitRefresh');
    const before = serviceRequestsOf(stack, 'submitRefresh', model, backend).length;
    const at = stack.clock.now();
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    const done = await stack.finish(id);
    await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', submitted: 0, errorText: 'before a refresh was submitted', backend });
    expect(serviceRequestsOf(stack, 'submitRefresh', model, backend)).toHaveLength(before);
    expect(Date.parse(done.body.endedAt ?? '')).toBe(at);
  });

  it('a submit the service took whose answer was lost, then a cancel: the refresh is found and cancelled, nothing left running', async () => {
    const model = modelName(20);
    service().inject({ operation: 'submitRefresh', model, times: 1, fault: { kind: 'resetAfterProcessing' } });
    const id = await stack.start({ ...target(model), sync: false });
    await stepUntil(stack.host, () => serviceRequestsOf(stack, 'submitRefresh', model, backend).length >= 1, 'first submitRefresh');
    expect((await stack.run(id)).body.status).toBe('pending');
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    await stack.finish(id);
    await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', submitted: 1, backend });
    expect(ownRefreshes(stack, model, backend)[0]?.status).toBe('cancelled');
    expect(service().countRequests('cancelRefresh', model)).toBe(1);
  });

  it.each(['getRefresh', 'submitRefresh', 'getSync'] as const)('429 with Retry-After: 100000 on %s waits POLL_MAX_INTERVAL_SECONDS (600 s) at most', async (operation) => {
    const model = modelName(operation === 'getRefresh' ? 21 : operation === 'submitRefresh' ? 22 : 23);
    service().setTable('myserver', model, 'DimDate', { durationMs: 5_000 });
    service().inject({ operation, model, times: 1, fault: { status: 429, retryAfterSeconds: 100_000 } });
    const id = await stack.start({ ...target(model), objects: [{ table: 'DimDate' }], sync: true, timeout: 'PT12H' });
    const done = await stack.finish(id);
    expect(done.body).toMatchObject({ status: 'succeeded', syncStatus: 'succeeded' });
    const calls = serviceRequestsOf(stack, operation, model, backend);
    const throttled = calls.findIndex((entry) => entry.status === 429);
    expect(throttled).toBeGreaterThanOrEqual(0);
    const wait = (calls[throttled + 1]?.at ?? Number.POSITIVE_INFINITY) - (calls[throttled]?.at ?? 0);
    expect(wait).toBeGreaterThanOrEqual(600_000);
    expect(wait).toBeLessThanOrEqual(600_000 + 1_000);
    expect(Date.parse(done.body.endedAt ?? '') - Date.parse(done.body.startedAt ?? '')).toBeLessThan(30 * 60_000);
  });
});
