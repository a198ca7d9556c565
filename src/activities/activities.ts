import type { InvocationContext } from '@azure/functions';
import { request as httpRequest, type Dispatcher } from 'undici';
import type { AasClient, RefreshRequest, RefreshSummary } from '../backends/aas/types';
import { AppError, codeOf, detailOf, ErrorCodes } from '../errors';
import { callbackUrlProblem } from '../http/allowList';
import type {
  CallbackInput,
  CallbackResult,
  CancelRefreshInput,
  CancelRefreshResult,
  InspectModelInput,
  InspectModelResult,
  RefreshStatusInput,
  RefreshStatusResult,
  RunError,
  SubmitRefreshInput,
  SubmitRefreshResult,
  SubmitSyncInput,
  SubmitSyncResult,
  SyncStatusInput,
  SyncStatusResult,
  Throttled,
} from '../orchestration/contracts';
import { logEvent } from '../logging';

export interface ActivityDependencies {
  aas: AasClient;
  /** For callbacks; AAS calls go through the AAS client's own dispatcher. */
  callbackDispatcher: Dispatcher;
  callbackAllowedHosts: readonly string[];
  callbackTimeoutMs: number;
}

/** How many of the newest refreshes identify "ours" (anything newer is ours) and shape the duration estimate. */
const KNOWN_REFRESHES = 50;
const DURATION_SAMPLES = 5;
const DEFAULT_THROTTLE_WAIT_MS = 30_000;

const isActive = (refresh: RefreshSummary) => refresh.status === 'notStarted' || refresh.status === 'inProgress';

/**
 * Activities do the I/O. They throw only what is worth retrying (Durable's retry is the one retry
 * layer) and return every terminal outcome as a typed result the orchestrator branches on.
 */
export function createActivities(deps: ActivityDependencies) {
  const { aas } = deps;

  /**
   * A 429 is returned with its Retry-After for the orchestrator to wait out exactly; other
   * retryable errors are rethrown for Durable to retry; the rest become a typed rejection.
   */
  function rejectOrRethrow(error: unknown, context: InvocationContext, event: string): { kind: 'rejected'; error: RunError } | Throttled {
    if (codeOf(error) === ErrorCodes.AAS_THROTTLED) {
      logEvent(context, 'warn', event, { code: ErrorCodes.AAS_THROTTLED, retryable: true });
      return throttled(error);
    }
    if (isRetryable(error)) {
      logEvent(context, 'warn', event, { code: codeOf(error), retryable: true });
      throw error;
    }
    logEvent(context, 'warn', event, { code: codeOf(error), retryable: false });
    return { kind: 'rejected', error: toRunError(error) };
  }

  return {
    /**
     * `ownDurations` lists how long this app's finished runs of the same shape (server, model,
     * type, objects) took, newest first: AAS's history does not say what each refresh covered.
     */
    async inspectModel(input: InspectModelInput, context: InvocationContext, ownDurations?: (refresh: RefreshRequest) => Promise<number[]>): Promise<InspectModelResult> {
      try {
        const history = newestFirst(await aas.listRefreshes(input.model));
        let own: number[] = [];
        if (input.refresh !== undefined && ownDurations !== undefined) {
          try {
            own = await ownDurations(input.refresh);
          } catch (error) {
            // Only the polling rhythm depends on it: poll by elapsed time rather than fail the look.
            logEvent(context, 'warn', 'run.historyUnavailable', { code: codeOf(error) });
          }
        }
        return {
          kind: 'inspected',
          activeRefreshId: history.find(isActive)?.refreshId,
          knownRefreshIds: history.slice(0, KNOWN_REFRESHES).map((refresh) => refresh.refreshId),
          expectedDurationMs: expectedDurationMs(input.refresh, own, history),
        };
      } catch (error) {
        return rejectOrRethrow(error, context, 'aas.inspectFailed');
      }
    },

    /**
     * Submits a refresh at most once per run, even when this activity runs twice: a refresh
     * newer than the ones the run saw before submitting is its own (an earlier attempt whose
     * answer was lost), and is adopted instead of submitting another.
     */
    async submitRefresh(input: SubmitRefreshInput, context: InvocationContext): Promise<SubmitRefreshResult> {
      const known = new Set(input.knownRefreshIds);
      const notBefore = Date.parse(input.notBefore);
      const isNew = (refresh: RefreshSummary) =>
        !known.has(refresh.refreshId) && (refresh.startTime === undefined || Date.parse(refresh.startTime) >= notBefore);
      // A new refresh of another type is someone else's, started after the run looked (e.g. the
      // one behind a 409): adopting it would report their refresh as the one this run asked for.
      const firstOwn = async (history: RefreshSummary[]) => {
        for (const refresh of history.filter(isNew)) {
          const { type } = await aas.getRefresh(input.model, refresh.refreshId);
          if (type === undefined || type.toLowerCase() === input.refresh.type.toLowerCase()) return refresh;
        }
        return undefined;
      };
      const findOwn = async () => firstOwn(newestFirst(await aas.listRefreshes(input.model)));
      try {
        const before = newestFirst(await aas.listRefreshes(input.model));
        const own = await firstOwn(before);
        if (own !== undefined) {
          logEvent(context, 'info', 'refresh.adopted', { refreshId: own.refreshId, status: own.status });
          return { kind: 'submitted', refreshId: own.refreshId, adopted: true };
        }
        const active = before.find(isActive);
        if (active !== undefined) return { kind: 'busy', activeRefreshId: active.refreshId, message: `AAS is already running refresh ${active.refreshId} on this model.` };

        const submitted = await submitOrConflict();
        if (submitted.kind !== 'accepted') return submitted.result;
        if (submitted.refreshId !== undefined) return { kind: 'submitted', refreshId: submitted.refreshId, adopted: false };
        // Accepted without a Location header: the new refresh is the one the history did not have.
        const found = await findOwn();
        if (found !== undefined) return { kind: 'submitted', refreshId: found.refreshId, adopted: false };
        throw new AppError(ErrorCodes.AAS_BAD_RESPONSE, 'AAS accepted the refresh without a Location header and it is not in the history yet.', { retryable: true });
      } catch (error) {
        return rejectOrRethrow(error, context, 'refresh.submitFailed');
      }

      type Submitted = { kind: 'accepted'; refreshId?: string } | { kind: 'done'; result: SubmitRefreshResult };
      async function submitOrConflict(): Promise<Submitted> {
        try {
          const answer = await aas.submitRefresh(input.model, input.refresh);
          logEvent(context, 'info', 'refresh.posted', { refreshId: answer.refreshId ?? '', rootActivityId: answer.rootActivityId ?? '' });
          return { kind: 'accepted', refreshId: answer.refreshId };
        } catch (error) {
          if (codeOf(error) !== ErrorCodes.AAS_CONFLICT) throw error;
          // 409: either our own earlier attempt got through, or someone else is refreshing.
          const own = await findOwn();
          if (own !== undefined) return { kind: 'done', result: { kind: 'submitted', refreshId: own.refreshId, adopted: true } };
          return { kind: 'done', result: { kind: 'busy', message: `AAS answered 409 Conflict: another refresh is running on this model. ${toRunError(error).message}` } };
        }
      }
    },

    async getRefreshStatus(input: RefreshStatusInput, context: InvocationContext): Promise<RefreshStatusResult> {
      try {
        return { kind: 'status', refresh: await aas.getRefresh(input.model, input.refreshId) };
      } catch (error) {
        return unavailableOrRejected(error, context, 'refresh.pollFailed');
      }
    },

    async cancelRefresh(input: CancelRefreshInput, context: InvocationContext): Promise<CancelRefreshResult> {
      try {
        await aas.cancelRefresh(input.model, input.refreshId);
        logEvent(context, 'info', 'refresh.cancelRequested', { refreshId: input.refreshId });
        return { kind: 'cancelled' };
      } catch (error) {
        const code = codeOf(error);
        // 404: AAS does not know the refresh (lost with a restarted server), which is not "ended".
        if (code === ErrorCodes.AAS_NOT_FOUND) return { kind: 'unknown', message: toRunError(error).message };
        if (code === ErrorCodes.AAS_CONFLICT) return { kind: 'notRunning', message: toRunError(error).message };
        return rejectOrRethrow(error, context, 'refresh.cancelFailed');
      }
    },

    async submitSync(input: SubmitSyncInput, context: InvocationContext): Promise<SubmitSyncResult> {
      try {
        const answer = await aas.submitSync(input.model);
        if (answer.operationId === undefined) {
          throw new AppError(ErrorCodes.AAS_BAD_RESPONSE, 'AAS accepted the sync without an operation id in the Location header.');
        }
        return { kind: 'submitted', operationId: answer.operationId };
      } catch (error) {
        return rejectOrRethrow(error, context, 'sync.submitFailed');
      }
    },

    async getSyncStatus(input: SyncStatusInput, context: InvocationContext): Promise<SyncStatusResult> {
      try {
        const sync = await aas.getSync(input.model, input.operationId);
        return { kind: 'status', syncState: sync.syncState, details: sync.details };
      } catch (error) {
        return unavailableOrRejected(error, context, 'sync.pollFailed');
      }
    },

    /** POSTs the ADF Webhook body. 5xx, 429 and network errors are retried; other answers are final. */
    async sendCallback(input: CallbackInput, context: InvocationContext): Promise<CallbackResult> {
      const problem = callbackUrlProblem(input.url, deps.callbackAllowedHosts);
      if (problem !== undefined) return { delivered: false, error: `The callback URL ${problem}.` };
      const host = new URL(input.url).host;
      let status: number;
      try {
        const response = await httpRequest(input.url, {
          method: 'POST',
          dispatcher: deps.callbackDispatcher,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(input.body),
          headersTimeout: deps.callbackTimeoutMs,
          bodyTimeout: deps.callbackTimeoutMs,
        });
        status = response.statusCode;
        await response.body.dump();
      } catch (error) {
        logEvent(context, 'warn', 'callback.unreachable', { host, error: error instanceof Error ? error.name : 'unknown' });
        throw new AppError(ErrorCodes.CALLBACK_FAILED, `The callback host ${host} could not be reached.`, { retryable: true, cause: error });
      }
      logEvent(context, 'info', 'callback.answered', { host, httpStatus: status });
      if (status >= 200 && status < 300) return { delivered: true, httpStatus: status };
      if (status === 429 || status >= 500) {
        throw new AppError(ErrorCodes.CALLBACK_FAILED, `The callback host ${host} answered ${status}.`, { retryable: true, httpStatus: status });
      }
      return { delivered: false, httpStatus: status, error: `The callback host ${host} answered ${status}.` };
    },
  };

  /**
   * A status call that failed is worth repeating at the next poll when the cause may pass
   * (network, 5xx, 429) and also when it is this app's own identity (Key Vault, managed identity,
   * Entra, a rotated secret): that says nothing about the refresh, which goes on in AAS, so the run
   * keeps polling until someone fixes it or the deadline comes. Only AAS's own refusals reject.
   */
  function unavailableOrRejected(error: unknown, context: InvocationContext, event: string) {
    const runError = toRunError(error);
    if (isRetryable(error) || isIdentityProblem(runError.code)) {
      logEvent(context, 'warn', event, { code: runError.code, retryable: true });
      const retryAfterMs = error instanceof AppError ? error.retryAfterMs : undefined;
      return { kind: 'unavailable' as const, error: runError, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    }
    logEvent(context, 'warn', event, { code: runError.code, retryable: false });
    return { kind: 'rejected' as const, error: runError };
  }
}

export type Activities = ReturnType<typeof createActivities>;

function throttled(error: unknown): Throttled {
  const retryAfterMs = error instanceof AppError && error.retryAfterMs !== undefined ? error.retryAfterMs : DEFAULT_THROTTLE_WAIT_MS;
  return { kind: 'throttled', retryAfterMs, message: toRunError(error).message };
}

/** This app's identity chain failed (not AAS refusing the request): AUTH_* codes and AAS rejecting the token. */
export function isIdentityProblem(code: string): boolean {
  return code.startsWith('AUTH_') || code === ErrorCodes.AAS_UNAUTHORIZED;
}

/** Unknown errors (not AppError) are treated as transient: a bug or an outage should not end a run early. */
function isRetryable(error: unknown): boolean {
  return error instanceof AppError ? error.retryable : true;
}

function toRunError(error: unknown): RunError {
  // detailOf: the app's own message, never a stack trace or file path (an unexpected error's first line).
  return { code: codeOf(error), message: detailOf(error) };
}

function newestFirst(history: RefreshSummary[]): RefreshSummary[] {
  const time = (refresh: RefreshSummary) => (refresh.startTime === undefined ? Number.POSITIVE_INFINITY : Date.parse(refresh.startTime));
  return [...history].sort((a, b) => time(b) - time(a));
}

/**
 * The duration a run expects, which shapes its polling: the median of this app's own finished runs
 * of the same shape; without any, AAS's history of the model only for a whole-model request (AAS
 * lists whole-model and one-table refreshes alike); otherwise none (polling by elapsed time).
 */
export function expectedDurationMs(refresh: RefreshRequest | undefined, ownDurations: readonly number[], history: RefreshSummary[]): number | undefined {
  const own = median(ownDurations.slice(0, DURATION_SAMPLES).filter((duration) => Number.isFinite(duration) && duration > 0));
  if (own !== undefined) return own;
  const wholeModel = refresh === undefined || refresh.objects.length === 0;
  return wholeModel ? medianDuration(history) : undefined;
}

function median(values: readonly number[]): number | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Median duration of the newest successful refreshes, or undefined without any. */
export function medianDuration(history: RefreshSummary[]): number | undefined {
  const durations = newestFirst(history)
    .filter((refresh) => refresh.status === 'succeeded' && refresh.startTime !== undefined && refresh.endTime !== undefined)
    .slice(0, DURATION_SAMPLES)
    .map((refresh) => Date.parse(refresh.endTime as string) - Date.parse(refresh.startTime as string))
    .filter((duration) => Number.isFinite(duration) && duration > 0)
    .sort((a, b) => a - b);
  if (durations.length === 0) return undefined;
  const middle = Math.floor(durations.length / 2);
  return durations.length % 2 === 1 ? durations[middle] : ((durations[middle - 1] ?? 0) + (durations[middle] ?? 0)) / 2;
}
