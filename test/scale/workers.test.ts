import type { RunView } from '../../src/api/runView';
import { untilDefined } from '../support/virtualTime';
import { MODELS, modelName, overlapping, SERVER_NAME, startScaleStack, type ScaleStack } from './support';

/**
 * Issue 12's proof: several workers on one store (as Functions instances on one task hub), 200
 * POSTs for 20 models spread across them. One run per model at a time is kept by the engine (the
 * modelclaim entity), not by any one process: `fail` gives one 202 per model and 409 for the rest,
 * `wait` runs every request, one after another, in arrival order; a worker killed with SIGKILL
 * in the middle loses nothing. What AAS saw is the judge: one refresh per run, never two at once.
 */
jest.setTimeout(120_000);

const POSTS_PER_MODEL = 10;

describe('one run per model across workers on one store', () => {
  let stack: ScaleStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('2 workers, onConflict "fail": 200 concurrent POSTs give one 202 per model and 409 MODEL_BUSY naming it for the other 180', async () => {
    stack = await startScaleStack(2, { refreshMs: 8_000 });
    const { server } = stack;
    const workers = stack.live();
    const posts = Array.from({ length: MODELS * POSTS_PER_MODEL }, (_, i) => ({ model: modelName(i % MODELS), worker: workers[i % workers.length] }));
    const answers = await Promise.all(posts.map(({ model, worker }) => stack!.call(worker!, 'POST', 'refreshes', { server, model, onConflict: 'fail' })));

    const accepted = new Map<string, string>();
    for (const [i, answer] of answers.entries()) {
      const model = posts[i]?.model ?? '';
      if (answer.status === 202) {
        expect(accepted.has(model)).toBe(false);
        accepted.set(model, String(answer.body.id));
      }
    }
    expect(accepted.size).toBe(MODELS);
    for (const [i, answer] of answers.entries()) {
      if (answer.status === 202) continue;
      expect(answer.status).toBe(409);
      const error = answer.body.error as { code: string; activeRunId: string };
      expect(error.code).toBe('MODEL_BUSY');
      expect(error.activeRunId).toBe(accepted.get(posts[i]?.model ?? ''));
    }

    const views = await stack.waitForEnd([...accepted.values()], 60_000);
    expect([...views.values()].map((view) => view.status)).toEqual([...accepted.values()].map(() => 'succeeded'));
    for (let m = 0; m < MODELS; m += 1) expect(stack.emulators.aas.refreshes(SERVER_NAME, modelName(m))).toHaveLength(1);
  });

  it('4 workers, onConflict "wait", one worker SIGKILLed mid-way: all 200 run, one at a time per model, in arrival order, one refresh each', async () => {
    stack = await startScaleStack(4, { refreshMs: 300, leaseMs: 2_000 });
    const { server } = stack;
    const ids: string[][] = Array.from({ length: MODELS }, () => []);
    let sent = 0;
    let killed = false;
    // Per model one POST after another (so arrival order is the order sent); the models in parallel.
    await Promise.all(
      Array.from({ length: MODELS }, async (_, m) => {
        for (let k = 0; k < POSTS_PER_MODEL; k += 1) {
          if (!killed && sent >= (MODELS * POSTS_PER_MODEL) / 2) {
            killed = true;
            await stack!.pool.workers[1]?.kill('SIGKILL');
          }
          // Requests go to workers 0, 2 and 3; worker 1 only runs orchestrations and entities, so
          // killing it loses no answer in flight (a load balancer would retry those anyway).
          const targets = stack!.live().filter((candidate) => candidate.index !== 1);
          const worker = targets[(m + k) % targets.length];
          const answer = await stack!.call(worker!, 'POST', 'refreshes', { server, model: modelName(m), onConflict: 'wait' });
          expect(answer.status).toBe(202);
          ids[m]?.push(String(answer.body.id));
          sent += 1;
        }
      }),
    );
    expect(killed).toBe(true);

    const all = ids.flat();
    const views = await stack.waitForEnd(all, 90_000);
    expect(views.size).toBe(all.length);
    expect([...views.values()].filter((view) => view.status !== 'succeeded')).toEqual([]);
    for (let m = 0; m < MODELS; m += 1) {
      const refreshes = stack.emulators.aas.refreshes(SERVER_NAME, modelName(m));
      expect(refreshes).toHaveLength(POSTS_PER_MODEL);
      expect(overlapping(refreshes)).toBe(0);
      // Arrival order: the runs' refreshes started in the order their POSTs were answered.
      const byStart = [...(ids[m] ?? [])].sort((a, b) => Date.parse(views.get(a)?.refreshStartTime ?? '') - Date.parse(views.get(b)?.refreshStartTime ?? ''));
      expect(byStart).toEqual(ids[m]);
      // One refresh per run: every run reports its own refresh id.
      expect(new Set((ids[m] ?? []).map((id) => views.get(id)?.refreshId)).size).toBe(POSTS_PER_MODEL);
    }
    // No two runs ever raced to submit: AAS never refused a submit as busy.
    expect(stack.emulators.aas.requests.filter((entry) => entry.operation === 'submitRefresh' && entry.status === 409)).toEqual([]);
  });

  it('a terminated run frees its model: the run waiting on it starts within one poll interval', async () => {
    stack = await startScaleStack(2, { refreshMs: 60_000 });
    const { server } = stack;
    const [first, second] = stack.live();
    const holder = await stack.call(first!, 'POST', 'refreshes', { server, model: modelName(0), onConflict: 'wait' });
    const waiter = await stack.call(second!, 'POST', 'refreshes', { server, model: modelName(0), onConflict: 'wait' });
    expect([holder.status, waiter.status]).toEqual([202, 202]);
    const holderId = String(holder.body.id);
    const waiterId = String(waiter.body.id);
    const view = async (id: string) => (await stack!.call(second!, 'GET', `refreshes/${id}`)).body as unknown as RunView;
    const inStatus = (id: string, status: string) => async () => {
      const current = await view(id);
      return current.status === status ? current : undefined;
    };
    await untilDefined(inStatus(holderId, 'refreshing'), 'the holder refreshes', 10_000, 100);
    expect((await view(waiterId)).status).toBe('waiting');

    // Terminate through the Durable API (what an operator does in the portal); AAS keeps the
    // refresh, so the emulator forgets it, as if it had ended.
    const terminated = await fetch(`${first!.rpcBaseUrl}instances/${holderId}/terminate?reason=operator`, { method: 'POST' });
    expect(terminated.status).toBe(202);
    stack.emulators.aas.forgetRefreshes(SERVER_NAME, modelName(0));
    await untilDefined(inStatus(waiterId, 'refreshing'), 'the waiting run refreshes', 10_000, 100);
    // Measured by the engine and AAS, not by this loop: from the holder's termination (the last
    // update of its instance) to the waiting run's refresh submit in the AAS emulator's log.
    const holderView = await untilDefined(inStatus(holderId, 'cancelled'), 'the holder shows as ended', 10_000, 100);
    const submit = stack.emulators.aas.requests.find((entry) => entry.operation === 'submitRefresh' && entry.model === modelName(0) && entry.status === 202 && entry.at > Date.parse(holderView.lastUpdatedAt));
    expect(submit).toBeDefined();
    // One poll interval (POLL_MAX_INTERVAL_SECONDS = 2 here), plus the time to claim and submit.
    expect((submit?.at ?? Number.POSITIVE_INFINITY) - Date.parse(holderView.lastUpdatedAt)).toBeLessThan(2_000 + 2_500);
  });
});
