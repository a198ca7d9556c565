import { modelName, startAppStack, type ApiAnswer, type AppStack } from '../support/appStack';

// Load (issue 7): 200 concurrent POST /api/refreshes over loopback for 50 models, 4 per model,
// onConflict "fail". Every answer is 202 or the documented 409 MODEL_BUSY, exactly one run per
// model is accepted, no accepted run is lost, and every one ends succeeded. Wall time and
// requests per second are printed, never asserted.

const MODELS = 50;
const PER_MODEL = 4;

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: MODELS });
});
afterAll(async () => {
  await stack?.stop();
});

interface Accepted {
  id: string;
  model: string;
  statusUrl: string;
}

interface Busy {
  error: { code: string; activeRunId: string; activeRunUrl: string };
}

test('200 concurrent POSTs for 50 models: one run per model, no lost run, all succeed', async () => {
  const models = Array.from({ length: MODELS }, (_, i) => modelName(i + 1));
  // Interleaved so that the four requests for one model are in flight among the others.
  const bodies = Array.from({ length: PER_MODEL }, () => models).flat().map((model) => ({ server: stack.server, model, onConflict: 'fail' }));

  const started = performance.now();
  const answers: ApiAnswer[] = await Promise.all(bodies.map((body) => stack.request('POST', 'refreshes', { body })));
  const postMs = performance.now() - started;

  expect(answers.filter((a) => a.status !== 202 && a.status !== 409).map((a) => `${a.status} ${a.text}`)).toEqual([]);
  const acceptedByModel = new Map<string, string[]>();
  for (const answer of answers.filter((a) => a.status === 202)) {
    const body = answer.body as Accepted;
    expect(answer.headers.get('location')).toBe(body.statusUrl);
    acceptedByModel.set(body.model, [...(acceptedByModel.get(body.model) ?? []), body.id]);
  }
  // Exactly one 202 per model: the per-model lock serialises the busy check and the start.
  expect([...acceptedByModel.keys()].sort()).toEqual(models);
  for (const ids of acceptedByModel.values()) expect(ids).toHaveLength(1);
  const runIds = new Map([...acceptedByModel].map(([model, ids]) => [model, ids[0] ?? '']));

  // Every 409 is MODEL_BUSY and names the model's accepted run.
  const busy = answers.map((answer, index) => ({ answer, model: bodies[index]?.model ?? '' })).filter(({ answer }) => answer.status === 409);
  expect(busy).toHaveLength(MODELS * (PER_MODEL - 1));
  for (const { answer, model } of busy) {
    const error = (answer.body as Busy).error;
    expect(error.code).toBe('MODEL_BUSY');
    expect(error.activeRunId).toBe(runIds.get(model));
  }

  // No lost run: each accepted id is readable and listed; exactly one instance per model exists.
  // Runs only: the model claims (modelclaim entities, one per model) are instances too.
  expect(stack.host.listInstances().filter((instance) => instance.name === 'refreshOrchestrator')).toHaveLength(MODELS);
  for (const id of runIds.values()) {
    const run = await stack.run(id);
    expect(run.status).toBe(202);
    expect(run.body.id).toBe(id);
  }
  const listed = await stack.request('GET', 'refreshes?limit=200');
  expect(listed.status).toBe(200);
  const listedIds = (listed.body as { runs: { id: string }[] }).runs.map((r) => r.id).sort();
  expect(listedIds).toEqual([...runIds.values()].sort());

  const settleStarted = performance.now();
  await stack.host.runUntilIdle({ maxVirtualMs: 48 * 3600 * 1000 });
  const settleMs = performance.now() - settleStarted;

  for (const [model, id] of runIds) {
    const run = await stack.run(id);
    expect({ model, http: run.status, status: run.body.status }).toEqual({ model, http: 200, status: 'succeeded' });
    expect(stack.emulators.aas.countRequests('submitRefresh', model)).toBe(1);
    expect(stack.emulators.aas.activeRefresh('myserver', model)).toBeUndefined();
  }

  const requests = answers.length;
  console.log(
    [
      `load: ${requests} concurrent POST /api/refreshes for ${MODELS} models over loopback`,
      `  answers: ${answers.filter((a) => a.status === 202).length} x 202, ${busy.length} x 409 MODEL_BUSY`,
      `  POST wall time ${postMs.toFixed(0)} ms (${((requests * 1000) / postMs).toFixed(0)} requests/s)`,
      `  ${MODELS} runs to completion under the virtual clock: ${settleMs.toFixed(0)} ms wall`,
    ].join('\n'),
  );
});
