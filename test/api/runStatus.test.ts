import type { RunView } from '../../src/api/runView';
import { modelName, startAppStack, type AppStack } from '../support/appStack';

// What a poller of GET /api/refreshes/{id} sees while a run is going: a Retry-After that follows
// the run's next poll of AAS, and `cancelling` while a cancel is being carried out.

let stack: AppStack;

beforeAll(async () => {
  // Virtual time starts at the real now: Retry-After is computed from the app's own clock.
  stack = await startAppStack({ clockStart: Date.now(), modelCount: 2, settings: { POLL_MIN_INTERVAL_SECONDS: '300', POLL_MAX_INTERVAL_SECONDS: '600' } });
});

afterAll(async () => {
  await stack?.stop();
});

describe('Retry-After on 202', () => {
  it('follows the next poll of AAS, not a fixed 10 s', async () => {
    const id = await stack.start({ server: stack.server, model: modelName(1) });
    // Every step up to the first poll's timer, without moving virtual time.
    await stack.host.runUntilIdle({ maxVirtualMs: 0 });
    const answer = await stack.run(id);
    expect(answer.status).toBe(202);
    expect(answer.body.status).toBe('refreshing');
    const nextPollAt = Date.parse(answer.body.nextPollAt ?? '');
    const retryAfter = Number(answer.headers.get('retry-after'));
    const untilPoll = Math.ceil((nextPollAt - Date.now()) / 1000);
    expect(untilPoll).toBeGreaterThan(200); // the first poll is POLL_MIN_INTERVAL_SECONDS (300 s) away
    expect(retryAfter).toBeGreaterThanOrEqual(untilPoll);
    expect(retryAfter).toBeLessThanOrEqual(untilPoll + 3);
    const final = await stack.finish(id);
    expect(final.body.status).toBe('succeeded');
    expect(final.headers.get('retry-after')).toBeNull();
  });
});

describe('a cancel in flight', () => {
  it('shows the run as cancelling, with no poll due, until AAS has answered the cancel', async () => {
    const model = modelName(2);
    const id = await stack.start({ server: stack.server, model, sync: false });
    await stack.host.runUntilIdle({ maxVirtualMs: 0 });
    expect((await stack.run(id)).body.status).toBe('refreshing');
    // AAS throttles the cancel: the run waits out Retry-After (120 s) before its next try.
    stack.emulators.aas.inject({ operation: 'cancelRefresh', model, fault: { status: 429, retryAfterSeconds: 120 } });
    expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    await stack.host.runUntilIdle({ maxVirtualMs: 60_000 });
    expect(stack.emulators.aas.requests.filter((entry) => entry.operation === 'cancelRefresh' && entry.model === model).map((entry) => entry.status)).toEqual([429]);

    const during = await stack.run(id);
    expect(during.status).toBe(202);
    expect(during.body).toMatchObject<Partial<RunView>>({ status: 'cancelling' });
    expect(during.body.nextPollAt).toBeUndefined();
    expect(during.headers.get('retry-after')).toBe('10');
    const listed = (await stack.request('GET', `refreshes?status=cancelling&model=${model}`)).body as { runs: RunView[] };
    expect(listed.runs.map((run) => run.id)).toEqual([id]);

    const final = await stack.finish(id);
    expect(final.body.status).toBe('cancelled');
    expect(stack.emulators.aas.requests.filter((entry) => entry.operation === 'cancelRefresh' && entry.model === model).map((entry) => entry.status)).toEqual([429, 200]);
    expect(JSON.stringify(final.body)).not.toContain('"cancelling"');
  });
});
