import type { DurableOrchestrationStatus } from 'durable-functions';
import { FINAL_STATUSES, readProgress, readRunRequest, targetOf, type OrchestrationInput, type RunError, type RunProgress, type RunResult, type RunStatus, type StoredProgress } from '../orchestration/contracts';
import { ErrorCodes, kindOfCode, type ErrorKind } from '../errors';
import { backendLabel, type BackendName, type RefreshTarget } from '../refresh/target';
import type { RefreshStatus, SyncStatus } from '../refresh/types';
import { countObjectsByStatus } from '../orchestration/statusSummary';
import { runStartedAt } from './runLookup';

/** The target as the API shows it: AAS `server` + `model`, Power BI `workspace` + `semanticModel` and the ids the run resolved. */
export type TargetView =
  | { backend: 'aas'; server: string; model: string }
  | { backend: 'powerbi'; workspace: string; semanticModel: string; workspaceId?: string; semanticModelId?: string };

export function targetFields(target: RefreshTarget): TargetView {
  if (target.backend === 'aas') return { backend: 'aas', server: target.server, model: target.model };
  return {
    backend: 'powerbi',
    workspace: target.workspace,
    semanticModel: target.semanticModel,
    ...(target.workspaceId === undefined ? {} : { workspaceId: target.workspaceId }),
    ...(target.semanticModelId === undefined ? {} : { semanticModelId: target.semanticModelId }),
  };
}

/** A run as the API shows it: one shape for running and finished runs, for either backend. */
export type RunView = TargetView & RunViewFacts;

export interface RunViewFacts {
  id: string;
  status: RunStatus;
  backend: BackendName;
  /** AAS runs: the server (kept at the top level, as before the backend port). */
  server?: string;
  model?: string;
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
    applyRefreshPolicy?: boolean;
    effectiveDate?: string;
  };
  createdAt: string;
  lastUpdatedAt: string;
  startedAt?: string;
  endedAt?: string;
  deadline?: string;
  refreshId?: string;
  adopted?: boolean;
  /** The refresh's status in its service, in neutral words (notStarted, inProgress, succeeded, failed, cancelled, timedOut). */
  refreshStatus?: RefreshStatus;
  /** Deprecated, AAS runs only: the same as refreshStatus (kept for callers written before Power BI support). */
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
  /** The replica sync: running, succeeded or failed. */
  syncStatus?: SyncStatus;
  /** Deprecated, AAS runs only: AAS's syncstate number (0 replicating, 1 rehydrating, 2 completed, 3 failed, 4 finalizing). */
  syncState?: number;
  syncDetails?: string | null;
  statusCalls: number;
  expectedDurationSeconds?: number;
  nextPollAt?: string;
  lastIssue?: ViewError;
  note?: string;
  error?: ViewError;
  callback?: RunResult['callback'];
}

export { FINAL_STATUSES };

/** A run's error as shown: its code and message, and the neutral kind when the code is a backend's answer. */
export type ViewError = RunError & { kind?: ErrorKind };

function withKind(error: RunError | undefined): ViewError | undefined {
  if (error === undefined) return undefined;
  const kind = kindOfCode(error.code);
  return kind === undefined ? error : { ...error, kind };
}

/** Builds the view from the durable status; undefined when the instance is not a refresh run. */
export function toRunView(status: DurableOrchestrationStatus): RunView | undefined {
  const input = status.input as OrchestrationInput | undefined;
  // Inputs written before the backend port have no `backend`: AAS.
  const request = readRunRequest(input?.request);
  if (request === undefined) return undefined;
  const target = targetOf(request);
  const storedProgress = (status.customStatus ?? input?.carried?.progress) as StoredProgress | undefined;
  const progress = storedProgress === undefined || storedProgress === null ? undefined : readProgress(storedProgress);
  const storedOutput = status.runtimeStatus === 'Completed' ? (status.output as (RunResult & Partial<StoredProgress>) | undefined) : undefined;
  const output = storedOutput === undefined || storedOutput === null ? undefined : readProgress(storedOutput);
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
      error = { code: ErrorCodes.RUN_CANCELLED, message: `The run was terminated through the Durable Functions management API; the ${backendLabel(target.backend)} refresh was not cancelled by it.` };
      break;
    default:
      // The outcome is decided before the callback is delivered; show it from then on.
      // While the run cancels its refresh (which can take a while under throttling) it says so.
      runStatus = progress?.outcome ?? (progress?.cancelling !== undefined && progress.phase !== 'syncing' ? 'cancelling' : progress?.phase) ?? 'pending';
      error = progress?.error;
  }

  const aas = target.backend === 'aas';
  const view: RunView = {
    id: status.instanceId,
    status: runStatus,
    ...targetFields(target),
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
      applyRefreshPolicy: request.refresh.applyRefreshPolicy,
      effectiveDate: request.refresh.effectiveDate,
    },
    // The run's own start, not createdTime (overwritten on continueAsNew in Azure).
    createdAt: runStartedAt(status).toISOString(),
    lastUpdatedAt: toIso(status.lastUpdatedTime),
    startedAt: facts.startedAt,
    endedAt: output?.endedAt ?? progress?.endedAt,
    deadline: facts.deadline,
    refreshId: facts.refreshId,
    adopted: facts.adopted,
    refreshStatus: facts.refreshStatus,
    aasStatus: aas ? facts.refreshStatus : undefined,
    refreshStartTime: facts.refreshStartTime,
    refreshEndTime: facts.refreshEndTime,
    objects: facts.objects ?? [],
    objectCounts: facts.objectCounts ?? countObjectsByStatus(facts.objects ?? []),
    objectsTruncated: output === undefined ? progress?.objectsTruncated : undefined,
    messages: facts.messages ?? [],
    committedObjects: output?.committedObjects,
    syncOperationId: facts.syncOperationId,
    syncStatus: facts.syncStatus,
    syncState: aas && typeof facts.syncServiceState === 'number' ? facts.syncServiceState : undefined,
    syncDetails: facts.syncDetails,
    statusCalls: facts.statusCalls ?? 0,
    expectedDurationSeconds: facts.expectedDurationMs === undefined ? undefined : Math.round(facts.expectedDurationMs / 1000),
    nextPollAt: FINAL_STATUSES.has(runStatus) ? undefined : progress?.nextPollAt,
    lastIssue: withKind(facts.lastIssue),
    note: facts.note,
    error: withKind(error),
    callback: output?.callback,
  };
  return JSON.parse(JSON.stringify(view)) as RunView; // drops undefined fields
}

function toIso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}
