/**
 * The refresh as the orchestrator, the activities and the API see it, whatever the backend. Each
 * adapter (src/backends/<name>) maps its service's answers onto these. The status words are the
 * ones runs have always recorded (they were AAS's), so histories written before the port replay.
 */

export const REFRESH_TYPES = ['full', 'clearValues', 'calculate', 'dataOnly', 'automatic', 'defragment'] as const;
export type RefreshType = (typeof REFRESH_TYPES)[number];

export const COMMIT_MODES = ['transactional', 'partialBatch'] as const;
export type CommitMode = (typeof COMMIT_MODES)[number];

/**
 * Neutral refresh statuses. AAS: its own words. Power BI: NotStarted → notStarted, Unknown and
 * InProgress → inProgress, Completed → succeeded, Failed and Disabled → failed, TimedOut →
 * timedOut, Cancelled → cancelled (the adapter's status map).
 */
export const REFRESH_STATUSES = ['notStarted', 'inProgress', 'timedOut', 'cancelled', 'failed', 'succeeded'] as const;
export type RefreshStatus = (typeof REFRESH_STATUSES)[number];

export const TERMINAL_REFRESH_STATUSES: ReadonlySet<RefreshStatus> = new Set(['timedOut', 'cancelled', 'failed', 'succeeded']);
export const ACTIVE_REFRESH_STATUSES: ReadonlySet<RefreshStatus> = new Set(['notStarted', 'inProgress']);

export interface RefreshObject {
  table: string;
  partition?: string;
}

/** A refresh request with the documented defaults applied. */
export interface RefreshRequest {
  type: RefreshType;
  commitMode: CommitMode;
  maxParallelism: number;
  retryCount: number;
  /** Empty: the whole model. */
  objects: RefreshObject[];
  /** Power BI only (incremental refresh policy); AAS refuses it at POST. Absent: the service's default. */
  applyRefreshPolicy?: boolean;
  /** Power BI only, with a refresh policy: the date the policy treats as today (yyyy-mm-dd). */
  effectiveDate?: string;
}

export interface RefreshObjectStatus {
  table: string;
  partition?: string;
  status: string;
}

export interface RefreshMessage {
  code?: string;
  message: string;
  type?: string;
}

/** One refresh as the service reports it. Times are ISO 8601 UTC strings. */
export interface RefreshDetails {
  refreshId: string;
  status: RefreshStatus;
  startTime?: string;
  endTime?: string;
  type?: string;
  currentRefreshType?: string;
  objects: RefreshObjectStatus[];
  messages: RefreshMessage[];
}

/** One entry of the model's refresh history (AAS: 30 days; Power BI: the last 60 by default). */
export interface RefreshSummary {
  refreshId: string;
  status: RefreshStatus;
  startTime?: string;
  endTime?: string;
}

/**
 * Neutral replica-sync states. AAS syncstate 0 replicating, 1 rehydrating, 4 finalizing →
 * running; 2 → succeeded; 3 → failed. Power BI query scale-out: running until
 * commitVersion == minActiveReadVersion.
 */
export const SYNC_STATUSES = ['running', 'succeeded', 'failed'] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

export interface SyncDetails {
  operationId: string;
  status: SyncStatus;
  /** The service's own state as it reported it (AAS: the syncstate number; Power BI: scaleOutStatus). */
  serviceState?: number | string;
  details?: string | null;
}

export interface SubmittedRefresh {
  /** Undefined when the answer named none (the activity then finds it in the history). */
  refreshId?: string;
  /** The service's id of the answer for its support (AAS x-ms-root-activity-id, Power BI x-ms-request-id). */
  serviceRequestId?: string;
}

export interface SubmittedSync {
  /** Undefined when the answer named none. Power BI answers at once and has no operation id: the adapter makes one. */
  operationId?: string;
  serviceRequestId?: string;
}

/**
 * What is wrong with a refresh type, in words, or undefined when it is one of REFRESH_TYPES.
 * The one place that refuses `add`: neither AAS's nor Power BI's REST API takes it.
 */
export function refreshTypeProblem(type: string): string | undefined {
  if (type.toLowerCase() === 'add') return `type "add" is not supported by the AAS and Power BI refresh REST APIs; use ${REFRESH_TYPES.join(', ')}`;
  if (!(REFRESH_TYPES as readonly string[]).includes(type)) return `type "${type.slice(0, 64)}" is not one of ${REFRESH_TYPES.join(', ')}`;
  return undefined;
}
