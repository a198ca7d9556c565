import type { ModelRef, RefreshDetails, RefreshObjectStatus, RefreshMessage, RefreshRequest, RefreshStatus, SyncState } from '../backends/aas/types';
import type { ErrorCode } from '../errors';
import type { PollingConfig } from '../config/config';

/**
 * Registered function names are stored in orchestration history: never rename one in place.
 * Add a new name (and keep the old registration) if behaviour must change incompatibly.
 */
export const FunctionNames = {
  refreshOrchestrator: 'refreshOrchestrator',
  inspectModel: 'inspectModel',
  submitRefresh: 'submitRefresh',
  getRefreshStatus: 'getRefreshStatus',
  cancelRefresh: 'cancelRefresh',
  submitSync: 'submitSync',
  getSyncStatus: 'getSyncStatus',
  sendCallback: 'sendCallback',
  getRunState: 'getRunState',
} as const;

/** External event the cancel endpoint raises. */
export const CANCEL_EVENT = 'cancel';

export type OnConflict = 'fail' | 'wait';

/** A validated refresh request with every default applied: the orchestration's input. */
export interface RunRequest extends ModelRef {
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

export type RunPhase = 'pending' | 'waiting' | 'refreshing' | 'syncing';
export type RunOutcome = 'succeeded' | 'failed' | 'cancelled' | 'timedOut';
/** `cancelling`: the run is cancelling its AAS refresh (on request, at the deadline or on an error). */
export type RunStatus = RunPhase | 'cancelling' | RunOutcome;

export interface RunError {
  code: ErrorCode;
  message: string;
}

/** What a run knows about its refresh and sync; shown as custom status and kept in the output. */
export interface RunProgress {
  phase: RunPhase;
  startedAt: string;
  deadline: string;
  refreshId?: string;
  /** True when the refresh was found already started by an earlier attempt of this run. */
  adopted?: boolean;
  aasStatus?: RefreshStatus;
  refreshStartTime?: string;
  refreshEndTime?: string;
  objects: RefreshObjectStatus[];
  messages: RefreshMessage[];
  syncOperationId?: string;
  syncState?: SyncState;
  syncDetails?: string | null;
  /** GET calls made to AAS for refresh and sync status. */
  statusCalls: number;
  /** Median duration of the model's recent successful refreshes, which shapes polling. */
  expectedDurationMs?: number;
  nextPollAt?: string;
  /** The last transient problem (a missed poll, a busy model), for people watching. */
  lastIssue?: RunError;
  /** What a caller should know about how the run ended, e.g. a cancel that reached AAS after the refresh had succeeded. */
  note?: string;
  executions: number;
  /** Objects per status; in the custom status, which lists only the first objects. */
  objectCounts?: Record<string, number>;
  /** The custom status lists only the first objects (its size is limited). */
  objectsTruncated?: boolean;
  /** Set while the run cancels its AAS refresh; the API shows the run as `cancelling`. */
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
  request: RunRequest;
  /**
   * The run of this app that was active on the same model when this one was accepted with
   * onConflict "wait": it goes first, so that two runs never race to submit to one model.
   */
  predecessorRunId?: string;
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

// ---- Activity contracts ----

/** A status call that missed (network, 429, 5xx, token problems): the next poll tries again. */
export type Unavailable = { kind: 'unavailable'; error: RunError; retryAfterMs?: number };

/** AAS answered 429: the orchestrator waits `retryAfterMs` (durable timer) and calls again. */
export type Throttled = { kind: 'throttled'; retryAfterMs: number; message: string };

export interface InspectModelInput {
  model: ModelRef;
  /** What the run will ask AAS to refresh: the expected duration comes from refreshes of the same shape. */
  refresh?: RefreshRequest;
}

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

export interface SubmitRefreshInput {
  model: ModelRef;
  refresh: RefreshRequest;
  knownRefreshIds: string[];
  /**
   * When the run decided to submit, less a small clock-skew allowance. A refresh is the run's own
   * only if it is newer than the snapshot AND started after this: another run's refresh that
   * began between this run's snapshot and its submit is not mistaken for its own.
   */
  notBefore: string;
}

export type SubmitRefreshResult =
  | { kind: 'submitted'; refreshId: string; adopted: boolean }
  | { kind: 'busy'; activeRefreshId?: string; message: string }
  | Throttled
  | { kind: 'rejected'; error: RunError };

export interface RefreshStatusInput {
  model: ModelRef;
  refreshId: string;
}

export type RefreshStatusResult =
  | { kind: 'status'; refresh: RefreshDetails }
  /** Worth polling again later (network, 429, 5xx, token problems). */
  | Unavailable
  | { kind: 'rejected'; error: RunError };

export interface CancelRefreshInput {
  model: ModelRef;
  refreshId: string;
}

/** `notRunning`: AAS knows the refresh and it had ended; `unknown`: AAS does not know it (404). */
export type CancelRefreshResult = { kind: 'cancelled' } | { kind: 'notRunning'; message: string } | { kind: 'unknown'; message: string } | { kind: 'rejected'; error: RunError } | Throttled;

export interface SubmitSyncInput {
  model: ModelRef;
}

export type SubmitSyncResult = { kind: 'submitted'; operationId: string } | { kind: 'rejected'; error: RunError } | Throttled;

export interface SyncStatusInput {
  model: ModelRef;
  operationId: string;
}

export type SyncStatusResult =
  | { kind: 'status'; syncState: SyncState; details?: string | null }
  | Unavailable
  | { kind: 'rejected'; error: RunError };

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
