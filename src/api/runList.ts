import { OrchestrationRuntimeStatus, type DurableClient } from 'durable-functions';
import { runIdPrefix } from '../claims/modelClaim';
import { queryStatusPage, type InstanceStatus } from './statusPages';

/**
 * GET /api/refreshes, one page of the task hub at a time (docs/scale-out.md, "Bounded queries"):
 * the filters the Durable status query knows go into it (created-time range, runtime statuses, the
 * model as an instance id prefix), the rest refine that page. A request reads one page, whatever
 * the task hub holds.
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
 * The order of a list's pages, said in the answer: `newestFirst` when the query named one model
 * (its run id prefix: the model's runs newest first, page after page); `byModel` otherwise (run ids
 * begin with the model's key, so pages go model by model, newest first within each model). Each
 * page is sorted newest first either way.
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
 * One page. `toView` turns a status into the API's run (undefined for other instances, such as
 * entities); `keep` refines what the query could not (the API status, a server name).
 */
export async function listRunPage<View extends { createdAt: string }>(
  client: DurableClient,
  query: RunListQuery,
  toView: (status: InstanceStatus) => View | undefined,
  keep: (view: View) => boolean,
): Promise<RunListPage<View>> {
  const page = await queryStatusPage(client, {
    top: query.limit,
    showInput: true,
    ...(query.modelKey === undefined ? {} : { instanceIdPrefix: `${runIdPrefix(query.modelKey)}-` }),
    ...(query.createdFrom === undefined ? {} : { createdTimeFrom: query.createdFrom }),
    ...(query.createdTo === undefined ? {} : { createdTimeTo: query.createdTo }),
    ...(query.status === undefined ? {} : { runtimeStatus: RUNTIME_STATUSES_OF[query.status] ?? ACTIVE }),
    ...(query.continuationToken === undefined ? {} : { continuationToken: query.continuationToken }),
  });
  const runs = page.statuses
    .map(toView)
    .filter((view): view is View => view !== undefined && keep(view))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return { runs, order: query.modelKey === undefined ? 'byModel' : 'newestFirst', ...(page.continuationToken === undefined ? {} : { continuationToken: encodeContinuationToken(page.continuationToken) }) };
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
