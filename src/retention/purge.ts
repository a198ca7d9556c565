import type { DurableClient } from 'durable-functions';
import { FINISHED_RUNTIME_STATUSES, queryStatusPage } from '../api/statusPages';

/** Runs per batch: one status page (the HTTP API's own page size). */
export const PURGE_BATCH_SIZE = 100;
/** Batches per firing: 2,000 runs an hour clears a year of hourly runs on 20 models in four days. */
export const MAX_PURGE_BATCHES = 20;
/** Purges in flight at once within a batch. */
const PURGE_CONCURRENCY = 8;

const DAY_MS = 86_400_000;

export interface PurgeOptions {
  retentionDays: number;
  now: Date;
  batchSize?: number;
  maxBatches?: number;
}

export interface PurgeReport {
  cutoff: string;
  purged: number;
  /** Runs the page listed that could not be purged (already gone, or a failed call). */
  skipped: number;
  batches: number;
  /** The last batch was full and more may be left: the next firing goes on. */
  more: boolean;
  elapsedMs: number;
}

/**
 * Purges finished instances created before now - retentionDays, in bounded batches: each batch is
 * one page of a status query (finished, created before the cut-off, no inputs) whose instances
 * are purged one by one with the Durable purge API. purgeInstanceHistoryBy is not used: one call
 * purges every match, however many. The page's continuation token moves on past instances that
 * could not be purged, so one that keeps failing does not stall the rest.
 */
export async function purgeFinishedRuns(client: DurableClient, options: PurgeOptions): Promise<PurgeReport> {
  const started = Date.now();
  const batchSize = options.batchSize ?? PURGE_BATCH_SIZE;
  const maxBatches = options.maxBatches ?? MAX_PURGE_BATCHES;
  const cutoff = new Date(options.now.getTime() - options.retentionDays * DAY_MS);
  let purged = 0;
  let skipped = 0;
  let batches = 0;
  let continuationToken: string | undefined;
  let more = false;
  while (batches < maxBatches) {
    const page = await queryStatusPage(client, { top: batchSize, createdTimeTo: cutoff, runtimeStatus: FINISHED_RUNTIME_STATUSES, showInput: false, continuationToken });
    if (page.statuses.length === 0) {
      more = false;
      break;
    }
    batches += 1;
    const ids = page.statuses.map((status) => status.instanceId);
    const results = await inBatches(ids, PURGE_CONCURRENCY, async (id) => (await client.purgeInstanceHistory(id)).instancesDeleted);
    for (const deleted of results) {
      if (deleted > 0) purged += deleted;
      else skipped += 1;
    }
    continuationToken = page.continuationToken;
    more = continuationToken !== undefined;
    if (!more) break;
  }
  return { cutoff: cutoff.toISOString(), purged, skipped, batches, more, elapsedMs: Date.now() - started };
}

/** Maps with at most `concurrency` calls at once; a failed call counts as nothing purged. */
async function inBatches<T>(items: T[], concurrency: number, call: (item: T) => Promise<number>): Promise<number[]> {
  const results: number[] = new Array<number>(items.length).fill(0);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await call(items[index] as T).catch(() => 0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/**
 * The cut-off's clock: the wall clock, but never past the timer's next occurrence. In Azure that
 * is always the wall clock; a host that runs timers on a clock of its own (the local host's
 * virtual clock in tests) must not have runs purged by a wall clock months ahead of it.
 */
export function retentionNow(timer: { scheduleStatus?: { next?: string } } | undefined, wallClockMs: number): Date {
  const next = Date.parse(timer?.scheduleStatus?.next ?? '');
  return new Date(Number.isFinite(next) ? Math.min(wallClockMs, next) : wallClockMs);
}
