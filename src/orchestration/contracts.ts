import type { RefreshDetails, RefreshObjectStatus, RefreshMessage, RefreshRequest, RefreshStatus, SyncStatus } from '../refresh/types';
import { readTarget, type LegacyModelRef, type RefreshTarget } from '../refresh/target';
import { ErrorCodes, type ErrorCode } from '../errors';
import type { ClaimView, RunClaim } from '../claims/orchestration';
import type { PollingConfig } from '../config/config';

// ---- Activities: one typed map of names, inputs and results ----

/**
 * Every activity, with its input and result. Registrations (src/functions/activities.ts) and the
 * orchestrator's calls are typed from this map. Registered names are stored in orchestration
 * history: never rename one (the key is the name, see ActivityNames).
 */
export interface ActivityContracts {
  inspectModel: { input: InspectModelInput; result: InspectModelResult };
  submitRefresh: { input: SubmitRefreshInput; result: SubmitRefreshResult };
  getRefreshStatus: { input: RefreshStatusInput; result: RefreshStatusResult };
  cancelRefresh: { input: CancelRefreshInput; result: CancelRefreshResult };
  submitSync: { input: SubmitSyncInput; result: SubmitSyncResult };
  getSyncStatus: { input: SyncStatusInput; result: SyncStatusResult };
  sendCallback: { input: CallbackInput; result: CallbackResult };
  getRunState: { input: RunStateInput; result: RunStateResult };
}

export type ActivityName = keyof ActivityContracts;
export type ActivityInput<N extends ActivityName> = ActivityContracts[N]['input'];
export type ActivityResult<N extends ActivityName> = ActivityContracts[N]['result'];

/** Each activity's registered name is its key: the type makes a rename in place impossible. */
export const ActivityNames: { readonly [N in ActivityName]: N } = {
  inspectModel: 'inspectModel',
  submitRefresh: 'submitRefresh',
  getRefreshStatus: 'getRefreshStatus',
  cancelRefresh: 'cancelRefresh',
  submitSync: 'submitSync',
  getSyncStatus: 'getSyncStatus',
  sendCallback: 'sendCallback',
  getRunState: 'getRunState',
};

export const ACTIVITY_NAMES = Object.keys(ActivityNames) as ActivityName[];

/**
 * Registered function names are stored in orchestration history: never rename one in place.
 * Add a new name (and keep the old registration) if behaviour must change incompatibly.
 */
export const FunctionNames = {
  refreshOrchestrator: 'refreshOrchestrator',
  ...ActivityNames,
} as const;

/** External event the cancel endpoint raises. */
export const CANCEL_EVENT = 'cancel';

export type OnConflict = 'fail' | 'wait';

/** Everything a run request says besides its target. */
export interface RunOptions {
  refresh: RefreshRequest;
  sync: boolean;
  timeoutMs: number;
  onConflict: OnConflict;
  callbackUrl?: string;
  /** Who asked: "http", or "schedule:<name>". */
  source: string;
  /** Polling bounds from settings; orchestrators cannot read settings themselves. */
  polling: PollingConfig;
}

/**
 * A validated refresh request with every default applied: the orchestration's input. The target's
 * fields sit beside the options (`backend`, `server`, `model` or `backend`, `workspace`,
 * `semanticModel`, the resolved ids), as AAS requests always had them.
 */
export type RunRequest = RunOptions & RefreshTarget;

/** A request as stored before the backend port: AAS, without `backend`. */
export type LegacyRunRequest = RunOptions & LegacyModelRef & { backend?: undefined };

/**
 * Reads a stored request: one without `backend` (written before the backend port) is AAS.
 * Undefined when it names no target or has no refresh (not a run of this app).
 */
export function readRunRequest(value: unknown): RunRequest | undefined {
  const target = readTarget(value);
  if (target === undefined) return undefined;
  const request = value as RunOptions;
  if (typeof request.refresh !== 'object' || request.refresh === null) return undefined;
  return { ...request, ...target };
}

/** The target of a request (without the options). */
export function targetOf(request: RunRequest): RefreshTarget {
  return readTarget(request) as RefreshTarget;
}

export type RunPhase = 'pending' | 'waiting' | 'refreshing' | 'syncing';
export type RunOutcome = 'succeeded' | 'failed' | 'cancelled' | 'timedOut';
export type RunStatus = RunPhase | 'cancelling' | RunOutcome;

/**
 * The one list of run statuses, in the order a run goes through them. `cancelling`: the run is
 * cancelling its refresh in the service (on request, at the deadline or on an error).
 */
export const RUN_STATUSES = ['pending', 'waiting', 'refreshing', 'cancelling', 'syncing', 'succeeded', 'failed', 'cancelled', 'timedOut'] as const satisfies readonly RunStatus[];
export const RUN_OUTCOMES = ['succeeded', 'failed', 'cancelled', 'timedOut'] as const satisfies readonly RunOutcome[];
export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>(RUN_OUTCOMES);

/**
 * The one conversion of an outcome to an HTTP status: GET /api/refreshes/{id} answers it for a
 * finished run and the ADF callback sends it as StatusCode (an ADF Web or Webhook activity fails
 * on non-2xx).
 */
export const OUTCOME_HTTP_STATUS: Readonly<Record<RunOutcome, number>> = { succeeded: 200, failed: 500, cancelled: 500, timedOut: 504 };

export function isRunOutcome(status: RunStatus): status is RunOutcome {
  return FINAL_STATUSES.has(status);
}

export interface RunError {
  code: ErrorCode;
  message: string;
}

/** What a run knows about its refresh and sync; shown as custom status and kept in the output. */
export interface RunProgress {
  phase: RunPhase;
  /** The model's claim as the entity last answered it: granted, queued behind a run, or refused. */
  claim?: ClaimView;
  startedAt: string;
  deadline: string;
  refreshId?: string;
  /** True when the refresh was found already started by an earlier attempt of this run. */
  adopted?: boolean;
  /** The refresh's status in the service, neutral words (src/refresh/types.ts). */
  refreshStatus?: RefreshStatus;
  refreshStartTime?: string;
  refreshEndTime?: string;
  objects: RefreshObjectStatus[];
  messages: RefreshMessage[];
  syncOperationId?: string;
  syncStatus?: SyncStatus;
  /** The service's own sync state (AAS: the syncstate number), for the view's compatibility field. */
  syncServiceState?: number | string;
  syncDetails?: string | null;
  /** GET calls made to the service for refresh and sync status. */
  statusCalls: number;
  /** Median duration of the model's recent successful refreshes, which shapes polling. */
  expectedDurationMs?: number;
  nextPollAt?: string;
  /** The last transient problem (a missed poll, a busy model), for people watching. */
  lastIssue?: RunError;
  /** What a caller should know about how the run ended, e.g. a cancel that reached the service after the refresh had succeeded. */
  note?: string;
  executions: number;
  /** Objects per status; in the custom status, which lists only the first objects. */
  objectCounts?: Record<string, number>;
  /** The custom status lists only the first objects (its size is limited). */
  objectsTruncated?: boolean;
  /** Set while the run cancels its refresh; the API shows the run as `cancelling`. */
  cancelling?: 'request' | 'deadline' | 'error';
  /** Set once the outcome is decided, while the callback is still being delivered. */
  outcome?: RunOutcome;
  error?: RunError;
  endedAt?: string;
}

export interface CallbackReport {
  delivered: boolean;
  attempts?: number;
  httpStatus?: number;
  error?: string;
}

/** The orchestration's output. */
export interface RunResult extends Omit<RunProgress, 'phase' | 'nextPollAt' | 'outcome' | 'objectsTruncated' | 'cancelling'> {
  status: RunOutcome;
  endedAt: string;
  error?: RunError;
  /** Committed objects when a partialBatch refresh failed after some batches. */
  committedObjects?: RefreshObjectStatus[];
  callback?: CallbackReport;
}

/** Orchestration input: the request, plus the carried state after continueAsNew. */
export interface OrchestrationInput {
  /** Inputs written before the backend port hold a LegacyRunRequest (no `backend`): read it with readRunRequest. */
  request: RunRequest | LegacyRunRequest;
  /**
   * The run of this app that was active on the same model when this one was accepted with
   * onConflict "wait": it goes first, so that two runs never race to submit to one model.
   */
  predecessorRunId?: string;
  /**
   * The model's claim (the modelclaim entity, docs/scale-out.md): the run claims the model before
   * anything else and releases it when its outcome is decided. Runs started before issue 12 have
   * none and replay as they were recorded.
   */
  claim?: RunClaim;
  carried?: CarriedState;
}

export interface CarriedState {
  progress: RunProgress;
  /** Where to resume: still polling the refresh, or the sync. */
  resumeAt: 'pollRefresh' | 'pollSync';
  /** Start of the refresh as the orchestration saw it, for the polling policy. */
  pollingSince: string;
  /** A Retry-After still to honour at the next poll. */
  minNextDelayMs?: number;
}

/** Progress as stored by any build: fields of builds before the backend port (`aasStatus`, numeric `syncState`). */
export type StoredProgress = RunProgress & { aasStatus?: RefreshStatus; syncState?: number };

/**
 * Reads progress stored by any build (custom status, carried input, output): `aasStatus` becomes
 * `refreshStatus`, AAS's numeric `syncState` the neutral `syncStatus` (kept as the service state).
 */
export function readProgress<T extends Partial<RunProgress>>(stored: T & { aasStatus?: RefreshStatus; syncState?: number }): T {
  const { aasStatus, syncState, ...rest } = stored;
  const progress = { ...rest } as T;
  if (progress.refreshStatus === undefined && aasStatus !== undefined) progress.refreshStatus = aasStatus;
  if (progress.syncStatus === undefined && typeof syncState === 'number') {
    progress.syncStatus = legacySyncStatus(syncState);
    progress.syncServiceState = syncState;
  }
  return progress;
}

/** AAS's syncstate as histories before the backend port recorded it: 2 succeeded, 3 failed, the rest running. */
function legacySyncStatus(syncState: number): SyncStatus {
  return syncState === 2 ? 'succeeded' : syncState === 3 ? 'failed' : 'running';
}

// ---- Activity contracts ----

/**
 * Activity inputs name their target. Inputs written before the backend port carry `model`
 * (`{ server, model }`, AAS) instead; a deploy may hand such an input to today's activity.
 */
export type TargetInput = { target: RefreshTarget } | { model: LegacyModelRef };

export function inputTarget(input: TargetInput): RefreshTarget {
  const target = 'target' in input ? readTarget(input.target) : readTarget(input.model);
  if (target === undefined) throw new Error('The activity input names no refresh target.');
  return target;
}

/** A status call that missed (network, 429, 5xx, token problems): the next poll tries again. */
export type Unavailable = { kind: 'unavailable'; error: RunError; retryAfterMs?: number };

/**
 * The service answered 429: the orchestrator waits `retryAfterMs` (durable timer) and calls
 * again. `code`: the backend's code (absent in histories before the backend port: AAS_THROTTLED).
 */
export type Throttled = { kind: 'throttled'; retryAfterMs: number; message: string; code?: ErrorCode };

export function throttledCode(result: Throttled): ErrorCode {
  return result.code ?? ErrorCodes.AAS_THROTTLED;
}

export type InspectModelInput = TargetInput & {
  /** What the run will refresh: the expected duration comes from refreshes of the same shape. */
  refresh?: RefreshRequest;
};

export type InspectModelResult =
  | {
      kind: 'inspected';
      /** A refresh already running on the model, by anyone. */
      activeRefreshId?: string;
      /** Ids of the newest refreshes: one that is not among them was started after this look. */
      knownRefreshIds: string[];
      expectedDurationMs?: number;
    }
  | { kind: 'rejected'; error: RunError }
  | Throttled;

export type SubmitRefreshInput = TargetInput & {
  refresh: RefreshRequest;
  knownRefreshIds: string[];
  /**
   * When the run decided to submit, less a small clock-skew allowance. A refresh is the run's own
   * only if it is newer than the snapshot AND started after this: another run's refresh that
   * began between this run's snapshot and its submit is not mistaken for its own.
   */
  notBefore: string;
  /**
   * The run's time left when it submits, from the orchestration's own clock (deterministic, and
   * right under a virtual clock): a service that bounds each attempt of a refresh (Power BI's
   * `timeout`) is given it. Absent in inputs written before it: no attempt timeout.
   */
  attemptTimeoutMs?: number;
};

export type SubmitRefreshResult =
  | { kind: 'submitted'; refreshId: string; adopted: boolean }
  | { kind: 'busy'; activeRefreshId?: string; message: string }
  | Throttled
  | { kind: 'rejected'; error: RunError };

export type RefreshStatusInput = TargetInput & { refreshId: string };

export type RefreshStatusResult =
  | { kind: 'status'; refresh: RefreshDetails }
  /** Worth polling again later (network, 429, 5xx, token problems). */
  | Unavailable
  | { kind: 'rejected'; error: RunError };

export type CancelRefreshInput = TargetInput & { refreshId: string };

/** `notRunning`: the service knows the refresh and it had ended; `unknown`: the service does not know it (404). */
export type CancelRefreshResult = { kind: 'cancelled' } | { kind: 'notRunning'; message: string } | { kind: 'unknown'; message: string } | { kind: 'rejected'; error: RunError } | Throttled;

export type SubmitSyncInput = TargetInput;

export type SubmitSyncResult = { kind: 'submitted'; operationId: string } | { kind: 'rejected'; error: RunError } | Throttled;

export type SyncStatusInput = TargetInput & { operationId: string };

/**
 * `status` and `serviceState` since the backend port; histories before it carry AAS's numeric
 * `syncState` only (read them with readSyncStatus).
 */
export type SyncStatusResult =
  | { kind: 'status'; status?: SyncStatus; serviceState?: number | string; syncState?: number; details?: string | null }
  | Unavailable
  | { kind: 'rejected'; error: RunError };

/** The neutral status of a sync status result of any build (see SyncStatusResult). */
export function readSyncStatus(result: Extract<SyncStatusResult, { kind: 'status' }>): { status: SyncStatus; serviceState?: number | string } {
  if (result.status !== undefined) return { status: result.status, ...(result.serviceState === undefined ? {} : { serviceState: result.serviceState }) };
  const syncState = result.syncState ?? 0;
  return { status: legacySyncStatus(syncState), serviceState: syncState };
}

export interface RunStateInput {
  runId: string;
}

export type RunStateResult = { ended: boolean };

export interface CallbackInput {
  url: string;
  body: AdfCallbackBody;
}

/** The body ADF's Webhook activity expects with reportStatusOnCallBack. */
export interface AdfCallbackBody {
  Output: Record<string, unknown>;
  Error?: { ErrorCode: string; Message: string };
  StatusCode: string;
}

export type CallbackResult = { delivered: true; httpStatus: number } | { delivered: false; httpStatus?: number; error: string };
