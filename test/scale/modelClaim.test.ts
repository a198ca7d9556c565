import { claim, claimKey, emptyClaimState, free, MAX_QUEUED_RUNS, release, runIdPrefix, type ClaimInput, type ModelClaimState } from '../../src/claims/modelClaim';

const T0 = '2026-01-01T00:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();
const ask = (runId: string, mode: ClaimInput['mode'], now = T0, leaseUntil = at(3600)): ClaimInput => ({ runId, model: 'srv|Sales', leaseUntil, mode, now });

function apply(state: ModelClaimState, ...inputs: ClaimInput[]) {
  let current = state;
  const answers = inputs.map((input) => {
    const done = claim(current, input);
    current = done.state;
    return done.answer;
  });
  return { state: current, answers };
}

describe('model claim', () => {
  it('grants a free model, refuses a second run with fail and queues it with wait, in arrival order', () => {
    const { state, answers } = apply(emptyClaimState('srv|Sales'), ask('a', 'fail'), ask('b', 'fail'), ask('c', 'wait'), ask('d', 'wait'));
    expect(answers).toEqual([
      { state: 'granted' },
      { state: 'busy', holder: 'a' },
      { state: 'queued', holder: 'a', position: 1 },
      { state: 'queued', holder: 'a', position: 2 },
    ]);
    expect(state.holder?.runId).toBe('a');
    expect(state.queue.map((claimant) => claimant.runId)).toEqual(['c', 'd']);
  });

  it('answers a repeated claim the same way without queueing the run twice', () => {
    const { state, answers } = apply(emptyClaimState('m'), ask('a', 'wait'), ask('b', 'wait'), ask('a', 'wait'), ask('b', 'wait'));
    expect(answers[2]).toEqual({ state: 'granted' });
    expect(answers[3]).toEqual({ state: 'queued', holder: 'a', position: 1 });
    expect(state.queue).toHaveLength(1);
  });

  it('hands the model to the first waiting run when the holder releases it, and names it to be woken', () => {
    const queued = apply(emptyClaimState('m'), ask('a', 'wait'), ask('b', 'wait'), ask('c', 'wait')).state;
    const released = release(queued, { runId: 'a', now: at(10) });
    expect(released.answer).toEqual({ released: true, woken: 'b' });
    expect(released.state.holder?.runId).toBe('b');
    expect(claim(released.state, ask('b', 'wait', at(11))).answer).toEqual({ state: 'granted' });
    expect(claim(released.state, ask('c', 'wait', at(11))).answer).toEqual({ state: 'queued', holder: 'b', position: 1 });
  });

  it('lets a waiting run leave the queue (cancelled while waiting) without touching the holder', () => {
    const queued = apply(emptyClaimState('m'), ask('a', 'wait'), ask('b', 'wait'), ask('c', 'wait')).state;
    const left = release(queued, { runId: 'b', now: at(5) });
    expect(left.answer).toEqual({ released: true });
    expect(left.state.holder?.runId).toBe('a');
    expect(left.state.queue.map((claimant) => claimant.runId)).toEqual(['c']);
    expect(release(left.state, { runId: 'unknown', now: at(6) }).answer).toEqual({ released: false });
  });

  it('never lets a claim outlive its lease: a lapsed holder is replaced by the next claimant, and lapsed waiters are skipped', () => {
    const state = apply(emptyClaimState('m'), ask('a', 'wait', T0, at(60)), ask('b', 'wait', T0, at(30)), ask('c', 'wait', T0, at(600))).state;
    const later = claim(state, ask('d', 'fail', at(61)));
    // a's lease passed at 60 s and b's at 30 s: c holds the model now and must be told.
    expect(later.answer).toEqual({ state: 'busy', holder: 'c', woken: 'c' });
    expect(later.state.queue).toEqual([]);
    expect(claim(emptyClaimState('m'), ask('e', 'fail', at(61), at(61))).state.holder?.runId).toBe('e');
  });

  it('frees the model from a named holder only: a stale free cannot take it from a later holder', () => {
    const state = apply(emptyClaimState('m'), ask('a', 'wait'), ask('b', 'wait')).state;
    const stale = free(state, { holder: 'old', now: at(1), reason: 'operator' });
    expect(stale.answer).toEqual({ released: false });
    expect(stale.state.holder?.runId).toBe('a');
    const freed = free(state, { holder: 'a', now: at(1), reason: 'operator' });
    expect(freed.answer).toEqual({ released: true, woken: 'b' });
    expect(freed.state.holder?.runId).toBe('b');
  });

  it('refuses a waiting run past the queue limit instead of growing the state', () => {
    const inputs = [ask('holder', 'wait'), ...Array.from({ length: MAX_QUEUED_RUNS }, (_, i) => ask(`w${i}`, 'wait'))];
    const { state } = apply(emptyClaimState('m'), ...inputs);
    expect(state.queue).toHaveLength(MAX_QUEUED_RUNS);
    expect(claim(state, ask('one-too-many', 'wait')).answer).toEqual({ state: 'queueFull', holder: 'holder' });
    // 100 waiting runs stay within the 16 KB that readEntityState returns.
    expect(JSON.stringify(state).length * 2).toBeLessThan(16 * 1024 * 2);
  });

  it('keys the entity and the run ids by a hash of the model key (hex only)', () => {
    expect(claimKey('asazure://westeurope.asazure.windows.net/srv|Sales')).toMatch(/^[0-9a-f]{64}$/);
    expect(runIdPrefix('a|b')).toBe(claimKey('a|b').slice(0, 16));
    expect(runIdPrefix('a|b')).not.toBe(runIdPrefix('a|c'));
  });
});
