import * as df from 'durable-functions';
import { getConfig } from '../app';
import { logEvent } from '../logging';
import { purgeFinishedRuns, retentionNow } from '../retention/purge';

/** Every hour at minute 17 (NCRONTAB, UTC): off the hour, when schedules usually start runs. */
export const RETENTION_SCHEDULE = '0 17 * * * *';

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
