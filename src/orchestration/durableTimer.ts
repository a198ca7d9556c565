import type { OrchestrationContext, TimerTask } from 'durable-functions';

/**
 * How early a durable timer can fire. The Azure Storage provider makes a TimerFired message visible
 * after FireAt minus its enqueue time cut down to whole seconds (DurableTask.AzureStorage
 * TaskHubQueue.GetVisibilityDelay; the Azure SDK sends whole seconds) and does not check FireAt
 * again, so a timer wakes the orchestrator up to 1 s before its FireAt, and one under 1 s away at once.
 */
export const TIMER_EARLY_BY_MS = 1000;

/**
 * A durable timer that wakes the orchestrator no sooner than `notBefore`: it asks for a FireAt
 * 1 s later, which the truncation brings back to at most its whole seconds (the wake comes after
 * `notBefore`, by under 1 s plus the turn's own time). So a poll interval is never shorter than
 * configured, a Retry-After is always waited out, and a timer capped at the deadline wakes past
 * it (the run times out then, instead of waking just before it and looping on sub-second timers
 * that fire at once). An engine that fires on time (another storage provider) wakes 1 s later.
 * Only new timers ask for the later FireAt; replay matches timers by position, not by FireAt.
 */
export function timerNotBefore(context: OrchestrationContext, notBefore: Date): TimerTask {
  return context.df.createTimer(new Date(notBefore.getTime() + TIMER_EARLY_BY_MS));
}
