import { randomUUID } from 'node:crypto';

/** The JSON description of servers, models, tables and partitions the emulator serves. */
export interface EmulatorModelDescription {
  servers: Array<{
    name: string;
    models: Array<{ name: string; tables: Array<{ name: string; partitions?: string[]; durationMs?: number; failAttempts?: number; failMessage?: string }> }>;
  }>;
}

export interface TableBehaviour {
  /** Processing time of each partition of the table, per attempt. */
  durationMs?: number;
  /** The first N attempts fail; a refresh with RetryCount >= N succeeds. */
  failAttempts?: number;
  failMessage?: string;
  partitions?: string[];
}

export interface TableState {
  name: string;
  partitions: string[];
  durationMs?: number;
  failAttempts: number;
  failMessage?: string;
}

export interface SyncBehaviour {
  fail?: boolean;
  durationMs?: number;
}

export type EmulatedStatus = 'notStarted' | 'inProgress' | 'timedOut' | 'cancelled' | 'failed' | 'succeeded';

interface WorkItem {
  table: string;
  partition: string;
  durationMs: number;
  failAttempts: number;
  failMessage?: string;
}

interface Batch {
  items: WorkItem[];
  start: number;
  end: number;
  failed: WorkItem[];
}

/** Everything about a refresh is fixed when it is submitted; its state at any time is computed from the clock. */
export interface RefreshRecord {
  id: string;
  submittedAt: number;
  processingStart: number;
  type: string;
  commitMode: 'transactional' | 'partialBatch';
  maxParallelism: number;
  retryCount: number;
  batches: Batch[];
  end: number;
  outcome: 'succeeded' | 'failed';
  cancelledAt?: number;
  /** Started by someone else (startOutsideRefresh). */
  outside: boolean;
}

export interface SyncRecord {
  id: string;
  startedAt: number;
  durationMs: number;
  fail: boolean;
}

export interface ModelState {
  name: string;
  tables: Map<string, TableState>;
  refreshes: RefreshRecord[];
  syncs: Map<string, SyncRecord>;
  syncBehaviour: SyncBehaviour;
  /** How long this model's submitted refreshes stay notStarted (queued); default NOT_STARTED_MS. */
  notStartedMs?: number;
}

export interface ServerState {
  name: string;
  notAdmin: boolean;
  models: Map<string, ModelState>;
}

/** A refresh as GET /refreshes/{id} shows it at one moment. */
export interface RefreshView {
  refreshId: string;
  status: EmulatedStatus;
  startTime: number;
  endTime?: number;
  type: string;
  currentRefreshType: string;
  commitMode: string;
  maxParallelism: number;
  retryCount: number;
  outside: boolean;
  objects: Array<{ table: string; partition: string; status: EmulatedStatus }>;
  messages: Array<{ code: string; message: string; type: 'Error' }>;
}

/** How long a submitted refresh stays notStarted. */
export const NOT_STARTED_MS = 2_000;
export const DEFAULT_SYNC_DURATION_MS = 20_000;

export function buildServers(description: EmulatorModelDescription): Map<string, ServerState> {
  const servers = new Map<string, ServerState>();
  for (const server of description.servers) {
    const models = new Map<string, ModelState>();
    for (const model of server.models) {
      const tables = new Map<string, TableState>();
      for (const table of model.tables) {
        tables.set(table.name, {
          name: table.name,
          partitions: table.partitions !== undefined && table.partitions.length > 0 ? [...table.partitions] : [table.name],
          durationMs: table.durationMs,
          failAttempts: table.failAttempts ?? 0,
          failMessage: table.failMessage,
        });
      }
      models.set(model.name, { name: model.name, tables, refreshes: [], syncs: new Map(), syncBehaviour: {} });
    }
    servers.set(server.name.toLowerCase(), { name: server.name.toLowerCase(), notAdmin: false, models });
  }
  return servers;
}

export class RequestProblem extends Error {}

/** Resolves the requested objects to partitions; unknown names are the caller's mistake (400). */
function workItems(model: ModelState, objects: Array<{ table: string; partition?: string }>, defaultDurationMs: number): WorkItem[] {
  const item = (table: TableState, partition: string): WorkItem => ({
    table: table.name,
    partition,
    durationMs: table.durationMs ?? defaultDurationMs,
    failAttempts: table.failAttempts,
    failMessage: table.failMessage,
  });
  if (objects.length === 0) return [...model.tables.values()].flatMap((table) => table.partitions.map((partition) => item(table, partition)));
  return objects.flatMap((object) => {
    const table = model.tables.get(object.table);
    if (table === undefined) throw new RequestProblem(`Table '${object.table}' does not exist in model '${model.name}'.`);
    if (object.partition === undefined) return table.partitions.map((partition) => item(table, partition));
    if (!table.partitions.includes(object.partition)) throw new RequestProblem(`Partition '${object.partition}' does not exist in table '${object.table}'.`);
    return [item(table, object.partition)];
  });
}

export interface RefreshSubmission {
  type: string;
  commitMode: 'transactional' | 'partialBatch';
  maxParallelism: number;
  retryCount: number;
  objects: Array<{ table: string; partition?: string }>;
}

/** Plans the whole refresh: batches of MaxParallelism, each as long as its slowest item's attempts. */
export function planRefresh(model: ModelState, submission: RefreshSubmission, now: number, defaultDurationMs: number): RefreshRecord {
  const items = workItems(model, submission.objects, defaultDurationMs);
  const processingStart = now + (model.notStartedMs ?? NOT_STARTED_MS);
  const batches: Batch[] = [];
  let cursor = processingStart;
  let outcome: 'succeeded' | 'failed' = 'succeeded';
  for (let index = 0; index < items.length; index += submission.maxParallelism) {
    const batchItems = items.slice(index, index + submission.maxParallelism);
    const attempts = (candidate: WorkItem): number => Math.min(candidate.failAttempts, submission.retryCount) + 1;
    const duration = Math.max(...batchItems.map((candidate) => candidate.durationMs * attempts(candidate)));
    const failed = batchItems.filter((candidate) => candidate.failAttempts > submission.retryCount);
    batches.push({ items: batchItems, start: cursor, end: cursor + duration, failed });
    cursor += duration;
    if (failed.length > 0) {
      outcome = 'failed';
      break;
    }
  }
  // Items never reached because an earlier batch failed still belong to the refresh.
  const planned = batches.reduce((count, batch) => count + batch.items.length, 0);
  if (planned < items.length) batches.push({ items: items.slice(planned), start: Number.POSITIVE_INFINITY, end: Number.POSITIVE_INFINITY, failed: [] });
  return {
    id: randomUUID(),
    submittedAt: now,
    processingStart,
    type: submission.type,
    commitMode: submission.commitMode,
    maxParallelism: submission.maxParallelism,
    retryCount: submission.retryCount,
    batches,
    end: cursor,
    outcome,
    outside: false,
  };
}

/** Someone else's refresh of the whole model, running for `durationMs` from now. */
export function planOutsideRefresh(model: ModelState, now: number, durationMs: number): RefreshRecord {
  const items = workItems(model, [], durationMs).map((item) => ({ ...item, failAttempts: 0, durationMs }));
  return {
    id: randomUUID(),
    submittedAt: now,
    processingStart: now,
    type: 'full',
    commitMode: 'transactional',
    maxParallelism: Math.max(1, items.length),
    retryCount: 0,
    batches: [{ items, start: now, end: now + durationMs, failed: [] }],
    end: now + durationMs,
    outcome: 'succeeded',
    outside: true,
  };
}

/**
 * The refresh as seen at `now`. Per-object statuses: committed objects are `succeeded`; with
 * transactional commit nothing is committed until the end, so a failed or cancelled refresh
 * reports its processed objects `cancelled` (rolled back); objects never reached stay `notStarted`
 * (failure) or become `cancelled` (cancel).
 */
export function viewRefresh(record: RefreshRecord, now: number): RefreshView {
  const cancelled = record.cancelledAt !== undefined && record.cancelledAt < record.end && record.cancelledAt <= now;
  const finished = cancelled || now >= record.end;
  let status: EmulatedStatus;
  if (cancelled) status = 'cancelled';
  else if (finished) status = record.outcome;
  else status = now < record.processingStart ? 'notStarted' : 'inProgress';
  const endTime = cancelled ? record.cancelledAt : finished ? record.end : undefined;
  const partial = record.commitMode === 'partialBatch';
  const failedBatch = record.outcome === 'failed' ? record.batches.find((batch) => batch.failed.length > 0) : undefined;
  const objects = record.batches.flatMap((batch) =>
    batch.items.map((item) => {
      let itemStatus: EmulatedStatus;
      if (status === 'notStarted') itemStatus = 'notStarted';
      else if (status === 'inProgress') itemStatus = batch.end <= now ? 'succeeded' : batch.start <= now ? 'inProgress' : 'notStarted';
      else if (status === 'succeeded') itemStatus = 'succeeded';
      else if (status === 'cancelled') itemStatus = partial && batch.end <= (record.cancelledAt ?? 0) ? 'succeeded' : 'cancelled';
      else if (batch === failedBatch) itemStatus = batch.failed.includes(item) ? 'failed' : 'cancelled';
      else if (batch.start === Number.POSITIVE_INFINITY) itemStatus = 'notStarted';
      else itemStatus = partial ? 'succeeded' : 'cancelled';
      return { table: item.table, partition: item.partition, status: itemStatus };
    }),
  );
  const messages =
    status === 'failed' && failedBatch !== undefined
      ? failedBatch.failed.map((item) => ({
          code: 'ProcessingError',
          message: `${item.failMessage ?? 'The data source returned an error.'} (table '${item.table}', partition '${item.partition}', ${record.retryCount + 1} attempt(s))`,
          type: 'Error' as const,
        }))
      : [];
  return {
    refreshId: record.id,
    status,
    startTime: record.submittedAt,
    endTime,
    type: record.type,
    currentRefreshType: record.type,
    commitMode: record.commitMode,
    maxParallelism: record.maxParallelism,
    retryCount: record.retryCount,
    outside: record.outside,
    objects,
    messages,
  };
}

/** syncstate over the operation's life: 0 replicating, 1 rehydrating, 4 finalizing, then 2 (or 3). */
export function syncStateAt(sync: SyncRecord, now: number): 0 | 1 | 2 | 3 | 4 {
  const elapsed = now - sync.startedAt;
  if (elapsed >= sync.durationMs) return sync.fail ? 3 : 2;
  const fraction = elapsed / sync.durationMs;
  return fraction < 0.4 ? 0 : fraction < 0.8 ? 1 : 4;
}
