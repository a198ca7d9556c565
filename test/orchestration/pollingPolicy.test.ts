import { conflictWaitMs, nextPollDelayMs, nextSyncPollDelayMs } from '../../src/orchestration/pollingPolicy';
import { formatIsoDuration, parseIsoDuration } from '../../src/orchestration/duration';

const bounds = { minIntervalMs: 15_000, maxIntervalMs: 600_000 };
const hour = 3_600_000;

/** Simulates polling a refresh that ends at `durationMs`; returns calls made and detection delay. */
function simulate(durationMs: number, expectedDurationMs?: number) {
  let t = 0;
  let calls = 0;
  for (;;) {
    t += nextPollDelayMs({ elapsedMs: t, expectedDurationMs, remainingMs: 100 * hour }, bounds);
    calls += 1;
    if (t >= durationMs) return { calls, delayMs: t - durationMs };
  }
}

describe('polling policy', () => {
  it('polls at the minimum interval at first', () => {
    expect(nextPollDelayMs({ elapsedMs: 0, remainingMs: hour }, bounds)).toBe(15_000);
  });

  it('never sleeps past the deadline', () => {
    expect(nextPollDelayMs({ elapsedMs: 2 * hour, remainingMs: 5_000 }, bounds)).toBe(5_000);
    expect(nextPollDelayMs({ elapsedMs: 2 * hour, remainingMs: -1 }, bounds)).toBe(0);
  });

  it('stays within the maximum interval', () => {
    expect(nextPollDelayMs({ elapsedMs: 100 * hour, remainingMs: 100 * hour }, bounds)).toBe(600_000);
  });

  it.each([60_000, 10 * 60_000, hour, 4 * hour])('detects the end of a %d ms refresh within max(min interval, 5%% of its duration) without history', (duration) => {
    const { delayMs } = simulate(duration);
    expect(delayMs).toBeLessThanOrEqual(Math.max(bounds.minIntervalMs, 0.05 * duration) + 1);
  });

  it('makes far fewer calls than fixed 30 s polling on long refreshes', () => {
    const { calls } = simulate(4 * hour);
    expect(calls).toBeLessThan((4 * hour) / 30_000 / 4);
  });

  it('uses the expected duration to skip most polls, still noticing an early end within a fifth of it', () => {
    const withHistory = simulate(4 * hour, 4 * hour);
    const without = simulate(4 * hour);
    expect(withHistory.calls).toBeLessThan(without.calls / 3);
    const early = simulate(hour, 4 * hour);
    expect(early.delayMs).toBeLessThanOrEqual(0.2 * 4 * hour);
  });

  it('backs off while waiting for a busy model, within bounds', () => {
    expect(conflictWaitMs(0, bounds, hour)).toBe(15_000);
    expect(conflictWaitMs(1, bounds, hour)).toBe(30_000);
    expect(conflictWaitMs(20, bounds, hour)).toBe(600_000);
    expect(conflictWaitMs(20, bounds, 1_000)).toBe(1_000);
    expect(nextSyncPollDelayMs(0, bounds, hour)).toBe(15_000);
  });
});

describe('ISO 8601 durations', () => {
  it.each([
    ['PT30S', 30_000],
    ['PT2H', 7_200_000],
    ['P1DT30M', 88_200_000],
    ['P1W', 604_800_000],
    ['pt1.5h', 5_400_000],
  ])('parses %s', (text, ms) => expect(parseIsoDuration(text)).toBe(ms));

  it.each(['', 'P', 'PT', '2h', 'P1Y', 'P1M', 'PT-1H', 'PT1H30'])('refuses %j', (text) => {
    expect(() => parseIsoDuration(text)).toThrow(/ISO 8601/);
  });

  it('formats', () => {
    expect(formatIsoDuration(5_400_000)).toBe('PT1H30M');
    expect(formatIsoDuration(0)).toBe('PT0S');
  });
});
