import { startLocalHost, type LocalHost } from '../../local/durable-host';
import { VirtualClock } from '../../local/clock';
import { claimKey, MODEL_CLAIM_ENTITY, type ModelClaimState } from '../../src/claims/modelClaim';
import { TIMER_EARLY_BY_MS } from '../../src/orchestration/durableTimer';
import type { ClaimerInput } from './fixtures/claimApp';

/**
 * The model claim through the real durable-functions entity protocol on the local host: runs
 * that claim one model are granted one at a time, in arrival order, and a run that ends without
 * releasing (terminated) frees the model within one backstop interval.
 */
describe('model claim: a Durable entity per model', () => {
  let host: LocalHost;
  let clock: VirtualClock;
  const claim = { key: claimKey('srv|Sales'), model: 'srv|Sales' };

  beforeEach(async () => {
    clock = new VirtualClock();
    host = await startLocalHost({ entry: 'test/scale/fixtures/claimApp.ts', clock, port: 0 });
  });
  afterEach(async () => {
    await host.stop();
  });

  const deadline = (seconds = 3600) => new Date(clock.now() + seconds * 1000).toISOString();
  const start = (id: string, mode: ClaimerInput['mode'], seconds?: number) => host.startNew('Claimer', { claim, mode, deadline: deadline(seconds) } satisfies ClaimerInput, id);
  const phase = (id: string) => (host.getInstance(id)?.customStatus as { phase?: string } | undefined)?.phase;
  const working = (ids: string[]) => ids.filter((id) => phase(id) === 'working' && host.getInstance(id)?.status === 'Running');
  async function entity(): Promise<ModelClaimState> {
    const response = await fetch(`${host.rpcBaseUrl}entities/${MODEL_CLAIM_ENTITY}/${claim.key}`);
    expect(response.status).toBe(200);
    return (await response.json()) as ModelClaimState;
  }
  async function idle(): Promise<void> {
    await host.runUntilIdle({ maxVirtualMs: 0 });
  }

  it('grants one run at a time, in arrival order, each woken by the release of the one before (no timer needed)', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `run-${i}`);
    for (const id of ids) {
      start(id, 'wait');
      // Arrival order: each run's claim reaches the entity before the next run starts.
      await idle();
    }
    const order: string[] = [];
    for (let step = 0; step < ids.length; step += 1) {
      expect(working(ids)).toHaveLength(1);
      const current = working(ids)[0] ?? '';
      order.push(current);
      host.raiseEvent(current, 'finish', {});
      await idle();
    }
    expect(order).toEqual(ids);
    expect(ids.map((id) => host.getInstance(id)?.output)).toEqual(ids.map(() => 'done'));
    expect(await entity()).toMatchObject({ queue: [] });
    expect((await entity()).holder).toBeUndefined();
  });

  it('refuses a run with onConflict "fail" while another holds the model, naming the holder', async () => {
    start('holder', 'fail');
    await idle();
    start('second', 'fail');
    await idle();
    expect(host.getInstance('second')).toMatchObject({ status: 'Completed', output: 'refused', customStatus: { claim: { state: 'busy', holder: 'holder' } } });
    expect(working(['holder', 'second'])).toEqual(['holder']);
  });

  it('a cancelled waiting run leaves the queue; the next one still gets the model', async () => {
    for (const id of ['a', 'b', 'c']) {
      start(id, 'wait');
      await idle();
    }
    expect((await entity()).queue.map((claimant) => claimant.runId)).toEqual(['b', 'c']);
    host.raiseEvent('b', 'cancel', {});
    await idle();
    expect(host.getInstance('b')?.output).toBe('cancelled');
    expect((await entity()).queue.map((claimant) => claimant.runId)).toEqual(['c']);
    host.raiseEvent('a', 'finish', {});
    await idle();
    expect(working(['a', 'b', 'c'])).toEqual(['c']);
  });

  it('a terminated holder frees the model: the waiting run starts within one backstop interval (at most 4 s here, + 1 s timer margin)', async () => {
    start('holder', 'wait');
    await idle();
    start('waiter', 'wait');
    await idle();
    const terminated = await fetch(`${host.rpcBaseUrl}instances/holder/terminate?reason=operator`, { method: 'POST' });
    expect(terminated.status).toBe(202);
    await idle();
    const terminatedAt = clock.now();
    expect(phase('waiter')).toBe('claiming');
    // Only the waiter's timers are left: step through them until it works.
    for (let step = 0; step < 10 && phase('waiter') !== 'working'; step += 1) await host.runUntilIdle({ maxVirtualMs: 1_000 + TIMER_EARLY_BY_MS });
    expect(phase('waiter')).toBe('working');
    // A timer wakes no sooner than asked, so up to 1 s later (src/orchestration/durableTimer.ts).
    expect(clock.now() - terminatedAt).toBeLessThanOrEqual(4_000 + TIMER_EARLY_BY_MS);
    expect((await entity()).holder?.runId).toBe('waiter');
  });

  it('never lets a claim outlive its lease: a holder past its deadline is replaced by the next claimant', async () => {
    start('short', 'fail', 10);
    await idle();
    clock.advanceBy(11_000);
    start('after', 'fail');
    await idle();
    expect(phase('after')).toBe('working');
  });
});
