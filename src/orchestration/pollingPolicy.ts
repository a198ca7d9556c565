import type { PollingConfig } from '../config/config';

/**
 * When to look at a running refresh next. Pure, so the orchestrator stays deterministic and the
 * benchmark can replay thousands of refreshes through it.
 *
 * Without history, a refresh that has run for `elapsed` may end any moment, so the wait is
 * bounded by a fixed fraction of the time already spent: the detection delay stays within
 * max(min interval, 5% of the duration) while the number of calls grows only logarithmically
 * with the duration (a fixed 30 s interval grows linearly).
 * With the model's recent durations, the run sleeps towards the expected end in a few long
 * steps (each at most a fifth of the expected duration, so an early failure is still noticed),
 * then polls closely around it.
 */
export const ELAPSED_FRACTION = 0.05;
export const EXPECTED_LEAD_FRACTION = 0.8;
export const EXPECTED_STEP_FRACTION = 0.2;

export interface PollTiming {
  /** Time since the refresh was submitted. */
  elapsedMs: number;
  /** Median of the model's recent successful refresh durations, if known. */
  expectedDurationMs?: number;
  /** Time left before the run's deadline. */
  remainingMs: number;
}

export function nextPollDelayMs(timing: PollTiming, bounds: PollingConfig): number {
  const { elapsedMs, expectedDurationMs, remainingMs } = timing;
  let delay = clamp(ELAPSED_FRACTION * elapsedMs, bounds.minIntervalMs, bounds.maxIntervalMs);
  if (expectedDurationMs !== undefined && expectedDurationMs > 0) {
    const lead = EXPECTED_LEAD_FRACTION * expectedDurationMs;
    if (elapsedMs + bounds.minIntervalMs < lead) {
      delay = Math.max(delay, Math.min(lead - elapsedMs, EXPECTED_STEP_FRACTION * expectedDurationMs));
    }
  }
  // Never sleep past the deadline: the run must wake to cancel the refresh.
  return Math.max(0, Math.min(delay, remainingMs));
}

/** Waits between sync status checks: syncs take seconds to minutes. */
export function nextSyncPollDelayMs(elapsedMs: number, bounds: PollingConfig, remainingMs: number): number {
  return Math.max(0, Math.min(clamp(ELAPSED_FRACTION * elapsedMs, bounds.minIntervalMs, bounds.maxIntervalMs), remainingMs));
}

/** Backoff while waiting for a busy model (onConflict "wait"), doubling up to the max interval. */
export function conflictWaitMs(attempt: number, bounds: PollingConfig, remainingMs: number): number {
  const delay = clamp(bounds.minIntervalMs * 2 ** Math.min(attempt, 16), bounds.minIntervalMs, bounds.maxIntervalMs);
  return Math.max(0, Math.min(delay, remainingMs));
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
