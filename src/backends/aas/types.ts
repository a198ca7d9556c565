/** Shapes of the AAS asynchronous refresh REST API, as this project uses them. */

export const REFRESH_TYPES = ['full', 'clearValues', 'calculate', 'dataOnly', 'automatic', 'defragment'] as const;
export type RefreshType = (typeof REFRESH_TYPES)[number];

export const COMMIT_MODES = ['transactional', 'partialBatch'] as const;
export type CommitMode = (typeof COMMIT_MODES)[number];

export const REFRESH_STATUSES = ['notStarted', 'inProgress', 'timedOut', 'cancelled', 'failed', 'succeeded'] as const;
export type RefreshStatus = (typeof REFRESH_STATUSES)[number];

export const TERMINAL_REFRESH_STATUSES: ReadonlySet<RefreshStatus> = new Set(['timedOut', 'cancelled', 'failed', 'succeeded']);

/** The model a call is about. `server` is the `asazure://<host>/<serverName>` name. */
export interface ModelRef {
  server: string;
  model: string;
}

export interface RefreshObject {
  table: string;
  partition?: string;
}

/** The body of POST /refreshes with the documented defaults applied. */
export interface RefreshRequest {
  type: RefreshType;
  commitMode: CommitMode;
  maxParallelism: number;
  retryCount: number;
  /** Empty: the whole model. */
  objects: RefreshObject[];
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

/** GET /refreshes/{id}. Times are ISO 8601 UTC strings (zone-less inputs are read as UTC). */
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

/** One entry of GET /refreshes (the last 30 days). */
export interface RefreshSummary {
  refreshId: string;
  status: RefreshStatus;
  startTime?: string;
  endTime?: string;
}

/** syncstate: 0 replicating, 1 rehydrating, 2 completed, 3 failed, 4 finalizing. */
export type SyncState = 0 | 1 | 2 | 3 | 4;

export interface SyncDetails {
  operationId: string;
  syncState: SyncState;
  database?: string;
  startedAt?: string;
  updatedAt?: string;
  details?: string | null;
}

export interface SubmitRefreshResult {
  /** From the Location header; undefined when the answer carried none (find it in the history). */
  refreshId?: string;
  rootActivityId?: string;
}

export interface SubmitSyncResult {
  operationId?: string;
  rootActivityId?: string;
}

/**
 * Port to the AAS REST API. Every method refuses a server outside the host allow-list before
 * asking for a token, and throws AppError with an AAS_* code for every non-success answer.
 */
export interface AasClient {
  submitRefresh(model: ModelRef, request: RefreshRequest): Promise<SubmitRefreshResult>;
  getRefresh(model: ModelRef, refreshId: string): Promise<RefreshDetails>;
  listRefreshes(model: ModelRef): Promise<RefreshSummary[]>;
  cancelRefresh(model: ModelRef, refreshId: string): Promise<void>;
  submitSync(model: ModelRef): Promise<SubmitSyncResult>;
  getSync(model: ModelRef, operationId: string): Promise<SyncDetails>;
}
