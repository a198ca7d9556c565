import * as path from 'node:path';
import Database from 'better-sqlite3';
import { partitionOf } from '../../local/durable-host/store';
import { modelKey } from '../../src/api/runLookup';
import { claimKey, MODEL_CLAIM_ENTITY } from '../../src/claims/modelClaim';
import { modelName, overlapping, SERVER_NAME, startScaleStack, type ScaleStack } from '../scale/support';
import { untilDefined } from '../support/virtualTime';

/**
 * Crash row (issue 12): the worker that runs the model's holder is killed with SIGKILL while the
 * run holds the model's claim and another run waits for it. The claim belongs to the run, not the
 * worker: another worker takes the partition over once its lease expires, the holder ends with its
 * one refresh and releases, and the waiting run then refreshes. Nothing runs twice or at once.
 */
jest.setTimeout(90_000);

describe('a worker killed while it runs the holder of a model claim', () => {
  let stack: ScaleStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('the holder still ends with one refresh, releases the model, and the waiting run refreshes after it', async () => {
    stack = await startScaleStack(2, { refreshMs: 4_000, leaseMs: 1_500 });
    const { server } = stack;
    const model = modelName(3);
    const [w0, w1] = stack.live();
    const holder = await stack.call(w0!, 'POST', 'refreshes', { server, model, onConflict: 'wait' });
    expect(holder.status).toBe(202);
    const holderId = String(holder.body.id);
    const status = async (id: string, via = w0!) => String((await stack!.call(via, 'GET', `refreshes/${id}`)).body.status);
    await untilDefined(async () => ((await status(holderId)) === 'refreshing' ? true : undefined), 'the holder refreshing', 8_000, 200);

    // Which worker runs the holder: the lease owner of its partition (4 partitions, FNV-1a of the id).
    const db = new Database(path.join(stack.stateDir, 'durable.sqlite'), { readonly: true });
    const owner = (db.prepare('SELECT owner FROM partition_leases WHERE partition = ?').get(partitionOf(holderId, 4)) as { owner: string | null }).owner;
    db.close();
    const victim = [w0!, w1!].find((worker) => worker.workerId === owner);
    const survivor = [w0!, w1!].find((worker) => worker.workerId !== owner);
    expect(victim).toBeDefined();

    const waiter = await stack.call(survivor!, 'POST', 'refreshes', { server, model, onConflict: 'wait' });
    expect(waiter.status).toBe(202);
    const waiterId = String(waiter.body.id);
    expect(await status(waiterId, survivor)).toBe('waiting');
    await victim!.kill('SIGKILL');

    const views = await stack.waitForEnd([holderId, waiterId], 60_000);
    expect([views.get(holderId)?.status, views.get(waiterId)?.status]).toEqual(['succeeded', 'succeeded']);
    const refreshes = stack.emulators.aas.refreshes(SERVER_NAME, model);
    expect(refreshes).toHaveLength(2);
    expect(overlapping(refreshes)).toBe(0);
    expect(Date.parse(views.get(waiterId)?.refreshStartTime ?? '')).toBeGreaterThanOrEqual(Date.parse(views.get(holderId)?.refreshEndTime ?? ''));
    // The claim is free again.
    const entity = await fetch(`${survivor!.rpcBaseUrl}entities/${MODEL_CLAIM_ENTITY}/${claimKey(modelKey({ backend: 'aas', server, model }))}`);
    expect(entity.status).toBe(200);
    expect(await entity.json()).toMatchObject({ queue: [] });
  });
});
