import type { InvocationContext } from '@azure/functions';
import { request as httpRequest, type Dispatcher } from 'undici';
import { AppError, codeOf, detailOf, ErrorCodes, kindOf, kindOfCode } from '../errors';
import { callbackUrlProblem } from '../http/allowList';
import type { BackendClients } from '../refresh/registry';
import { backendLabel, describeTarget, type BackendName } from '../refresh/target';
import { ACTIVE_REFRESH_STATUSES, type RefreshRequest, type RefreshSummary } from '../refresh/types';
import { pickOwnRefresh } from './ownRefresh';
import {
  inputTarget,
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
import type { ErrorCode } from '../errors';
import { logEvent } from '../logging';

export interface ActivityDependencies {
  /** The backends' clients (src/refresh/registry.ts); each activity picks its target's. */
  backends: BackendClients;
  /** For callbacks; backend calls go through each client's own dispatcher. */
  callbackDispatcher: Dispatcher;
  callbackAllowedHosts: readonly string[];
  callbackTimeoutMs: number;
}

/** How many of the newest refreshes identify "ours" (anything newer is ours) and shape the duration estimate. */
const KNOWN_REFRESHES = 50;
const DURATION_SAMPLES = 5;
const DEFAULT_THROTTLE_WAIT_MS = 30_000;

const isActive = (refresh: RefreshSummary) => ACTIVE_REFRESH_STATUSES.has(refresh.status);

/**
 * Activities do the I/O. They throw only what is worth retrying (Durable's retry is the one retry
 * layer) and return every terminal outcome as a typed result the orchestrator branches on.
 */
export function createActivities(deps: ActivityDependencies) {
  const clientFor = (input: Parameters<typeof inputTarget>[0]) => {
    const target = inputTarget(input);
    return { target, client: deps.backends.forTarget(target), label: backendLabel(target.backend) };
  };

  /**
   * A 429 is returned with its Retry-After for the orchestrator to wait out exactly; other
   * retryable errors are rethrown for Durable to retry; the rest become a typed rejection.
   */
  function rejectOrRethrow(error: unknown, context: InvocationContext, event: string): { kind: 'rejected'; error: RunError } | Throttled {
    if (kindOf(error) === 'throttled') {
      logEvent(context, 'warn', event, { code: codeOf(error), retryable: true });
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
     * `ownDurations` lists how long this app's finished runs of the same shape (target, type,
     * objects) took, newest first: the service's history does not say what each refresh covered.
     */
    async inspectModel(input: InspectModelInput, context: InvocationContext, ownDurations?: (refresh: RefreshRequest) => Promise<number[]>): Promise<InspectModelResult> {
      try {
        const { target, client } = clientFor(input);
        const history = newestFirst(await client.listRefreshes(target));
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
      const { target, client, label } = clientFor(input);
      const rule = { knownRefreshIds: input.knownRefreshIds, notBefore: input.notBefore, type: input.refresh.type };
      // A refresh without details is not this run's: Power BI has none for standard (scheduled,
      // portal) refreshes, which answer 404, and every refresh this app submits has them.
      const NOT_OURS = '\u0000not ours';
      const typeOf = async (refreshId: string): Promise<string | undefined> => {
        try {
          return (await client.getRefresh(target, refreshId)).type;
        } catch (error) {
          if (kindOf(error) === 'notFound') return NOT_OURS;
          throw error;
        }
      };
      // Reads the type of each candidate pickOwnRefresh asks about, newest first, until it decides.
      const firstOwn = async (history: RefreshSummary[]) => {
        const types = new Map<string, string | undefined>();
        for (;;) {
          const picked = pickOwnRefresh(history, rule, types);
          if (picked.kind !== 'needType') return picked.kind === 'own' ? picked.refresh : undefined;
          types.set(picked.refreshId, await typeOf(picked.refreshId));
        }
      };
      const findOwn = async () => firstOwn(await client.listRefreshes(target));
      try {
        const before = newestFirst(await client.listRefreshes(target));
        const own = await firstOwn(before);
        if (own !== undefined) {
          logEvent(context, 'info', 'refresh.adopted', { refreshId: own.refreshId, status: own.status });
          return { kind: 'submitted', refreshId: own.refreshId, adopted: true };
        }
        const active = before.find(isActive);
        if (active !== undefined) return { kind: 'busy', activeRefreshId: active.refreshId, message: `${label} is already running refresh ${active.refreshId} on this model.` };

        const submitted = await submitOrConflict();
        if (submitted.kind !== 'accepted') return submitted.result;
        if (submitted.refreshId !== undefined) return { kind: 'submitted', refreshId: submitted.refreshId, adopted: false };
        // Accepted without a Location header: the new refresh is the one the history did not have.
        const found = await findOwn();
        if (found !== undefined) return { kind: 'submitted', refreshId: found.refreshId, adopted: false };
        throw new AppError(badResponseCode(target.backend), `${label} accepted the refresh on ${describeTarget(target)} without naming it, and it is not in the history yet.`, { retryable: true });
      } catch (error) {
        return rejectOrRethrow(error, context, 'refresh.submitFailed');
      }

      type Submitted = { kind: 'accepted'; refreshId?: string } | { kind: 'done'; result: SubmitRefreshResult };
      async function submitOrConflict(): Promise<Submitted> {
        try {
          // The run's time left, for a service that bounds each attempt (Power BI); none in older inputs.
          const answer = await client.submitRefresh(target, input.refresh, input.attemptTimeoutMs);
          logEvent(context, 'info', 'refresh.posted', { refreshId: answer.refreshId ?? '', serviceRequestId: answer.serviceRequestId ?? '' });
          return { kind: 'accepted', refreshId: answer.refreshId };
        } catch (error) {
          if (kindOf(error) !== 'conflict') throw error;
          // A conflict (AAS 409, Power BI 400): either our own earlier attempt got through, or someone else is refreshing.
          const own = await findOwn();
          if (own !== undefined) return { kind: 'done', result: { kind: 'submitted', refreshId: own.refreshId, adopted: true } };
          return { kind: 'done', result: { kind: 'busy', message: `${label} answered that another refresh is running on this model. ${toRunError(error).message}` } };
        }
      }
    },

    async getRefreshStatus(input: RefreshStatusInput, context: InvocationContext): Promise<RefreshStatusResult> {
      try {
        const { target, client } = clientFor(input);
        return { kind: 'status', refresh: await client.getRefresh(target, input.refreshId) };
      } catch (error) {
        return unavailableOrRejected(error, context, 'refresh.pollFailed');
      }
    },

    async cancelRefresh(input: CancelRefreshInput, context: InvocationContext): Promise<CancelRefreshResult> {
      try {
        const { target, client } = clientFor(input);
        await client.cancelRefresh(target, input.refreshId);
        logEvent(context, 'info', 'refresh.cancelRequested', { refreshId: input.refreshId });
        return { kind: 'cancelled' };
      } catch (error) {
        const kind = kindOf(error);
        // notFound: the service does not know the refresh (lost with a restarted server), which is not "ended".
        if (kind === 'notFound') return { kind: 'unknown', message: toRunError(error).message };
        if (kind === 'conflict') return { kind: 'notRunning', message: toRunError(error).message };
        return rejectOrRethrow(error, context, 'refresh.cancelFailed');
      }
    },

    async submitSync(input: SubmitSyncInput, context: InvocationContext): Promise<SubmitSyncResult> {
      try {
        const { target, client, label } = clientFor(input);
        if (client.submitSync === undefined) throw new AppError(badResponseCode(target.backend), `${label} has no replica sync to start for ${describeTarget(target)}.`);
        const answer = await client.submitSync(target);
        if (answer.operationId === undefined) {
          throw new AppError(badResponseCode(target.backend), `${label} accepted the sync without an operation id.`);
        }
        return { kind: 'submitted', operationId: answer.operationId };
      } catch (error) {
        return rejectOrRethrow(error, context, 'sync.submitFailed');
      }
    },

    async getSyncStatus(input: SyncStatusInput, context: InvocationContext): Promise<SyncStatusResult> {
      try {
        const { target, client, label } = clientFor(input);
        if (client.getSync === undefined) throw new AppError(badResponseCode(target.backend), `${label} has no replica sync to watch for ${describeTarget(target)}.`);
        const sync = await client.getSync(target, input.operationId);
        return { kind: 'status', status: sync.status, ...(sync.serviceState === undefined ? {} : { serviceState: sync.serviceState }), details: sync.details };
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
   * Entra, a rotated secret): that says nothing about the refresh, which goes on in the service, so
   * the run keeps polling until someone fixes it or the deadline comes. Only the service's own refusals reject.
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
  return { kind: 'throttled', retryAfterMs, message: toRunError(error).message, code: codeOf(error) };
}

/** This app's identity chain failed (not the service refusing the request): AUTH_* codes and a service rejecting the token. */
export function isIdentityProblem(code: string): boolean {
  return code.startsWith('AUTH_') || kindOfCode(code) === 'unauthorized';
}

function badResponseCode(backend: BackendName): ErrorCode {
  return backend === 'aas' ? ErrorCodes.AAS_BAD_RESPONSE : ErrorCodes.POWERBI_BAD_RESPONSE;
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
 * of the same shape; without any, the service's history of the model only for a whole-model
 * request (the history lists whole-model and one-table refreshes alike); otherwise none (polling
 * by elapsed time).
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
