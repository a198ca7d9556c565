import * as df from 'durable-functions';
import type { DurableClient, EntityContext } from 'durable-functions';

/**
 * The recent-runs index: the ids of the newest RECENT_RUNS_KEPT runs of every model, newest
 * first, kept as the state of one Durable entity (`recentruns`, key `all`). It is what lets
 * GET /api/refreshes list runs newest first across models without reading the task hub, whose
 * status query returns instances in instance-id order (Azure Table), that is model by model.
 *
 * Every new run is added with a signal (its enqueue awaited, one HTTP round trip; its processing
 * not: the entity applies it later), sent where every run starts (the API's startRun: POST and
 * the schedules' timers). The engine runs one
 * batch of operations at a time per entity id and stores the state once per batch, so many POSTs at
 * once queue their signals and are added in batches, none lost to a concurrent write. A list page
 * reads the state once (one entity read), then the page's runs by id.
 *
 * The order needs no time of its own: a run id is `<16 hex model prefix>-<12 hex inverted time>-
 * <uuid>`, so the id without its model prefix sorts newest first (runListKey). The index keeps
 * ids only; a run purged since (retention, an operator) is skipped when its page is read, and
 * the list tells the index to forget it (`forget`), so it costs one read, not one on every page.
 */

/** Entity names are case-insensitive in the extension and stored lower case. */
export const RECENT_RUNS_ENTITY = 'recentruns';
const RECENT_RUNS_KEY = 'all';

/**
 * How many ids the index keeps. Its state, JSON in the entity's scheduler state, is then about
 * 22,000 characters (44 KB of UTF-16), under the 60 KB that Azure Storage keeps in the instance's
 * table row (larger is moved to a blob and read back on every entity read): six pages of 50.
 */
export const RECENT_RUNS_KEPT = 300;

export const RecentRunsOperations = { add: 'add', forget: 'forget' } as const;

export interface RecentRunsState {
  /** Run ids, newest first (ascending runListKey), at most RECENT_RUNS_KEPT. */
  ids: string[];
}

/** A run id this app makes since issue 12: the model prefix, the inverted time, a UUID. */
const TIMED_RUN_ID = /^[0-9a-f]{16}-([0-9a-f]{12}-[0-9a-f-]{36})$/;

/**
 * The id's place in the newest-first order across models: the id without its model prefix (the
 * inverted creation time, then the UUID), compared as text. undefined for ids without a time (runs
 * started before issue 12 had plain UUIDs).
 */
export function runListKey(id: string): string | undefined {
  return TIMED_RUN_ID.exec(id)?.[1];
}

/** The state after adding `id`: in its place, once, the oldest past RECENT_RUNS_KEPT dropped. */
export function addRecentRun(state: RecentRunsState, id: string, kept = RECENT_RUNS_KEPT): RecentRunsState {
  const key = runListKey(id);
  if (key === undefined || state.ids.includes(id)) return state;
  const at = state.ids.findIndex((other) => (runListKey(other) ?? '') > key);
  const ids = at < 0 ? [...state.ids, id] : [...state.ids.slice(0, at), id, ...state.ids.slice(at)];
  return { ids: ids.slice(0, kept) };
}

/** The state without `ids` (runs the task hub no longer has). */
export function withoutRuns(state: RecentRunsState, ids: readonly string[]): RecentRunsState {
  const gone = new Set(ids);
  return { ids: state.ids.filter((id) => !gone.has(id)) };
}

/**
 * The `recentruns` entity: `add` with a new run's id, `forget` with ids of runs that are gone.
 * Signals only: an operation that throws changes nothing, and its sender is not waiting.
 */
export function recentRunsEntity(context: EntityContext<RecentRunsState>): void {
  const stored = context.df.getState(() => ({ ids: [] })) ?? { ids: [] };
  const current = { ids: Array.isArray(stored.ids) ? stored.ids : [] };
  const operation = context.df.operationName;
  const input = context.df.getInput<unknown>();
  switch (operation) {
    case RecentRunsOperations.add:
      if (typeof input !== 'string' || runListKey(input) === undefined) throw new Error('The recentruns operation "add" needs a run id of the form <16 hex>-<12 hex>-<uuid>.');
      context.df.setState(addRecentRun(current, input));
      return;
    case RecentRunsOperations.forget:
      if (!Array.isArray(input) || !input.every((id) => typeof id === 'string')) throw new Error('The recentruns operation "forget" needs a list of run ids.');
      context.df.setState(withoutRuns(current, input as string[]));
      return;
    default:
      throw new Error(`The recentruns entity has no operation "${String(operation).slice(0, 64)}".`);
  }
}

const recentRunsId = () => new df.EntityId(RECENT_RUNS_ENTITY, RECENT_RUNS_KEY);

/** Adds a new run to the index (a signal: the entity adds it in its next batch). */
export async function signalRunCreated(client: DurableClient, runId: string): Promise<void> {
  await client.signalEntity(recentRunsId(), RecentRunsOperations.add, runId);
}

/** The index, newest first; empty before the first run was added. */
export async function readRecentRuns(client: DurableClient): Promise<string[]> {
  const read = await client.readEntityState<RecentRunsState>(recentRunsId());
  const ids = read.entityExists ? read.entityState?.ids : undefined;
  const valid = Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string' && runListKey(id) !== undefined) : [];
  return valid.sort((a, b) => ((runListKey(a) ?? '') < (runListKey(b) ?? '') ? -1 : 1));
}

/** Tells the index that these runs are gone (a signal; a lost one costs a read again next time). */
export async function forgetRecentRuns(client: DurableClient, ids: string[]): Promise<void> {
  await client.signalEntity(recentRunsId(), RecentRunsOperations.forget, ids).catch(() => undefined);
}
