import { OrchestrationRuntimeStatus, type DurableClient, type DurableOrchestrationStatus } from 'durable-functions';
import type { RefreshRequest } from '../backends/aas/types';
import type { OrchestrationInput, RunProgress, RunResult } from '../orchestration/contracts';

/** Finding this app's runs through the Durable client: for the HTTP handlers and the getRunState activity. */

const ACTIVE_RUNTIME_STATUSES: OrchestrationRuntimeStatus[] = [
  OrchestrationRuntimeStatus.Pending,
  OrchestrationRuntimeStatus.Running,
  OrchestrationRuntimeStatus.ContinuedAsNew,
  OrchestrationRuntimeStatus.Suspended,
];

/** The newest active run of this app on the model: a new run queues behind it. */
export async function findActiveRun(client: DurableClient, server: string, model: string): Promise<string | undefined> {
  const statuses = await client.getStatusBy({ runtimeStatus: ACTIVE_RUNTIME_STATUSES });
  const key = modelKey(server, model);
  const active = statuses.filter((status) => {
    const request = (status.input as OrchestrationInput | undefined)?.request;
    return request !== undefined && isActive(status) && modelKey(request.server, request.model) === key;
  });
  // A run another active run queues behind is not the newest, whatever the clocks say.
  const queuedBehind = new Set(active.map((status) => (status.input as OrchestrationInput).predecessorRunId));
  return active.filter((status) => !queuedBehind.has(status.instanceId)).sort((a, b) => runStartedAt(b).getTime() - runStartedAt(a).getTime())[0]?.instanceId;
}

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
 * far back as the task hub's purge policy keeps them).
 */
export async function finishedRunDurations(client: DurableClient, server: string, model: string, refresh: Pick<RefreshRequest, 'type' | 'objects'>): Promise<number[]> {
  const statuses = await client.getStatusBy({ runtimeStatus: [OrchestrationRuntimeStatus.Completed] });
  const key = modelKey(server, model);
  const shape = refreshShape(refresh);
  return statuses
    .flatMap((status) => {
      const request = (status.input as OrchestrationInput | undefined)?.request;
      const output = status.output as Partial<RunResult> | null | undefined;
      if (request === undefined || typeof output !== 'object' || output === null || output.status !== 'succeeded') return [];
      if (modelKey(request.server, request.model) !== key || refreshShape(request.refresh) !== shape) return [];
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

/** Server names compare without the `:rw` suffix and case-insensitively; model names exactly. */
export function modelKey(server: string, model: string): string {
  return `${normaliseServer(server)}|${model}`;
}

export function sameServer(a: string, b: string): boolean {
  return normaliseServer(a) === normaliseServer(b);
}

function normaliseServer(server: string): string {
  return server.trim().toLowerCase().replace(/:rw$/, '').replace(/\/+$/, '');
}
