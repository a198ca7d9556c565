import type { RunView } from '../../../src/api/runView';
import { SAMPLE_DATASET_ID, SAMPLE_DATASET_NAME, SAMPLE_WORKSPACE_NAME } from '../../../local/emulators/powerbi';
import { devStackFixture } from './devStackFixture';

// `npm start` refreshes the sample semantic model too: the app, on the local durable host, resolves
// the workspace and model names on the Power BI emulator with the token the identity emulator
// issues for the Power BI scope, submits an enhanced refresh, polls it and syncs the replicas.
// One app start per file: the app reads its settings once when it loads.

const { start } = devStackFixture();

it('a request naming the sample workspace and semantic model ends succeeded on the Power BI emulator', async () => {
  const stack = await start({ readLocalSettings: false, settings: { POLL_MIN_INTERVAL_SECONDS: '1', POLL_MAX_INTERVAL_SECONDS: '2' } });
  const headers = { 'x-functions-key': stack.functionKey, 'content-type': 'application/json' };
  const body = { workspace: SAMPLE_WORKSPACE_NAME, semanticModel: SAMPLE_DATASET_NAME, type: 'full', objects: [{ table: 'DimCurrency' }], callbackUrl: `${stack.callbackSink}powerbi-run` };
  const started = await fetch(`${stack.apiBase}/refreshes`, { method: 'POST', headers, body: JSON.stringify(body) });
  expect(started.status).toBe(202);
  const { id } = (await started.json()) as { id: string };
  // Waits for the run's callback (bounded): 2 s queued + 5 s of DimCurrency + the replica sync (10 s).
  const deadline = Date.now() + 90_000;
  while (stack.emulators.aas.callbacks.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  expect(stack.emulators.aas.callbacks).toEqual([expect.objectContaining({ path: '/_emulator/callbacks/powerbi-run', body: expect.objectContaining({ Output: expect.objectContaining({ runId: id, status: 'succeeded' }) as unknown }) as unknown })]);
  const run = (await (await fetch(`${stack.apiBase}/refreshes/${id}`, { headers })).json()) as RunView;
  expect(run).toMatchObject({ status: 'succeeded' });
  expect(stack.emulators.powerbi.refreshes(SAMPLE_DATASET_ID)).toEqual([expect.objectContaining({ status: 'succeeded', refreshType: 'ViaEnhancedApi', objects: [{ table: 'DimCurrency', partition: 'DimCurrency', status: 'succeeded' }] })]);
  const operations = stack.emulators.powerbi.requests.map((entry) => `${entry.operation}:${entry.status}`);
  expect(operations).toEqual(expect.arrayContaining(['listGroups:200', 'listDatasets:200', 'submitRefresh:202']));
  expect(stack.emulators.powerbi.requests.every((entry) => entry.authorized)).toBe(true);
});
