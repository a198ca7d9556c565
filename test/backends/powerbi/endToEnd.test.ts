import { modelName, startAppStack, type AppStack } from '../../support/appStack';

// A Power BI run through the whole app: POST /api/refreshes on the local durable host, the real
// orchestrator and activities, the identity chain (managed identity → Key Vault → service
// principal → a Power BI token) and the Power BI emulator over TLS, in virtual time.
let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 3 });
});
afterAll(async () => {
  await stack?.stop();
});
afterEach(() => stack.emulators.powerbi.reset());

describe('a Power BI run end to end', () => {
  it('names the workspace and model by name, resolves them once, refreshes, syncs the replicas and reports succeeded', async () => {
    const before = stack.emulators.powerbi.countRequests('listGroups');
    const id = await stack.start({ workspace: 'myserver', semanticModel: modelName(1), type: 'full', objects: [{ table: 'DimDate' }], sync: true, timeout: 'PT2H', callbackUrl: stack.callbackUrl });
    const run = await stack.finish(id);
    expect(run.body).toMatchObject({ status: 'succeeded', backend: 'powerbi', refreshStatus: 'succeeded', objects: [{ table: 'DimDate', status: 'succeeded' }] });
    expect(run.body).not.toHaveProperty('aasStatus');
    // Resolved once at POST: one groups look-up for the whole run.
    expect(stack.emulators.powerbi.countRequests('listGroups') - before).toBe(1);
    // The run records the ids it resolved, and its refresh is the one Power BI ran.
    const view = run.body as unknown as { workspace: string; semanticModel: string; workspaceId: string; semanticModelId: string };
    expect(view).toMatchObject({ workspace: 'myserver', semanticModel: modelName(1), workspaceId: expect.stringMatching(/^[0-9a-f-]{36}$/), semanticModelId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(stack.emulators.powerbi.refreshes(view.semanticModelId)[0]).toMatchObject({ refreshId: run.body.refreshId, status: 'succeeded' });
    expect(stack.emulators.powerbi.countRequests('submitSync')).toBeGreaterThanOrEqual(1);
    expect(run.text).toMatch(/qso:\d+/);
    const callback = stack.callbacks.find((entry) => JSON.stringify(entry.body).includes(id));
    expect(callback?.body).toMatchObject({ StatusCode: '200' });
  });

  it('a table that fails: failed with REFRESH_FAILED and the engine message', async () => {
    stack.emulators.powerbi.applyScenario('fail-table', { workspace: 'myserver', dataset: modelName(2), table: 'DimDate' });
    const id = await stack.start({ workspace: 'myserver', semanticModel: modelName(2), objects: [{ table: 'DimDate' }], sync: false, timeout: 'PT2H' });
    const run = await stack.finish(id);
    expect(run.body).toMatchObject({ status: 'failed', refreshStatus: 'failed', error: { code: 'REFRESH_FAILED' } });
    expect(run.body.messages.length).toBeGreaterThan(0);
  });

  it('a refresh someone else runs: onConflict "fail" ends MODEL_BUSY at once', async () => {
    stack.emulators.powerbi.applyScenario('busy', { workspace: 'myserver', dataset: modelName(3), durationSeconds: 600 });
    const id = await stack.start({ workspace: 'myserver', semanticModel: modelName(3), sync: false, timeout: 'PT2H', onConflict: 'fail' });
    const run = await stack.finish(id, 60_000);
    expect(run.body).toMatchObject({ status: 'failed', error: { code: 'MODEL_BUSY' } });
  });

  it('an unknown workspace name is refused at POST with 400 naming it', async () => {
    const answer = await stack.request('POST', 'refreshes', { body: { workspace: 'Nowhere', semanticModel: modelName(1) } });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: { code: 'POWERBI_NOT_FOUND', message: `No workspace named "Nowhere" is visible to this app: check the name, and that the app's service principal has a role in the workspace.` },
    });
  });
});
