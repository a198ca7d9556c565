import { OrchestrationRuntimeStatus, type DurableClient } from 'durable-functions';
import { runIdPrefix } from '../claims/modelClaim';
import { FunctionNames } from '../orchestration/contracts';
import { forgetRecentRuns, readRecentRuns, runListKey } from './recentRuns';
import { getStatusOrUndefined } from './runLookup';
import { queryStatusPage, type InstanceStatus } from './statusPages';

/**
 * GET /api/refreshes, one page's work at a time (docs/scale-out.md, "Bounded queries"): a model
 * named in full is one page of the Durable status query (the run id prefix); without it, the
 * recent-runs index (src/api/recentRuns.ts) names the page's runs, newest first across models, and
 * past its window the status query goes on. The filters the query can apply go into it
 * (createdFrom, runtime statuses), the rest refine the page (createdTo among them). A request
 * reads one page, whatever the task hub holds.
 */

const ACTIVE: OrchestrationRuntimeStatus[] = [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.ContinuedAsNew, OrchestrationRuntimeStatus.Suspended];
const { Completed, Failed, Terminated, Running } = OrchestrationRuntimeStatus;

/**
 * Runtime statuses a run with this API status can have. A finished outcome is decided while the
 * orchestration is still Running (delivering its callback), hence Running beside the final ones.
 */
export const RUNTIME_STATUSES_OF: Record<string, OrchestrationRuntimeStatus[]> = {
  pending: ACTIVE,
  waiting: ACTIVE,
  refreshing: ACTIVE,
  cancelling: ACTIVE,
  syncing: ACTIVE,
  succeeded: [Completed, Running],
  failed: [Completed, Failed, Running],
  cancelled: [Completed, Terminated, Running],
  timedOut: [Completed, Running],
};

export interface RunListQuery {
  limit: number;
  /** The model's key (backend modelKey): pushed into the query as the run id prefix. */
  modelKey?: string;
  status?: string;
  createdFrom?: Date;
  createdTo?: Date;
  /** As this API handed it out (encodeContinuationToken). */
  continuationToken?: string;
}

/**
 * The order of a list's pages, said in the answer. `newestFirst`: newest first across pages; with
 * a model named in full, that model's runs (the run id prefix); without, the runs of every model
 * that the recent-runs index names (its newest RECENT_RUNS_KEPT). `byModel`: past the index's
 * window, the older runs in the task hub's order (run ids begin with the model's key, so model by
 * model, newest first within each model). Each page is sorted newest first either way.
 */
export type RunListOrder = 'newestFirst' | 'byModel';

export interface RunListPage<View> {
  runs: View[];
  order: RunListOrder;
  /** Present when the task hub has more: pass it back as `continuationToken`. */
  continuationToken?: string;
}

/** The engine's token travels base64url-encoded, so any character it holds survives a query string. */
export function encodeContinuationToken(token: string): string {
  return Buffer.from(token, 'utf8').toString('base64url');
}

/** undefined when the text is not a token this API gave out. */
export function decodeContinuationToken(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,4096}$/.test(text)) return undefined;
  const token = Buffer.from(text, 'base64url').toString('utf8');
  return token.length > 0 && encodeContinuationToken(token) === text ? token : undefined;
}

/**
 * Where a list without a model filter goes on. `recent`: in the index, after the run whose key is
 * `after`. `older`: past the index, in the task hub's order from the engine's token (none: from
 * the start), leaving out runs at or before `after` in the newest-first order (the index's pages
 * listed them). A token of the engine's own (given out before the index) goes on in its order.
 */
type AcrossModels = { phase: 'recent'; after: string } | { phase: 'older'; after?: string; engine?: string };

const KEY = '[0-9a-f]{12}-[0-9a-f-]{36}';
const RECENT_TOKEN = new RegExp(`^recent:(${KEY})$`);
const OLDER_TOKEN = new RegExp(`^older:(${KEY})?:(.*)$`, 's');

function readAcrossModels(token: string | undefined): AcrossModels | undefined {
  if (token === undefined) return undefined;
  const recent = RECENT_TOKEN.exec(token);
  if (recent?.[1] !== undefined) return { phase: 'recent', after: recent[1] };
  const older = OLDER_TOKEN.exec(token);
  if (older === null) return { phase: 'older', engine: token };
  return { phase: 'older', ...(older[1] === undefined ? {} : { after: older[1] }), ...(older[2] === undefined || older[2] === '' ? {} : { engine: older[2] }) };
}

function olderToken(after: string | undefined, engine: string | undefined): string {
  return encodeContinuationToken(`older:${after ?? ''}:${engine ?? ''}`);
}

/** Rounds of index reads on one page while it has fewer than `limit` runs (at most limit reads each). */
const INDEX_ROUNDS = 3;

/** Runs read by id at once on a page from the index. */
const READS_IN_FLIGHT = 10;

type QueryFilters = Pick<RunListQuery, 'status' | 'createdFrom' | 'createdTo'>;

/** Whether a run's start (its view's createdAt) is within the query's created-time range. */
function createdWithin(createdAt: string, query: QueryFilters): boolean {
  const at = Date.parse(createdAt);
  return (query.createdFrom === undefined || at >= query.createdFrom.getTime()) && (query.createdTo === undefined || at <= query.createdTo.getTime());
}

/**
 * One page. `toView` turns a status into the API's run (undefined for other instances, such as
 * entities); `keep` refines what the query could not (the API status, a server name).
 *
 * A model named in full is the run id prefix of one status query page. Without it, the page comes
 * from the recent-runs index (one entity read, then runs read by id, newest first across models:
 * `limit` at a time, read on while the page has fewer than `limit` runs, at most INDEX_ROUNDS
 * times, so that purged runs or a selective filter do not leave it empty); once the index has no
 * more, the page is filled, and the next pages go on, with the task hub's older runs in its own
 * order (`byModel`). Either way one page's work: at most INDEX_ROUNDS * `limit` instances read,
 * whatever the task hub holds.
 */
export async function listRunPage<View extends { createdAt: string }>(
  client: DurableClient,
  query: RunListQuery,
  toView: (status: InstanceStatus) => View | undefined,
  keep: (view: View) => boolean,
): Promise<RunListPage<View>> {
  const newestFirst = (views: View[]) => views.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const kept = (view: View | undefined): view is View => view !== undefined && keep(view) && createdWithin(view.createdAt, query);
  if (query.modelKey !== undefined) {
    const page = await queryPage(client, query, query.limit, query.continuationToken, `${runIdPrefix(query.modelKey)}-`);
    const runs = newestFirst(page.statuses.map(toView).filter(kept));
    return { runs, order: 'newestFirst', ...(page.continuationToken === undefined ? {} : { continuationToken: encodeContinuationToken(page.continuationToken) }) };
  }
  const at = readAcrossModels(query.continuationToken);
  const fromIndex: View[] = [];
  let readFromIndex = 0;
  let after = at?.after;
  if (at === undefined || at.phase === 'recent') {
    const index = await readRecentRuns(client);
    let rest = after === undefined ? index : index.filter((id) => (runListKey(id) ?? '') > (after ?? ''));
    // Purged runs (forgotten only once read) and a selective filter can leave a round without a
    // run: read on, at most INDEX_ROUNDS rounds of at most `limit` reads each.
    for (let round = 0; round < INDEX_ROUNDS && rest.length > 0 && fromIndex.length < query.limit; round += 1) {
      const room = query.limit - fromIndex.length;
      const ids = rest.slice(0, room);
      rest = rest.slice(ids.length);
      const statuses = await readByIds(client, ids);
      readFromIndex += ids.length;
      const gone = ids.filter((_, i) => statuses[i] === undefined);
      if (gone.length > 0) await forgetRecentRuns(client, gone);
      fromIndex.push(...statuses.map((status) => (status === undefined || status.name !== FunctionNames.refreshOrchestrator ? undefined : toView(status))).filter(kept));
      after = runListKey(ids[ids.length - 1] ?? '') ?? after;
    }
    // In the index's order: created newest first, across pages too.
    if (rest.length > 0) return { runs: fromIndex, order: 'newestFirst', continuationToken: encodeContinuationToken(`recent:${after ?? ''}`) };
    // The index has no more: the page's room left, and the pages after it, go to the older runs.
    if (readFromIndex >= query.limit) return { runs: fromIndex, order: 'newestFirst', continuationToken: olderToken(after, undefined) };
  }
  const page = await queryPage(client, query, query.limit - readFromIndex, at?.phase === 'older' ? at.engine : undefined, undefined);
  // Runs at or before `after` in the newest-first order were on the index's pages.
  const older = page.statuses.filter((status) => {
    const key = runListKey(status.instanceId);
    return after === undefined || key === undefined || key > after;
  });
  const olderRuns = newestFirst(older.map(toView).filter(kept));
  // byModel once the page holds runs past the index (or is past it); until then the runs listed
  // are the index's, newest first.
  const order = olderRuns.length > 0 || at?.phase === 'older' ? 'byModel' : 'newestFirst';
  return { runs: [...fromIndex, ...olderRuns], order, ...(page.continuationToken === undefined ? {} : { continuationToken: olderToken(after, page.continuationToken) }) };
}

/** One page of the status query with the filters it can apply without dropping a run. */
function queryPage(client: DurableClient, query: RunListQuery, top: number, continuationToken: string | undefined, instanceIdPrefix: string | undefined) {
  return queryStatusPage(client, {
    top,
    showInput: true,
    ...(instanceIdPrefix === undefined ? {} : { instanceIdPrefix }),
    // createdFrom only: Azure Storage overwrites createdTime at each continue-as-new (runLookup.ts,
    // runStartedAt), so it is never earlier than the run's start, but a long run that started
    // before createdTo can have a later one. createdTo refines the page (createdWithin); the page
    // still reads at most `top` instances.
    ...(query.createdFrom === undefined ? {} : { createdTimeFrom: query.createdFrom }),
    ...(query.status === undefined ? {} : { runtimeStatus: RUNTIME_STATUSES_OF[query.status] ?? ACTIVE }),
    ...(continuationToken === undefined ? {} : { continuationToken }),
  });
}

/** The runs, in the order given; undefined for one the task hub no longer has (purged). */
async function readByIds(client: DurableClient, ids: string[]): Promise<(InstanceStatus | undefined)[]> {
  const statuses: (InstanceStatus | undefined)[] = new Array<InstanceStatus | undefined>(ids.length).fill(undefined);
  let next = 0;
  const reader = async () => {
    while (next < ids.length) {
      const index = next;
      next += 1;
      statuses[index] = await getStatusOrUndefined(client, ids[index] ?? '', true);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, ids.length) }, reader));
  return statuses;
}

/**
 * A new run's id: the model's prefix, then the time inverted (so that a model's runs come newest
 * first in the task hub's id order, page after page), then a UUID.
 */
export function newRunId(modelKey: string, uuid: string, nowMs: number): string {
  const inverted = (MAX_TIME_MS - Math.max(0, Math.min(nowMs, MAX_TIME_MS))).toString(16).padStart(12, '0');
  return `${runIdPrefix(modelKey)}-${inverted}-${uuid}`;
}

/** 2^48 - 1 ms: the year 10889, so the inverted time always fits 12 hex digits. */
const MAX_TIME_MS = 2 ** 48 - 1;

/** Run ids this API hands out: a UUID (runs before issue 12) or `<16 hex>-<12 hex>-<uuid>`. */
export const RUN_ID_PATTERN = /^([0-9a-f]{16}-[0-9a-f]{12}-)?[0-9a-fA-F-]{36}$/;
