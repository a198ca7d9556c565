import { randomUUID } from 'node:crypto';

/**
 * The refresh engine both emulated services share (AAS and Power BI run the same Analysis
 * Services engine behind different REST surfaces): tables and partitions, a refresh planned in
 * MaxParallelism batches when it is submitted, its state at any moment computed from the shared
 * clock (nothing runs in the background), transactional and partialBatch commits, per-object
 * retries, cancel and, for Power BI, a timeout per attempt. Each surface maps these neutral
 * states to its own names and JSON.
 */

/** The JSON description of servers, models, tables and partitions the emulators serve. */
export interface EmulatorModelDescription {
  servers: Array<{
    name: string;
    models: Array<{ name: string; tables: TableDescription[] }>;
  }>;
}

export interface TableDescription {
  name: string;
  partitions?: string[];
  durationMs?: number;
  failAttempts?: number;
  failMessage?: string;
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
  outcome: 'succeeded' | 'failed' | 'timedOut';
  cancelledAt?: number;
  /** Started by someone else (startOutsideRefresh). */
  outside: boolean;
  /** The work as resolved at submit, kept so a queued refresh can be planned again from a new start. */
  items: WorkItem[];
  /** Each attempt of the whole refresh stops after this long (Power BI `timeout`); undefined: no limit (AAS). */
  attemptTimeoutMs?: number;
  /** Attempts of the whole refresh: more than 1 only when attempts timed out and were retried. */
  wholeAttempts: number;
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
  /** Attempts made so far (at least 1 once processing started, 0 before). */
  attempts: number;
}

/** How long a submitted refresh stays notStarted. */
export const NOT_STARTED_MS = 2_000;
export const DEFAULT_SYNC_DURATION_MS = 20_000;
/** Power BI: all attempts of one refresh together stop after 24 hours (enhanced refresh docs). */
export const MAX_TOTAL_REFRESH_MS = 24 * 3600 * 1000;
export const REFRESH_TYPES = ['full', 'clearValues', 'calculate', 'dataOnly', 'automatic', 'defragment'] as const;

export function buildModel(name: string, tables: TableDescription[]): ModelState {
  const states = new Map<string, TableState>();
  for (const table of tables) {
    states.set(table.name, {
      name: table.name,
      partitions: table.partitions !== undefined && table.partitions.length > 0 ? [...table.partitions] : [table.name],
      durationMs: table.durationMs,
      failAttempts: table.failAttempts ?? 0,
      failMessage: table.failMessage,
    });
  }
  return { name, tables: states, refreshes: [], syncs: new Map(), syncBehaviour: {} };
}

export function buildServers(description: EmulatorModelDescription): Map<string, ServerState> {
  const servers = new Map<string, ServerState>();
  for (const server of description.servers) {
    const models = new Map<string, ModelState>();
    for (const model of server.models) models.set(model.name, buildModel(model.name, model.tables));
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
  /** Power BI `timeout`: each attempt of the whole refresh stops after this long. */
  attemptTimeoutMs?: number;
}

/**
 * The fields both services read alike, from a body whose field names were lower-cased (the
 * services match them case-insensitively). Throws RequestProblem naming what is wrong.
 */
export function parseCommonFields(fields: Map<string, unknown>): RefreshSubmission {
  const typeText = fields.get('type') ?? 'automatic';
  if (typeof typeText !== 'string') throw new RequestProblem('Type must be a string.');
  if (typeText.toLowerCase() === 'add') throw new RequestProblem("Refresh type 'add' is not supported.");
  const type = REFRESH_TYPES.find((candidate) => candidate.toLowerCase() === typeText.toLowerCase());
  if (type === undefined) throw new RequestProblem(`Unknown refresh type '${typeText}'.`);
  const commitText = fields.get('commitmode') ?? 'transactional';
  const commitMode = typeof commitText === 'string' ? (['transactional', 'partialBatch'] as const).find((mode) => mode.toLowerCase() === commitText.toLowerCase()) : undefined;
  if (commitMode === undefined) throw new RequestProblem(`Unknown commit mode '${String(commitText)}'.`);
  const maxParallelism = fields.get('maxparallelism') ?? 10;
  const retryCount = fields.get('retrycount') ?? 0;
  if (typeof maxParallelism !== 'number' || !Number.isInteger(maxParallelism) || maxParallelism < 1) throw new RequestProblem('MaxParallelism must be a positive integer.');
  if (typeof retryCount !== 'number' || !Number.isInteger(retryCount) || retryCount < 0) throw new RequestProblem('RetryCount must be a non-negative integer.');
  const objectsRaw = fields.get('objects') ?? [];
  if (!Array.isArray(objectsRaw)) throw new RequestProblem('Objects must be an array.');
  const objects = objectsRaw.map((entry: unknown) => {
    const object = new Map(Object.entries(typeof entry === 'object' && entry !== null ? entry : {}).map(([key, value]) => [key.toLowerCase(), value as unknown]));
    const table = object.get('table');
    const partition = object.get('partition');
    if (typeof table !== 'string' || table === '') throw new RequestProblem('Each object needs a table.');
    if (partition !== undefined && typeof partition !== 'string') throw new RequestProblem('partition must be a string.');
    return partition === undefined ? { table } : { table, partition };
  });
  return { type, commitMode, maxParallelism, retryCount, objects };
}

/** A JSON object body with its field names lower-cased; RequestProblem when it is not one. */
export function bodyFields(body: string): Map<string, unknown> {
  let raw: unknown = {};
  if (body.trim() !== '') {
    try {
      raw = JSON.parse(body);
    } catch {
      throw new RequestProblem('The request body is not valid JSON.');
    }
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new RequestProblem('The request body must be a JSON object.');
  return new Map(Object.entries(raw).map(([key, value]) => [key.toLowerCase(), value as unknown]));
}

interface Plan {
  batches: Batch[];
  end: number;
  outcome: RefreshRecord['outcome'];
  wholeAttempts: number;
}

/**
 * Batches of MaxParallelism, each as long as its slowest item's attempts. With a timeout per
 * attempt, a refresh whose processing would take longer stops at the timeout and starts again
 * (RetryCount more times, all attempts within 24 hours), then ends timedOut.
 */
function plan(items: WorkItem[], submission: Pick<RefreshSubmission, 'maxParallelism' | 'retryCount' | 'attemptTimeoutMs'>, processingStart: number): Plan {
  const batches: Batch[] = [];
  let cursor = processingStart;
  let outcome: RefreshRecord['outcome'] = 'succeeded';
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
  const timeout = submission.attemptTimeoutMs;
  if (timeout !== undefined && cursor - processingStart > timeout) {
    const wholeAttempts = Math.max(1, Math.min(submission.retryCount + 1, Math.ceil(MAX_TOTAL_REFRESH_MS / timeout)));
    return { batches, end: processingStart + Math.min(wholeAttempts * timeout, MAX_TOTAL_REFRESH_MS), outcome: 'timedOut', wholeAttempts };
  }
  return { batches, end: cursor, outcome, wholeAttempts: 1 };
}

/** Plans the whole refresh when it is submitted; `processingStart` overrides when it leaves the queue. */
export function planRefresh(model: ModelState, submission: RefreshSubmission, now: number, defaultDurationMs: number, processingStart?: number): RefreshRecord {
  const items = workItems(model, submission.objects, defaultDurationMs);
  const start = processingStart ?? now + (model.notStartedMs ?? NOT_STARTED_MS);
  const planned = plan(items, submission, start);
  return {
    id: randomUUID(),
    submittedAt: now,
    processingStart: start,
    type: submission.type,
    commitMode: submission.commitMode,
    maxParallelism: submission.maxParallelism,
    retryCount: submission.retryCount,
    attemptTimeoutMs: submission.attemptTimeoutMs,
    items,
    ...planned,
    outside: false,
  };
}

/**
 * A refresh that waits until `failAt` and then fails without processing anything (Power BI: a
 * refresh throttled by its capacity for more than an hour fails).
 */
export function planNeverStarted(model: ModelState, submission: RefreshSubmission, now: number, defaultDurationMs: number, failAt: number): RefreshRecord {
  const record = planRefresh(model, submission, now, defaultDurationMs, failAt);
  record.batches = [{ items: record.items, start: Number.POSITIVE_INFINITY, end: Number.POSITIVE_INFINITY, failed: [] }];
  record.end = failAt;
  record.outcome = 'failed';
  record.wholeAttempts = 1;
  return record;
}

/** A queued refresh that has not started yet, planned again to start at `processingStart`. */
export function replanStart(record: RefreshRecord, processingStart: number): void {
  const planned = plan(record.items, record, processingStart);
  record.processingStart = processingStart;
  record.batches = planned.batches;
  record.end = planned.end;
  record.outcome = planned.outcome;
  record.wholeAttempts = planned.wholeAttempts;
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
    items,
    batches: [{ items, start: now, end: now + durationMs, failed: [] }],
    end: now + durationMs,
    outcome: 'succeeded',
    wholeAttempts: 1,
    outside: true,
  };
}

export function isActive(record: RefreshRecord, now: number): boolean {
  const status = viewRefresh(record, now).status;
  return status === 'notStarted' || status === 'inProgress';
}

/** The model's refresh running or waiting now, if any (the newest first). */
export function activeRecord(model: ModelState, now: number): RefreshRecord | undefined {
  return model.refreshes.find((record) => isActive(record, now));
}

/** Cancels a refresh that has not ended; a finished one stays as it ended. Returns whether it was running. */
export function cancelRecord(record: RefreshRecord, now: number): boolean {
  if (!isActive(record, now)) return false;
  record.cancelledAt = now;
  return true;
}

/** Changes one table's behaviour for refreshes submitted from now on (or adds the table). */
export function setTableBehaviour(model: ModelState, tableName: string, behaviour: TableBehaviour): void {
  const existing = model.tables.get(tableName);
  model.tables.set(tableName, {
    name: tableName,
    partitions: behaviour.partitions ?? existing?.partitions ?? [tableName],
    durationMs: behaviour.durationMs ?? existing?.durationMs,
    failAttempts: behaviour.failAttempts ?? existing?.failAttempts ?? 0,
    failMessage: behaviour.failMessage ?? existing?.failMessage,
  });
}

/** The fail-table scenario: the table (default DimDate, else the first) fails on every attempt. Returns the table's name. */
export function failTableForever(model: ModelState, where: string, tableName?: string): string {
  const table = tableName ?? (model.tables.has('DimDate') ? 'DimDate' : model.tables.keys().next().value);
  const state = table === undefined ? undefined : model.tables.get(table);
  if (state === undefined) throw new Error(`no table "${table ?? ''}" in ${where}`);
  state.failAttempts = Number.MAX_SAFE_INTEGER;
  state.failMessage = `The data source for table '${state.name}' returned an error (emulator scenario fail-table).`;
  return state.name;
}

/** The slow-refresh scenario: every partition takes `durationMs`. */
export function slowEveryTable(model: ModelState, durationMs: number): void {
  for (const table of model.tables.values()) table.durationMs = durationMs;
}

/** Undoes behaviour changes: the tables as described at start; someone else's running refresh ends now. */
export function resetModel(model: ModelState, initial: ModelState, now: number): void {
  model.tables = initial.tables;
  model.syncBehaviour = {};
  model.notStartedMs = undefined;
  for (const record of model.refreshes) if (record.outside && record.cancelledAt === undefined && record.end > now) record.cancelledAt = now;
}

/**
 * The refresh as seen at `now`. Per-object statuses: committed objects are `succeeded`; with
 * transactional commit nothing is committed until the end, so a failed or cancelled refresh
 * reports its processed objects `cancelled` (rolled back); objects never reached stay `notStarted`
 * (failure) or become `cancelled` (cancel). A timed-out refresh keeps, with partialBatch, the
 * batches its last attempt committed.
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
  const timeout = record.outcome === 'timedOut' ? record.attemptTimeoutMs : undefined;
  // Within the current attempt: a timed-out refresh starts its batches again on each attempt.
  const attemptClock = (at: number): number => (timeout === undefined || at < record.processingStart ? at : record.processingStart + ((at - record.processingStart) % timeout));
  const stoppedAt = endTime ?? now;
  const lastAttemptTime = timeout === undefined ? stoppedAt : stoppedAt >= record.end ? record.processingStart + timeout : attemptClock(stoppedAt);
  const failedBatch = record.outcome === 'failed' ? record.batches.find((batch) => batch.failed.length > 0) : undefined;
  const objects = record.batches.flatMap((batch) =>
    batch.items.map((item) => {
      let itemStatus: EmulatedStatus;
      if (status === 'notStarted') itemStatus = 'notStarted';
      else if (status === 'inProgress') {
        const at = attemptClock(now);
        itemStatus = batch.end <= at ? 'succeeded' : batch.start <= at ? 'inProgress' : 'notStarted';
      } else if (status === 'succeeded') itemStatus = 'succeeded';
      else if (status === 'cancelled') itemStatus = partial && batch.end <= (timeout === undefined ? (record.cancelledAt ?? 0) : lastAttemptTime) ? 'succeeded' : 'cancelled';
      else if (status === 'timedOut') itemStatus = partial && batch.end <= lastAttemptTime ? 'succeeded' : batch.start === Number.POSITIVE_INFINITY ? 'notStarted' : 'cancelled';
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
  const reachedItems = record.batches.filter((batch) => batch.start <= stoppedAt).flatMap((batch) => batch.items);
  const itemAttempts = Math.max(1, ...reachedItems.map((item) => Math.min(item.failAttempts, record.retryCount) + 1));
  const attempts =
    stoppedAt < record.processingStart
      ? 0
      : timeout !== undefined
        ? Math.min(record.wholeAttempts, Math.floor((Math.min(stoppedAt, record.end - 1) - record.processingStart) / timeout) + 1)
        : itemAttempts;
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
    attempts,
  };
}

/** AAS syncstate over the operation's life: 0 replicating, 1 rehydrating, 4 finalizing, then 2 (or 3). */
export function syncStateAt(sync: SyncRecord, now: number): 0 | 1 | 2 | 3 | 4 {
  const elapsed = now - sync.startedAt;
  if (elapsed >= sync.durationMs) return sync.fail ? 3 : 2;
  const fraction = elapsed / sync.durationMs;
  return fraction < 0.4 ? 0 : fraction < 0.8 ? 1 : 4;
}
