import {
  adaptivePolicy,
  delayBoundMs,
  executionsFor,
  expectedDurationFor,
  fixedPolicy,
  makePartialWorkload,
  makeWorkload,
  PARTIAL_CASES,
  PARTIAL_WORKLOAD,
  runPartialCase,
  runCase,
  simulateRefresh,
  strictBoundWithoutHistory,
  summarize,
  WORKLOAD,
  type RefreshOutcome,
  type WorkloadRefresh,
} from '../../bench/pollingEfficiency';
import { mulberry32, percentile } from '../../bench/stats';

// These check the measuring code on cases small enough to work out by hand, not the policy's speed.
const s = 1_000;
const hour = 3_600 * s;
const bounds = { minIntervalMs: 15 * s, maxIntervalMs: 600 * s };
const longDeadline = 100 * hour;

describe('simulateRefresh', () => {
  it.each([
    // [policy, interval, duration, calls, delay]
    ['fixed 30 s', 30 * s, 65 * s, 3, 25 * s],
    ['fixed 30 s, ends on a poll', 30 * s, 60 * s, 2, 0],
    ['fixed 30 s, shorter than one interval', 30 * s, 10 * s, 1, 20 * s],
    ['fixed 5 s', 5 * s, 12 * s, 3, 3 * s],
  ])('%s', (_name, interval, duration, calls, delay) => {
    expect(simulateRefresh(duration, undefined, fixedPolicy(interval), longDeadline)).toEqual({ statusCalls: calls, detectionDelayMs: delay, detected: true });
  });

  it('follows the adaptive policy without history: 15 s steps, then 5% of elapsed', () => {
    // 15, 30, 45: the 40 s refresh is seen at 45 s.
    expect(simulateRefresh(40 * s, undefined, adaptivePolicy(bounds), longDeadline)).toEqual({ statusCalls: 3, detectionDelayMs: 5 * s, detected: true });
    // 20 polls reach 300 s; then 315, 330.75, 347.2875, 364.651875, 382.88446875, 402.0286921875.
    const result = simulateRefresh(400 * s, undefined, adaptivePolicy(bounds), longDeadline);
    expect(result.statusCalls).toBe(26);
    expect(result.detectionDelayMs).toBeCloseTo(2_028.6921875, 6);
  });

  it('follows the adaptive policy with history: steps of 20% up to 80% of the expected duration, then 5% of elapsed', () => {
    // Expected 1000 s: 200, 400, 600, 800, then 840, 882, 926.1, 972.405, 1021.02525.
    const result = simulateRefresh(1_000 * s, 1_000 * s, adaptivePolicy(bounds), longDeadline);
    expect(result.statusCalls).toBe(9);
    expect(result.detectionDelayMs).toBeCloseTo(21_025.25, 6);
  });

  it('waits max(30 s, 5% of elapsed) in the no-history reference', () => {
    // 30 s steps to 600 s (20 polls), then 630: a 610 s refresh is seen at 630 s.
    expect(simulateRefresh(610 * s, undefined, strictBoundWithoutHistory, longDeadline)).toEqual({ statusCalls: 21, detectionDelayMs: 20 * s, detected: true });
  });

  it('stops at the deadline, polling once more at the deadline itself', () => {
    // 30, 60, 90, then the timer is clipped to the 100 s deadline; the refresh is still running.
    const result = simulateRefresh(200 * s, undefined, fixedPolicy(30 * s), 100 * s);
    expect(result.statusCalls).toBe(4);
    expect(result.detected).toBe(false);
    expect(result.detectionDelayMs).toBeNaN();
  });

  it('refuses a policy that never waits instead of looping forever', () => {
    expect(() => simulateRefresh(10 * s, undefined, () => 0, longDeadline)).toThrow(/no wait/);
  });
});

describe('measures', () => {
  it('bounds the delay by max(30 s, 5% of the duration)', () => {
    expect(delayBoundMs(60 * s)).toBe(30 * s);
    expect(delayBoundMs(600 * s)).toBe(30 * s);
    expect(delayBoundMs(hour)).toBe(180 * s);
  });

  it('counts executions as the orchestrator continues as new after 20 polls that did not end the run', () => {
    expect([1, 20, 21, 40, 41].map((calls) => executionsFor(calls))).toEqual([1, 1, 2, 2, 3]);
  });

  it('uses nearest-rank percentiles', () => {
    const values = Array.from({ length: 20 }, (_, i) => 20 - i);
    expect(percentile(values, 50)).toBe(10);
    expect(percentile(values, 95)).toBe(19);
    expect(percentile(values, 100)).toBe(20);
    expect(percentile([7], 95)).toBe(7);
  });

  it('summarizes calls, delays and the share within the bound', () => {
    const outcome = (durationMs: number, statusCalls: number, delayMs: number): RefreshOutcome => ({
      durationMs,
      statusCalls,
      detectionDelayMs: delayMs,
      detected: true,
      withHistory: false,
      expectedDurationMs: undefined,
      boundMs: delayBoundMs(durationMs),
      executions: executionsFor(statusCalls),
    });
    const summary = summarize([outcome(65 * s, 3, 25 * s), outcome(hour, 120, 0), outcome(2 * hour, 10, 400 * s)]);
    expect(summary.calls).toEqual({ mean: 133 / 3, p50: 10, p95: 120, total: 133 });
    expect(summary.delayMs).toEqual({ p50: 25 * s, p95: 400 * s, max: 400 * s });
    expect(summary.delayShare.p95).toBeCloseTo(25 / 65, 9);
    // 400 s > 360 s (5% of 2 h): one of three misses its bound.
    expect(summary.metBound).toBeCloseTo(2 / 3, 9);
    expect(summary.p95DelayOverBound).toBeCloseTo(400 / 360, 9);
    expect(summary.executions).toBe(1 + 6 + 1);
  });
});

describe('workload', () => {
  it('is the same every time and matches its description', () => {
    const workload = makeWorkload();
    expect(makeWorkload()).toEqual(workload);
    expect(workload).toHaveLength(200);
    for (const refresh of workload) {
      expect(refresh.durationMs).toBeGreaterThanOrEqual(WORKLOAD.minDurationMs);
      expect(refresh.durationMs).toBeLessThanOrEqual(WORKLOAD.maxDurationMs);
    }
    expect(workload.filter((refresh) => refresh.historyZ.length === 5)).toHaveLength(100);
    expect(workload.filter((refresh) => refresh.historyZ.length === 0)).toHaveLength(100);
    // Log-uniform: about half below the geometric mean of 30 s and 4 h (~657 s).
    const below = workload.filter((refresh) => refresh.durationMs < Math.sqrt(30 * s * 4 * hour)).length;
    expect(below).toBeGreaterThan(70);
    expect(below).toBeLessThan(130);
  });

  it('derives the expected duration as the median of the history (medianDuration)', () => {
    const refresh: WorkloadRefresh = { index: 0, durationMs: 1_000 * s, historyZ: [0.3, -1, 2, 0.1, -0.2] };
    // Median z is 0.1: 1000 s x exp(0.5 x 0.1), rounded to the millisecond as AAS timestamps are.
    expect(expectedDurationFor(refresh, 0.5)).toBe(Math.round(1_000 * s * Math.exp(0.05)));
    expect(expectedDurationFor(refresh, 0)).toBe(1_000 * s);
    expect(expectedDurationFor({ ...refresh, historyZ: [] }, 0.15)).toBeUndefined();
  });

  it('gives the history only to the policy cases that use it', () => {
    const workload: WorkloadRefresh[] = [{ index: 0, durationMs: 1_000 * s, historyZ: [0, 0, 0, 0, 0] }];
    const [withHistory] = runCase(workload, { name: 'adaptive', policy: adaptivePolicy(bounds), historySigma: 0.15 }, longDeadline);
    const [ignoring] = runCase(workload, { name: 'fixed', policy: fixedPolicy(30 * s) }, longDeadline);
    expect(withHistory?.statusCalls).toBe(9);
    expect(withHistory?.withHistory).toBe(true);
    expect(ignoring?.expectedDurationMs).toBeUndefined();
    expect(ignoring?.statusCalls).toBe(34);
  });

  it('draws from a deterministic PRNG in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const draws = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(draws);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
  });
});

describe('partial refreshes of models whose history is full refreshes', () => {
  it('the previous expectation (the whole model) misses the bound that this build keeps', () => {
    const workload = makePartialWorkload({ ...PARTIAL_WORKLOAD, refreshes: 20 });
    const bounds30 = { minIntervalMs: 30 * s, maxIntervalMs: 600 * s };
    const previous = summarize(runPartialCase(workload, PARTIAL_CASES.previous, bounds30, 12 * hour));
    const first = summarize(runPartialCase(workload, PARTIAL_CASES.firstOfShape, bounds30, 12 * hour));
    const repeat = summarize(runPartialCase(workload, PARTIAL_CASES.repeat, bounds30, 12 * hour));
    expect(previous.metBound).toBeLessThan(0.5);
    expect(first.metBound).toBe(1);
    expect(repeat.metBound).toBeGreaterThanOrEqual(0.95);
    expect(repeat.calls.total).toBeLessThan(first.calls.total);
  });
});
