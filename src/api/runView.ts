import type { DurableOrchestrationStatus } from 'durable-functions';
import type { OrchestrationInput, RunError, RunProgress, RunResult, RunStatus } from '../orchestration/contracts';
import { ErrorCodes } from '../errors';
import { countObjectsByStatus } from '../orchestration/statusSummary';
import { runStartedAt } from './runLookup';

/** A run as the API shows it: one shape for running and finished runs. */
export interface RunView {
  id: string;
  status: RunStatus;
  server: string;
  model: string;
  source: string;
  request: {
    type: string;
    commitMode: string;
    maxParallelism: number;
    retryCount: number;
    objects: { table: string; partition?: string }[];
    sync: boolean;
    timeoutSeconds: number;
    onConflict: string;
    callback: boolean;
  };
  createdAt: string;
  lastUpdatedAt: string;
  startedAt?: string;
  endedAt?: string;
  deadline?: string;
  refreshId?: string;
  adopted?: boolean;
  aasStatus?: string;
  refreshStartTime?: string;
  refreshEndTime?: string;
  objects: { table: string; partition?: string; status: string }[];
  /** Objects per status. While running, `objects` lists at most the first 50 (objectsTruncated). */
  objectCounts: Record<string, number>;
  objectsTruncated?: boolean;
  messages: { code?: string; message: string; type?: string }[];
  committedObjects?: { table: string; partition?: string; status: string }[];
  syncOperationId?: string;
  syncState?: number;
  syncDetails?: string | null;
  statusCalls: number;
  expectedDurationSeconds?: number;
  nextPollAt?: string;
  lastIssue?: RunError;
  note?: string;
  error?: RunError;
  callback?: RunResult['callback'];
}

export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled', 'timedOut']);

/** Builds the view from the durable status; undefined when the instance is not a refresh run. */
export function toRunView(status: DurableOrchestrationStatus): RunView | undefined {
  const input = status.input as OrchestrationInput | undefined;
  const request = input?.request;
  if (request === undefined || typeof request.server !== 'string') return undefined;
  const progress = (status.customStatus ?? input?.carried?.progress) as RunProgress | undefined;
  const output = status.runtimeStatus === 'Completed' ? (status.output as RunResult | undefined) : undefined;
  const facts: Partial<RunResult & RunProgress> = output ?? progress ?? {};

  let runStatus: RunStatus;
  let error: RunError | undefined = output?.error;
  switch (status.runtimeStatus) {
    case 'Completed':
      runStatus = output?.status ?? 'failed';
      break;
    case 'Failed':
      runStatus = 'failed';
      error = { code: ErrorCodes.INTERNAL, message: 'The run stopped on an unexpected error; see the function app logs for this run id.' };
      break;
    case 'Terminated':
      runStatus = 'cancelled';
      error = { code: ErrorCodes.RUN_CANCELLED, message: 'The run was terminated through the Durable Functions management API; the AAS refresh was not cancelled by it.' };
      break;
    default:
      // The outcome is decided before the callback is delivered; show it from then on.
      // While the run cancels its refresh (which can take a while under throttling) it says so.
      runStatus = progress?.outcome ?? (progress?.cancelling !== undefined && progress.phase !== 'syncing' ? 'cancelling' : progress?.phase) ?? 'pending';
      error = progress?.error;
  }

  const view: RunView = {
    id: status.instanceId,
    status: runStatus,
    server: request.server,
    model: request.model,
    source: request.source,
    request: {
      type: request.refresh.type,
      commitMode: request.refresh.commitMode,
      maxParallelism: request.refresh.maxParallelism,
      retryCount: request.refresh.retryCount,
      objects: request.refresh.objects,
      sync: request.sync,
      timeoutSeconds: Math.round(request.timeoutMs / 1000),
      onConflict: request.onConflict,
      callback: request.callbackUrl !== undefined,
    },
    // The run's own start, not createdTime (overwritten on continueAsNew in Azure).
    createdAt: runStartedAt(status).toISOString(),
    lastUpdatedAt: toIso(status.lastUpdatedTime),
    startedAt: facts.startedAt,
    endedAt: output?.endedAt ?? progress?.endedAt,
    deadline: facts.deadline,
    refreshId: facts.refreshId,
    adopted: facts.adopted,
    aasStatus: facts.aasStatus,
    refreshStartTime: facts.refreshStartTime,
    refreshEndTime: facts.refreshEndTime,
    objects: facts.objects ?? [],
    objectCounts: facts.objectCounts ?? countObjectsByStatus(facts.objects ?? []),
    objectsTruncated: output === undefined ? progress?.objectsTruncated : undefined,
    messages: facts.messages ?? [],
    committedObjects: output?.committedObjects,
    syncOperationId: facts.syncOperationId,
    syncState: facts.syncState,
    syncDetails: facts.syncDetails,
    statusCalls: facts.statusCalls ?? 0,
    expectedDurationSeconds: facts.expectedDurationMs === undefined ? undefined : Math.round(facts.expectedDurationMs / 1000),
    nextPollAt: FINAL_STATUSES.has(runStatus) ? undefined : progress?.nextPollAt,
    lastIssue: facts.lastIssue,
    note: facts.note,
    error,
    callback: output?.callback,
  };
  return JSON.parse(JSON.stringify(view)) as RunView; // drops undefined fields
}

function toIso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}
