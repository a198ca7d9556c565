import type { Dispatcher } from 'undici';
import type { Config } from '../config/config';
import type { BackendName, RefreshTarget } from './target';
import type { RefreshDetails, RefreshRequest, RefreshSummary, SubmittedRefresh, SubmittedSync, SyncDetails } from './types';

/**
 * The backend port: everything the orchestrator, the activities and the API need from a refresh
 * service, and nothing they may know about it. One adapter per service (src/backends/<name>),
 * registered in src/backends/index.ts.
 *
 * Errors: every method throws AppError with the backend's own code (AAS_*, POWERBI_*) and a
 * neutral `kind` (conflict, throttled, transient, unauthorized, notFound, rejected; see
 * src/errors.ts). `retryable` is true for throttled, transient and unauthorized (after the
 * adapter has dropped the refused token), and 429s carry `retryAfterMs`. Messages name the
 * target and the status, never a token or a header value.
 */
export interface RefreshBackend<T extends RefreshTarget = RefreshTarget> {
  readonly backend: T['backend'];
  /** "AAS", "Power BI": how messages name the service. */
  readonly label: string;
  /** Whether the service has a replica sync the run can start and watch (`client.submitSync` / `getSync`). */
  readonly supportsSync: boolean;

  /**
   * Checks and normalises a target as a request gives it: grammar, host allow-list, lengths.
   * Pure (no I/O, no token): runs at POST and again before every call, so that a refused target
   * never causes a token request. Throws AppError (kind `rejected`) naming what is wrong.
   */
  parseTarget(target: T, config: Config): T;

  /**
   * The one-run-per-model key: two targets with the same key are the same model. Pure. For a
   * service whose names resolve to ids, the key is built from the resolved ids.
   */
  modelKey(target: T): string;

  /** Problems (in words, for a 400) with refresh options this service does not take, e.g. `applyRefreshPolicy` for AAS. */
  refreshProblems(refresh: RefreshRequest): string[];

  /** The Entra scope of tokens for this target (AAS: `https://*.asazure.windows.net/.default`). */
  tokenScope(target: T): string;

  /** Builds the adapter's client, which owns its connections until `close()`. */
  createClient(deps: BackendDependencies): BackendClient<T>;
}

export interface BackendClient<T extends RefreshTarget = RefreshTarget> {
  /**
   * Resolves names to the ids the run records (Power BI: workspace and semantic model GUIDs).
   * Called once, when a run is accepted, before its key is taken. AAS returns the target as is.
   */
  resolveTarget(target: T): Promise<T>;
  /**
   * `attemptTimeoutMs`: the run's time left when the activity submits; a service that bounds each
   * attempt of a refresh (Power BI's `timeout`, 5 h by default) is given it, so that the run's
   * deadline, not the service's default, decides. AAS has no such bound and ignores it.
   */
  submitRefresh(target: T, refresh: RefreshRequest, attemptTimeoutMs?: number): Promise<SubmittedRefresh>;
  getRefresh(target: T, refreshId: string): Promise<RefreshDetails>;
  /** The model's refresh history, in any order (the callers sort it). */
  listRefreshes(target: T): Promise<RefreshSummary[]>;
  /** Cancels a running refresh. A refresh that had ended: kind `conflict`; one the service does not know: kind `notFound`. */
  cancelRefresh(target: T, refreshId: string): Promise<void>;
  /** Present when the backend's `supportsSync`. */
  submitSync?(target: T): Promise<SubmittedSync>;
  getSync?(target: T, operationId: string): Promise<SyncDetails>;
  close(): Promise<void>;
}

/** What the app hands an adapter when it builds its client. */
export interface BackendDependencies {
  config: Config;
  tokens: ScopedTokens;
  /** Connect, headers and body timeout of each call. */
  requestTimeoutMs: number;
  /** Tests inject a MockAgent or an agent with a custom CA; otherwise the client owns a pooled agent. */
  dispatcher?: Dispatcher;
}

/** Tokens by scope (src/auth's TokenProvider): cached per scope until shortly before expiry. */
export interface ScopedTokens {
  getToken(scope: string): Promise<string>;
  /** The service refused the token (401/403): drop it (and anything derived from the secret) so the next call starts over. */
  invalidate(scope: string): void;
}

export type { BackendName };
