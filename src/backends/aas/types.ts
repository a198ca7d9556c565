/** Shapes of the AAS asynchronous refresh REST API, as this project uses them; the refresh shapes are the neutral ones (src/refresh/types.ts). */

export {
  COMMIT_MODES,
  REFRESH_STATUSES,
  REFRESH_TYPES,
  TERMINAL_REFRESH_STATUSES,
  type CommitMode,
  type RefreshDetails,
  type RefreshMessage,
  type RefreshObject,
  type RefreshObjectStatus,
  type RefreshRequest,
  type RefreshStatus,
  type RefreshSummary,
  type RefreshType,
} from '../../refresh/types';
import type { RefreshDetails, RefreshRequest, RefreshSummary, SyncStatus } from '../../refresh/types';

/** The model a call is about. `server` is the `asazure://<host>/<serverName>` name. */
export interface ModelRef {
  server: string;
  model: string;
}

/** syncstate: 0 replicating, 1 rehydrating, 2 completed, 3 failed, 4 finalizing. */
export type SyncState = 0 | 1 | 2 | 3 | 4;

/** AAS's syncstate as a neutral sync status: 2 succeeded, 3 failed, the others running. */
export function syncStatusOf(syncState: number): SyncStatus {
  return syncState === 2 ? 'succeeded' : syncState === 3 ? 'failed' : 'running';
}

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
 * The AAS REST API as the client calls it (the adapter in ./index.ts maps it onto the backend port). Every method refuses a server outside the host allow-list before
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
