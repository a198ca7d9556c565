import { OrchestrationRuntimeStatus, type DurableClient, type DurableOrchestrationStatus } from 'durable-functions';
import { backends } from '../backends';
import { readRunRequest, targetOf, type OrchestrationInput, type RunProgress, type RunResult } from '../orchestration/contracts';
import type { RefreshTarget } from '../refresh/target';
import type { RefreshRequest } from '../refresh/types';
import { runIdPrefix } from '../claims/modelClaim';
import { queryStatusPage } from './statusPages';

/** Finding this app's runs through the Durable client: for the HTTP handlers and the getRunState activity. */

const ACTIVE_RUNTIME_STATUSES: OrchestrationRuntimeStatus[] = [
  OrchestrationRuntimeStatus.Pending,
  OrchestrationRuntimeStatus.Running,
  OrchestrationRuntimeStatus.ContinuedAsNew,
  OrchestrationRuntimeStatus.Suspended,
];

/**
 * When the run began: its own start, carried across continueAsNew in its input (and shown in its
 * custom status). Never `createdTime` once the run has started: Azure Storage's tracking store
 * overwrites an instance's CreatedTime with each new execution's start (continueAsNew), so a
 * long run would look newer than a run queued behind it. Before the first execution has run,
 * `createdTime` is still the instance's creation.
 */
export function runStartedAt(status: Pick<DurableOrchestrationStatus, 'input' | 'customStatus' | 'createdTime'>): Date {
  const input = status.input as OrchestrationInput | undefined;
  const shown = status.customStatus as Partial<RunProgress> | null | undefined;
  const candidates = [input?.carried?.progress.startedAt, typeof shown === 'object' && shown !== null ? shown.startedAt : undefined];
  for (const candidate of candidates) {
    if (typeof candidate === 'string' && Number.isFinite(Date.parse(candidate))) return new Date(candidate);
  }
  return new Date(status.createdTime);
}

/** Refreshes of the same shape: same type and the same objects, in any order. */
export function refreshShape(refresh: Pick<RefreshRequest, 'type' | 'objects'>): string {
  const objects = refresh.objects.map((object) => `${object.table}/${object.partition ?? ''}`).sort();
  return `${refresh.type.toLowerCase()}|${JSON.stringify(objects)}`;
}

/**
 * How long this app's succeeded runs of the same shape on the model took in AAS (refresh start
 * to end), newest first: the app's own record of finished runs, kept in the task hub (so only as
 * far back as RUN_RETENTION_DAYS keeps them).
 */
export async function finishedRunDurations(client: DurableClient, target: RefreshTarget, refresh: Pick<RefreshRequest, 'type' | 'objects'>): Promise<number[]> {
  const key = modelKey(target);
  // One page: the model's newest 100 completed runs (run ids start with the model's prefix, then
  // the inverted time), whatever the task hub holds. Runs from before issue 12 (plain UUID ids)
  // are not among them.
  const { statuses } = await queryStatusPage(client, { top: 100, instanceIdPrefix: `${runIdPrefix(key)}-`, runtimeStatus: [OrchestrationRuntimeStatus.Completed], showInput: true });
  const shape = refreshShape(refresh);
  return statuses
    .flatMap((status) => {
      const request = readRunRequest((status.input as OrchestrationInput | undefined)?.request);
      const output = status.output as Partial<RunResult> | null | undefined;
      if (request === undefined || typeof output !== 'object' || output === null || output.status !== 'succeeded') return [];
      if (!hasAdapter(request) || modelKey(targetOf(request)) !== key || refreshShape(request.refresh) !== shape) return [];
      const duration = Date.parse(output.refreshEndTime ?? '') - Date.parse(output.refreshStartTime ?? '');
      return Number.isFinite(duration) && duration > 0 ? [{ duration, endedAt: Date.parse(output.endedAt ?? '') || 0 }] : [];
    })
    .sort((a, b) => b.endedAt - a.endedAt)
    .map((run) => run.duration);
}

/** Whether a run has ended (or never existed): what a queued run waits for. */
export async function runHasEnded(client: DurableClient, runId: string): Promise<boolean> {
  const status = await getStatusOrUndefined(client, runId, false);
  return status === undefined || !isActive(status);
}

/**
 * A run holds its model until its outcome is decided. Delivering the callback comes after that
 * (the orchestration is still Running, its custom status shows the outcome) and holds nothing.
 */
function isActive(status: Pick<DurableOrchestrationStatus, 'runtimeStatus' | 'customStatus'>): boolean {
  if (!ACTIVE_RUNTIME_STATUSES.includes(status.runtimeStatus)) return false;
  const shown = status.customStatus as Partial<RunProgress> | null | undefined;
  return !(typeof shown === 'object' && shown !== null && typeof shown.outcome === 'string');
}

/** The instance's status, or undefined when the task hub does not know it (DurableClient throws on 404). */
export async function getStatusOrUndefined(client: DurableClient, id: string, showInput: boolean): Promise<DurableOrchestrationStatus | undefined> {
  try {
    return await client.getStatus(id, { showInput });
  } catch (error) {
    if (error instanceof Error && error.message.includes('HTTP 404')) return undefined;
    throw error;
  }
}

/**
 * The one-run-per-model key, as the target's backend defines it (AAS: the server without `:rw`,
 * case-insensitively, and the model; Power BI: the resolved workspace and semantic model ids).
 */
export function modelKey(target: RefreshTarget): string {
  return backends.forTarget(target).modelKey(target);
}

function hasAdapter(target: RefreshTarget): boolean {
  return backends.has(target.backend);
}

/** What `GET /api/refreshes` filters on: AAS server and/or model, or Power BI workspace and/or semantic model. */
export type TargetFilter = { server?: string; model?: string; workspace?: string; semanticModel?: string };

/**
 * Whether a run's target is what a list filter names. AAS: a field matches when putting it into
 * the target leaves the target's key unchanged (so `:rw` and case do not matter, as for the busy
 * check). Power BI: a field matches the name the run was given or the id it resolved, case-insensitively.
 */
export function targetMatches(target: RefreshTarget, filter: TargetFilter): boolean {
  const aasFilter = filter.server !== undefined || filter.model !== undefined;
  const powerBiFilter = filter.workspace !== undefined || filter.semanticModel !== undefined;
  if (target.backend === 'aas') {
    if (powerBiFilter) return false;
    if (!aasFilter) return true;
    const substituted = { ...target, ...(filter.server === undefined ? {} : { server: filter.server }), ...(filter.model === undefined ? {} : { model: filter.model }) };
    return modelKey(substituted) === modelKey(target);
  }
  if (aasFilter) return false;
  const same = (given: string | undefined, ...values: (string | undefined)[]) => given === undefined || values.some((value) => value !== undefined && value.toLowerCase() === given.toLowerCase());
  return same(filter.workspace, target.workspace, target.workspaceId) && same(filter.semanticModel, target.semanticModel, target.semanticModelId);
}
