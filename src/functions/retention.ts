import * as df from 'durable-functions';
import { getConfig } from '../app';
import { logEvent } from '../logging';
import { purgeFinishedRuns } from '../retention/purge';

/** Every hour at minute 17 (NCRONTAB, UTC): off the hour, when schedules usually start runs. */
export const RETENTION_SCHEDULE = '0 17 * * * *';

/**
 * The cut-off's clock: the wall clock, but never past the timer's next occurrence. In Azure that
 * is always the wall clock; a host that runs timers on a clock of its own (the local host's
 * virtual clock in tests) must not have runs purged by a wall clock months ahead of it.
 */
export function retentionNow(timer: { scheduleStatus?: { next?: string } } | undefined, wallClockMs: number): Date {
  const next = Date.parse(timer?.scheduleStatus?.next ?? '');
  return new Date(Number.isFinite(next) ? Math.min(wallClockMs, next) : wallClockMs);
}

const { days } = getConfig().retention;
// RUN_RETENTION_DAYS=0 keeps every run: no timer at all.
if (days > 0) {
  df.app.client.timer('runRetention', {
    schedule: RETENTION_SCHEDULE,
    handler: async (timer, client, context) => {
      try {
        const report = await purgeFinishedRuns(client, { retentionDays: days, now: retentionNow(timer, Date.now()) });
        logEvent(context, 'info', 'retention.purged', { ...report, retentionDays: days });
      } catch (error) {
        // The next firing goes on where this one stopped; nothing is lost by waiting an hour.
        logEvent(context, 'warn', 'retention.failed', { retentionDays: days, error: error instanceof Error ? error.message : 'unknown' });
      }
    },
  });
}
