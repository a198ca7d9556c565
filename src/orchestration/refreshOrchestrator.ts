import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import { codeOf, detailOf, ErrorCodes, type ErrorCode } from '../errors';
import { timerNotBefore } from './durableTimer';
import { backendLabel, targetAttributes, type RefreshTarget } from '../refresh/target';
import { TERMINAL_REFRESH_STATUSES, type RefreshDetails, type SyncStatus } from '../refresh/types';
import {
  ActivityNames,
  CANCEL_EVENT,
  OUTCOME_HTTP_STATUS,
  readProgress,
  readRunRequest,
  readSyncStatus,
  targetOf,
  throttledCode,
  type ActivityInput,
  type ActivityName,
  type ActivityResult,
  type AdfCallbackBody,
  type CallbackReport,
  type CancelRefreshResult,
  type CarriedState,
  type OrchestrationInput,
  type RunError,
  type RunOutcome,
  type RunPhase,
  type RunProgress,
  type RunRequest,
  type RunResult,
  type Throttled,
  type Unavailable,
} from './contracts';
import { logEvent } from '../logging';
import { MAX_QUEUED_RUNS } from '../claims/modelClaim';
import { acquireClaim, releaseClaim, type ClaimView, type RunClaim } from '../claims/orchestration';
import { isIdentityProblem } from './identity';
import { compactProgress } from './statusSummary';
import { conflictWaitMs, nextPollDelayMs, nextSyncPollDelayMs } from './pollingPolicy';

/** Allowance for the difference between this host's clock and the service's when recognising an own refresh. */
export const SUBMIT_CLOCK_SKEW_MS = 2_000;

/** Polls per execution before `continueAsNew`: about six history events each, so history stays under 200 events. */
export const MAX_POLLS_PER_EXECUTION = 20;

/** Retries for calls that must eventually reach the service (history read, submit, cancel, sync): 5 attempts, 5 s doubling. */
export function submitRetryOptions(): df.RetryOptions {
  const options = new df.RetryOptions(5_000, 5);
  options.backoffCoefficient = 2;
  options.maxRetryIntervalInMilliseconds = 60_000;
  return options;
}

/**
 * A claim's lease ends after the run's deadline by what the run may still spend on the model once
 * the deadline has passed: cancelling its refresh (each call retried as submitRetryOptions says,
 * every attempt taking up to the default AAS_REQUEST_TIMEOUT_SECONDS; up to MAX_THROTTLE_WAITS
 * throttled answers each waited out for at most the longest poll interval) and one last status
 * read. The next run then never overlaps a run that is still cancelling; a run that has ended is
 * freed at once by its runtime status, not by its lease.
 */
export function claimLeaseUntil(deadline: string, maxPollIntervalMs: number): string {
  const retriedCallMs = longestRetriedCallMs(submitRetryOptions(), DEFAULT_REQUEST_TIMEOUT_MS);
  const afterDeadlineMs = (MAX_THROTTLE_WAITS + 1) * (retriedCallMs + maxPollIntervalMs) + retriedCallMs;
  return new Date(Date.parse(deadline) + afterDeadlineMs).toISOString();
}

/** The default of AAS_REQUEST_TIMEOUT_SECONDS (src/config/config.ts): one call's longest answer. */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Every attempt of a call retried with `retry` taking `attemptMs`, plus Durable's waits between them. */
function longestRetriedCallMs(retry: df.RetryOptions, attemptMs: number): number {
  let waitsMs = 0;
  for (let wait = 0; wait < retry.maxNumberOfAttempts - 1; wait += 1) {
    waitsMs += Math.min(retry.firstRetryIntervalInMilliseconds * retry.backoffCoefficient ** wait, retry.maxRetryIntervalInMilliseconds);
  }
  return retry.maxNumberOfAttempts * attemptMs + waitsMs;
}

/**
 * The callback: 6 attempts, 10 s after the first failure, doubling (10, 20, 40, 80, 160 s: about
 * 5 minutes in all, within ADF's default Webhook timeout of 10 minutes). The model is free
 * meanwhile: the outcome is decided before the first attempt.
 */
export function callbackRetryOptions(): df.RetryOptions {
  const options = new df.RetryOptions(10_000, 6);
  options.backoffCoefficient = 2;
  options.maxRetryIntervalInMilliseconds = 300_000;
  return options;
}

type Step<T> = Generator<Task, T, unknown>;

function* awaitTask<T>(task: Task): Step<T> {
  return (yield task) as T;
}

/** Schedules an activity by its name in the typed map (contracts.ts ActivityContracts). */
function activity<N extends ActivityName>(run: RunState, name: N, input: ActivityInput<N>, retry?: df.RetryOptions): Task {
  return retry === undefined ? run.context.df.callActivity(name, input) : run.context.df.callActivityWithRetry(name, retry, input);
}

/** Activities that exhausted their retries fail the run with the error's code, never the whole orchestration. */
function* attempt<T>(task: Task): Step<{ ok: true; value: T } | { ok: false; error: RunError }> {
  try {
    return { ok: true, value: (yield task) as T };
  } catch (error) {
    return { ok: false, error: toRunError(error) };
  }
}

/** How many 429s in a row one call waits out before the run gives up on it. */
export const MAX_THROTTLE_WAITS = 10;

/** `afterFailedAttempt`: an attempt failed before the cancel, so the service may have done its work (a lost answer). */
type Called<T> = { status: 'done'; value: Exclude<T, Throttled> } | { status: 'failed'; error: RunError } | { status: 'cancelled'; afterFailedAttempt: boolean };

/** Activities whose result may be a 429 to wait out. */
type PatientActivity = 'inspectModel' | 'submitRefresh' | 'cancelRefresh' | 'submitSync';

/**
 * Calls an activity, retrying its transient failures, and waits out the service's 429s for their
 * Retry-After, no less (a durable timer: timerNotBefore), before calling again. `cancellable` calls (before the submit)
 * retry with the same backoff as Durable's (5 attempts, 5 s doubling) but by hand, so that a
 * cancel request ends a backoff or a 429 wait at once and stops the next attempt (Durable's own
 * retry timers cannot be interrupted); the others use Durable's retry. `untilDeadline` stops
 * waiting at the run's deadline (a cancel of the refresh must still be attempted past it).
 */
function callPatiently<N extends PatientActivity>(run: RunState, name: N, input: ActivityInput<N>, options: { cancellable: true; untilDeadline: boolean }): Step<Called<ActivityResult<N>>>;
function callPatiently<N extends PatientActivity>(run: RunState, name: N, input: ActivityInput<N>, options: { cancellable: false; untilDeadline: boolean }): Step<Exclude<Called<ActivityResult<N>>, { status: 'cancelled' }>>;
function* callPatiently<N extends PatientActivity>(run: RunState, name: N, input: ActivityInput<N>, options: { cancellable: boolean; untilDeadline: boolean }): Step<Called<ActivityResult<N>>> {
  type Result = ActivityResult<N>;
  for (let waits = 0; ; waits += 1) {
    const called = options.cancellable ? yield* attemptCancellably<Result>(run, name, input) : yield* attempt<Result>(activity(run, name, input, submitRetryOptions()));
    if ('cancelled' in called) return { status: 'cancelled', afterFailedAttempt: called.afterFailedAttempt };
    if (!called.ok) return { status: 'failed', error: called.error };
    const result = called.value;
    if (!isThrottled(result)) return { status: 'done', value: result as Exclude<Result, Throttled> };
    const throttledError: RunError = { code: throttledCode(result), message: result.message };
    if (waits >= MAX_THROTTLE_WAITS) return { status: 'failed', error: throttledError };
    const retryAfterMs = run.cappedRetryAfter(result.retryAfterMs);
    if (options.untilDeadline && run.remainingMs() <= retryAfterMs) {
      return { status: 'failed', error: { code: ErrorCodes.RUN_TIMED_OUT, message: `${run.label} kept throttling until the deadline: ${result.message}` } };
    }
    run.noteIssue(throttledError);
    if (options.cancellable) {
      if ((yield* waitOrCancel(run, run.at(retryAfterMs))) === 'cancelled') return { status: 'cancelled', afterFailedAttempt: false };
    } else {
      yield* awaitTask<unknown>(timerNotBefore(run.context, new Date(run.now() + retryAfterMs)));
    }
  }
}

/** Durable's retry for the calls before the submit, by hand: see callPatiently. */
function* attemptCancellably<T>(run: RunState, name: PatientActivity, input: ActivityInput<PatientActivity>): Step<{ ok: true; value: T } | { ok: false; error: RunError } | { cancelled: true; afterFailedAttempt: boolean }> {
  const retry = submitRetryOptions();
  for (let attempts = 1; ; attempts += 1) {
    const cancel = run.cancelRequest();
    if (cancel.isCompleted) return { cancelled: true, afterFailedAttempt: attempts > 1 };
    let called: { ok: true; value: T } | { ok: false; error: RunError };
    if (name === ActivityNames.submitRefresh) {
      // A submit is waited for: abandoned, it could still POST after the run has ended. The
      // cancel is acted on as soon as it answers (the poll loop cancels what it submitted).
      called = yield* attempt<T>(run.context.df.callActivity(name, input));
    } else {
      // A read races the cancel request: a cancel is acted on while a slow read is still out
      // (its late answer is ignored).
      const call = run.context.df.callActivity(name, input);
      const winner = yield* awaitTask<Task>(run.context.df.Task.any([call, cancel]));
      if (winner === cancel) return { cancelled: true, afterFailedAttempt: attempts > 1 };
      called = call.isFaulted ? { ok: false, error: toRunError(call.result) } : { ok: true, value: call.result as T };
    }
    if (called.ok || attempts >= retry.maxNumberOfAttempts) return called;
    const backoffMs = Math.min(retry.firstRetryIntervalInMilliseconds * retry.backoffCoefficient ** (attempts - 1), retry.maxRetryIntervalInMilliseconds);
    if ((yield* waitOrCancel(run, new Date(run.now() + backoffMs))) === 'cancelled') return { cancelled: true, afterFailedAttempt: true };
  }
}

function isThrottled(result: { kind: string }): result is Throttled {
  return result.kind === 'throttled';
}

/**
 * One status call, without Durable's retry: the next poll is the retry. A missed call is noted on
 * the run, with any Retry-After kept for the next wait; it returns undefined then.
 */
function* pollStatus<N extends 'getRefreshStatus' | 'getSyncStatus'>(run: RunState, name: N, input: ActivityInput<N>): Step<Exclude<ActivityResult<N>, Unavailable> | undefined> {
  const polled = yield* attempt<ActivityResult<N>>(activity(run, name, input));
  run.countStatusCall();
  const result: ActivityResult<N> | Unavailable = polled.ok ? polled.value : { kind: 'unavailable', error: polled.error };
  if (isUnavailable(result)) {
    run.noteIssue(result.error);
    run.minNextDelayMs = run.cappedRetryAfter(result.retryAfterMs ?? 0);
    return undefined;
  }
  return result as Exclude<ActivityResult<N>, Unavailable>;
}

function isUnavailable(result: { kind: string }): result is Unavailable {
  return result.kind === 'unavailable';
}

export function toRunError(error: unknown): RunError {
  return { code: codeOf(error), message: detailOf(error) };
}

/** How a phase ends: the run goes on to the next phase, or it ends with an outcome. */
type Ended = { next: false; outcome: RunOutcome; error?: RunError } | { next: false; continuedAsNew: true };
type PhaseOutcome = { next: true } | Ended;

const goOn: PhaseOutcome = { next: true };
const endWith = (outcome: RunOutcome, error?: RunError): Ended => ({ next: false, outcome, ...(error === undefined ? {} : { error }) });

/**
 * Refresh-and-sync of one model (AAS or Power BI, through the backend port's activities): look at
 * the model, submit (or adopt) the refresh, poll it with durable timers, cancel it on request or at
 * the deadline, sync the replicas, call back. Deterministic: time from `currentUtcDateTime`, no
 * I/O, everything else through activities. Each phase returns how it ended.
 */
export function* refreshOrchestrator(context: OrchestrationContext): Step<RunResult | undefined> {
  const run = new RunState(context, context.df.getInput());

  if (run.isFirstExecution) {
    const started = yield* startPhase(run);
    if (!started.next) return yield* endPhase(run, started);
  }
  if (run.resumeAt === 'pollRefresh') {
    const refreshed = yield* pollRefreshPhase(run);
    if (!refreshed.next) return yield* endPhase(run, refreshed);
    if (!run.request.sync) return yield* finish(run, 'succeeded');
    const syncStarted = yield* startSyncPhase(run);
    if (!syncStarted.next) return yield* endPhase(run, syncStarted);
  }
  return yield* endPhase(run, yield* pollSyncPhase(run));
}

function* endPhase(run: RunState, ended: Ended): Step<RunResult | undefined> {
  if ('continuedAsNew' in ended) return undefined;
  return yield* finish(run, ended.outcome, ended.error);
}

/** Waits for the run that went first on the model, then submits (or adopts) the refresh. */
function* startPhase(run: RunState): Step<PhaseOutcome> {
  if (run.claim !== undefined) {
    // The engine decides who has the model (docs/scale-out.md): claim before anything else.
    const acquired = yield* acquireClaim({
      context: run.context,
      claim: run.claim,
      mode: run.request.onConflict,
      deadline: run.deadline,
      leaseUntil: claimLeaseUntil(run.deadline, run.request.polling.maxIntervalMs),
      polling: run.request.polling,
      cancelRequest: () => run.cancelRequest(),
      show: (view) => run.showClaim(view),
    });
    switch (acquired.kind) {
      case 'granted':
        run.holdsClaim = true;
        break;
      case 'refused':
        return endWith('failed', {
          code: ErrorCodes.MODEL_BUSY,
          message:
            acquired.answer.state === 'busy'
              ? `Run ${acquired.answer.holder} of this app is already refreshing this model; nothing was submitted. Send "onConflict": "wait" to queue behind it.`
              : `${MAX_QUEUED_RUNS} runs are already waiting for this model behind run ${acquired.answer.holder}; nothing was submitted.`,
        });
      case 'cancelled':
        return endWith('cancelled', { code: ErrorCodes.RUN_CANCELLED, message: 'Cancelled on request before a refresh was submitted.' });
      case 'timedOut':
        return endWith('timedOut', { code: ErrorCodes.RUN_TIMED_OUT, message: `Run ${acquired.holder} of this app still held the model at the deadline; nothing was submitted.` });
    }
  } else if (run.predecessorRunId !== undefined) {
    const waited = yield* waitForPredecessor(run, run.predecessorRunId);
    if (waited !== undefined) return endWith(waited.outcome, waited.error);
  }
  const submitted = yield* submitPhase(run);
  if (submitted.ended) return endWith(submitted.outcome, submitted.error);
  run.startPolling(submitted.refreshId, submitted.adopted);
  return goOn;
}

/**
 * Polls the refresh until it ends, cancelling it on request, at the deadline or when its status
 * cannot be read any more. `next`: it succeeded (also when a cancel came too late).
 */
function* pollRefreshPhase(run: RunState): Step<PhaseOutcome> {
  const { request } = run;
  for (;;) {
    const timing = run.pollTiming();
    let ending: Ending | undefined;
    if (timing.remainingMs <= 0) {
      ending = yield* cancelAndEnd(run, 'deadline', 'timedOut', (cancelled) => {
        // Asked after the cancel and the last status read: a refused token on the last poll that
        // the next call got past (its status recorded, the issue cleared) is not what ended the run.
        const blind = run.identityTrouble();
        return blind === undefined
          ? { code: ErrorCodes.RUN_TIMED_OUT, message: `The refresh did not finish within ${request.timeoutMs / 1000} s; ${cancelled}` }
          : // The run could not see the refresh: say what to fix, with the identity's own code.
            { code: blind.code, message: `The run could not read the refresh's status until the deadline (${request.timeoutMs / 1000} s) because of this app's identity: ${blind.message} Fix that; ${cancelled}` };
      });
    } else {
      const woke = yield* waitOrCancel(run, run.at(Math.max(nextPollDelayMs(timing, request.polling), run.minNextDelayMs)));
      run.minNextDelayMs = 0;
      if (woke === 'cancelled') {
        ending = yield* cancelAndEnd(run, 'request', 'cancelled', (cancelled) => ({ code: ErrorCodes.RUN_CANCELLED, message: `Cancelled on request; ${cancelled}` }));
      }
    }
    if (ending !== undefined) return ending;
    const result = yield* pollStatus(run, 'getRefreshStatus', { target: run.target, refreshId: run.refreshId });
    if (result?.kind === 'rejected') {
      // The run ends here, so it must not leave the refresh running in the service.
      const rejected = result.error;
      return yield* cancelAndEnd(run, 'error', 'failed', (cancelled) => ({ code: rejected.code, message: `${rejected.message} ${cancelled}` }));
    }
    if (result !== undefined) {
      run.record(result.refresh);
      if (TERMINAL_REFRESH_STATUSES.has(result.refresh.status)) {
        if (result.refresh.status !== 'succeeded') return endWith('failed', refreshFailure(run, result.refresh));
        run.log('refresh.succeeded', { refreshId: run.refreshId, statusCalls: run.statusCalls });
        return goOn;
      }
    }
    if (run.countPoll() && !run.cancelRequest().isCompleted) return run.continueAsNew('pollRefresh');
  }
}

/** Asks the service to sync the replicas (the refresh succeeded). */
function* startSyncPhase(run: RunState): Step<PhaseOutcome> {
  const sync = yield* callPatiently(run, 'submitSync', { target: run.target }, { cancellable: false, untilDeadline: true });
  if (sync.status === 'failed') return endWith('failed', syncFailure(sync.error.message, sync.error.code));
  if (sync.value.kind === 'rejected') return endWith('failed', syncFailure(sync.value.error.message, sync.value.error.code));
  run.startSync(sync.value.operationId);
  return goOn;
}

/** Sync phase: the refresh succeeded; replicas are catching up. */
function* pollSyncPhase(run: RunState): Step<Ended> {
  const { request } = run;
  for (;;) {
    const remainingMs = run.remainingMs();
    if (remainingMs <= 0) {
      return endWith('timedOut', { code: ErrorCodes.RUN_TIMED_OUT, message: 'The refresh succeeded but the replica sync did not finish before the deadline.' });
    }
    const delay = Math.max(nextSyncPollDelayMs(run.elapsedMs(), request.polling, remainingMs), run.minNextDelayMs);
    const woke = yield* waitOrCancel(run, run.at(delay));
    run.minNextDelayMs = 0;
    if (woke === 'cancelled') {
      return endWith('cancelled', { code: ErrorCodes.RUN_CANCELLED, message: `Cancelled on request during the replica sync; the refresh had succeeded and ${run.label} syncs cannot be cancelled.` });
    }
    const result = yield* pollStatus(run, 'getSyncStatus', { target: run.target, operationId: run.syncOperationId });
    if (result?.kind === 'rejected') return endWith('failed', syncFailure(result.error.message, result.error.code));
    if (result !== undefined) {
      const sync = readSyncStatus(result);
      run.recordSync(sync.status, sync.serviceState, result.details ?? null);
      if (sync.status === 'succeeded') return endWith('succeeded');
      if (sync.status === 'failed') {
        return endWith('failed', syncFailure(result.details ?? `${run.label} reported the sync failed (${String(sync.serviceState ?? 'failed')}) without details.`));
      }
    }
    if (run.countPoll() && (run.cancelTooLate || !run.cancelRequest().isCompleted)) return run.continueAsNew('pollSync');
  }
}

type SubmitOutcome = { ended: false; refreshId: string; adopted: boolean } | { ended: true; outcome: RunOutcome; error: RunError };

/** Looks at the model, then submits; waits for a busy model when asked to. */
function* submitPhase(run: RunState): Step<SubmitOutcome> {
  const { request, target } = run;
  const patiently = { cancellable: true, untilDeadline: true } as const;
  for (let busyWaits = 0; ; busyWaits += 1) {
    if (run.remainingMs() <= 0) {
      return { ended: true, outcome: 'timedOut', error: { code: ErrorCodes.RUN_TIMED_OUT, message: 'The deadline passed before a refresh could be submitted; nothing was submitted.' } };
    }
    const inspected = yield* callPatiently(run, 'inspectModel', { target, refresh: request.refresh }, patiently);
    if (inspected.status !== 'done') return endedBeforeSubmit(inspected);
    if (inspected.value.kind === 'rejected') return { ended: true, outcome: 'failed', error: inspected.value.error };
    const snapshot = inspected.value;
    run.expectDuration(snapshot.expectedDurationMs);

    let busy: { activeRefreshId?: string; message: string };
    if (snapshot.activeRefreshId !== undefined) {
      busy = { activeRefreshId: snapshot.activeRefreshId, message: `${run.label} is already running refresh ${snapshot.activeRefreshId} on this model.` };
    } else {
      const notBefore = new Date(run.now() - SUBMIT_CLOCK_SKEW_MS).toISOString();
      const submitted = yield* callPatiently(run, 'submitRefresh', { target, refresh: request.refresh, knownRefreshIds: snapshot.knownRefreshIds, notBefore, attemptTimeoutMs: run.remainingMs() }, patiently);
      if (submitted.status === 'cancelled' && submitted.afterFailedAttempt) {
        // A failed attempt may have reached the service (its answer lost): a refresh that appeared
        // since the snapshot is taken as ours and cancelled like any other (the poll loop sees the cancel).
        const looked = yield* callPatiently(run, 'inspectModel', { target }, { cancellable: false, untilDeadline: false });
        const appeared = looked.status === 'done' && looked.value.kind === 'inspected' ? looked.value.activeRefreshId : undefined;
        if (appeared !== undefined && !snapshot.knownRefreshIds.includes(appeared)) return { ended: false, refreshId: appeared, adopted: true };
      }
      if (submitted.status !== 'done') return endedBeforeSubmit(submitted);
      const result = submitted.value;
      if (result.kind === 'submitted') return { ended: false, refreshId: result.refreshId, adopted: result.adopted };
      if (result.kind === 'rejected') return { ended: true, outcome: 'failed', error: result.error };
      busy = result;
    }

    const busyError: RunError = { code: ErrorCodes.MODEL_BUSY, message: busy.message };
    if (request.onConflict === 'fail') return { ended: true, outcome: 'failed', error: busyError };
    const delay = conflictWaitMs(busyWaits, request.polling, run.remainingMs());
    if (delay <= 0) return { ended: true, outcome: 'timedOut', error: { code: ErrorCodes.RUN_TIMED_OUT, message: `The model was still busy at the deadline. ${busy.message}` } };
    run.enterPhase('waiting');
    run.noteIssue(busyError);
    if ((yield* waitOrCancel(run, run.at(delay))) === 'cancelled') return cancelledBeforeSubmit();
  }
}

/** A call before the submit that failed (after its retries) or was cancelled while waiting out a 429. */
function endedBeforeSubmit(called: { status: 'failed'; error: RunError } | { status: 'cancelled' }): SubmitOutcome {
  if (called.status === 'cancelled') return cancelledBeforeSubmit();
  return { ended: true, outcome: called.error.code === ErrorCodes.RUN_TIMED_OUT ? 'timedOut' : 'failed', error: called.error };
}

/** Waits (durable timers) until the run of this app that went first on the model has ended. */
function* waitForPredecessor(run: RunState, predecessorRunId: string): Step<{ outcome: RunOutcome; error: RunError } | undefined> {
  const { request } = run;
  for (let checks = 0; ; checks += 1) {
    const state = yield* attempt<ActivityResult<'getRunState'>>(activity(run, 'getRunState', { runId: predecessorRunId }, submitRetryOptions()));
    if (!state.ok) return { outcome: 'failed', error: state.error };
    if (state.value.ended) return undefined;
    const busy: RunError = { code: ErrorCodes.MODEL_BUSY, message: `Waiting for run ${predecessorRunId} of this app to finish with the model.` };
    const delay = conflictWaitMs(checks, request.polling, run.remainingMs());
    if (delay <= 0) return { outcome: 'timedOut', error: { code: ErrorCodes.RUN_TIMED_OUT, message: `Run ${predecessorRunId} was still refreshing the model at the deadline.` } };
    run.enterPhase('waiting');
    run.noteIssue(busy);
    if ((yield* waitOrCancel(run, run.at(delay))) === 'cancelled') {
      return { outcome: 'cancelled', error: { code: ErrorCodes.RUN_CANCELLED, message: 'Cancelled on request before a refresh was submitted.' } };
    }
  }
}

function cancelledBeforeSubmit(): SubmitOutcome & { ended: true } {
  return { ended: true, outcome: 'cancelled', error: { code: ErrorCodes.RUN_CANCELLED, message: 'Cancelled on request before a refresh was submitted.' } };
}

/**
 * Sleeps until `wakeAt` (no sooner: timerNotBefore) unless a cancel request arrives first; an
 * abandoned timer is cancelled.
 * The run waits on one cancel task for its whole execution: a request that arrives while an
 * activity runs completes that task and is seen at the next wait, never lost to a stale waiter.
 */
function* waitOrCancel(run: RunState, wakeAt: Date): Step<'fired' | 'cancelled'> {
  if (run.cancelTooLate) {
    // The cancel was answered already (the refresh had succeeded): only the wait is left.
    yield* awaitTask<unknown>(timerNotBefore(run.context, wakeAt));
    return 'fired';
  }
  const cancel = run.cancelRequest();
  if (cancel.isCompleted) return 'cancelled';
  const timer = timerNotBefore(run.context, wakeAt);
  const winner = yield* awaitTask<Task>(run.context.df.Task.any([timer, cancel]));
  if (winner === cancel) {
    timer.cancel();
    return 'cancelled';
  }
  return 'fired';
}

/** How a cancel ended the refresh phase: the run ends, or the refresh had succeeded (`next`). */
type Ending = PhaseOutcome;

/**
 * After any cancel (on request, at the deadline, after an error), reads the refresh once more and
 * ends on the service's last word: a refresh that had already succeeded is a success (the cancel
 * came too late; the caller syncs as asked), one that had failed is that failure, otherwise the
 * intended outcome, with the objects' final statuses.
 */
function* cancelAndEnd(run: RunState, why: 'deadline' | 'request' | 'error', intended: RunOutcome, errorFor: (cancelled: string) => RunError): Step<Ending> {
  const cancelled = yield* cancelInService(run, why);
  const last = yield* pollStatus(run, 'getRefreshStatus', { target: run.target, refreshId: run.refreshId });
  if (last?.kind === 'status') {
    run.record(last.refresh);
    if (last.refresh.status === 'succeeded') {
      const late = why === 'request' ? 'The cancel came too late' : why === 'deadline' ? 'The deadline came too late' : 'The status call failed too late';
      run.cancelCameTooLate(`${late}: ${run.label} had already finished refresh ${run.refreshId} successfully${run.request.sync ? '; the replicas are synced as asked' : ''}.`);
      run.log('refresh.succeeded', { refreshId: run.refreshId, statusCalls: run.statusCalls, lateCancel: why });
      return goOn;
    }
    if (last.refresh.status === 'failed') return endWith('failed', refreshFailure(run, last.refresh));
  }
  return endWith(intended, errorFor(cancelled));
}

/** Cancels the run's refresh in the service; returns what happened, in words for the run's error message. */
function* cancelInService(run: RunState, why: 'deadline' | 'request' | 'error'): Step<string> {
  // Shown while the cancel is in flight (it may wait out throttling): no poll is due any more.
  run.startCancelling(why);
  // The cancel must happen even past the deadline, and a cancel request cannot interrupt it.
  const cancelled = yield* callPatiently(run, 'cancelRefresh', { target: run.target, refreshId: run.refreshId }, { cancellable: false, untilDeadline: false });
  const outcome: Exclude<CancelRefreshResult, Throttled> = cancelled.status === 'done' ? cancelled.value : { kind: 'rejected', error: cancelled.error };
  const label = run.label;
  switch (outcome.kind) {
    case 'cancelled':
      run.recordCancelled();
      run.log('refresh.cancelled', { refreshId: run.refreshId, why });
      return `the ${label} refresh was cancelled.`;
    case 'notRunning':
      run.log('refresh.cancelled', { refreshId: run.refreshId, why, alreadyEnded: true });
      return `the ${label} refresh had already ended (${outcome.message}).`;
    case 'unknown':
      run.log('refresh.cancelled', { refreshId: run.refreshId, why, unknownToService: true });
      return `${label} does not know refresh ${run.refreshId} (it may have lost it, for example in a restart), so there was nothing to cancel (${outcome.message}).`;
    case 'rejected':
      run.noteIssue({ code: outcome.error.code, message: `Cancelling refresh ${run.refreshId} in ${label} failed: ${outcome.error.message}` });
      run.log('refresh.cancelFailed', { refreshId: run.refreshId, why, code: outcome.error.code }, 'warn');
      return `cancelling the ${label} refresh failed (${outcome.error.code}: ${outcome.error.message}); check it in ${label}.`;
  }
}

function* finish(run: RunState, status: RunOutcome, error?: RunError): Step<RunResult> {
  const { context, request } = run;
  // Free the model first, then show the outcome: once a caller sees the run ended, a new request
  // for the model must not find it still claimed (409 MODEL_BUSY). The entity's answer can take
  // a queue-polling interval on Azure Storage, and the custom status shows from the next yield on.
  // Both before the callback, whose retries may take minutes: the next run starts now.
  if (run.holdsClaim && run.claim !== undefined) {
    yield* releaseClaim(context, run.claim);
    run.holdsClaim = false;
  }
  const result = run.decide(status, error);
  run.log(`run.${status}`, { refreshId: result.refreshId ?? '', code: error?.code ?? '', statusCalls: result.statusCalls }, status === 'succeeded' ? 'info' : 'warn');
  if (request.callbackUrl !== undefined) {
    const body: AdfCallbackBody = {
      Output: { runId: context.df.instanceId, ...result, ...legacyAasFields(run, result) },
      StatusCode: String(OUTCOME_HTTP_STATUS[status]),
      ...(error === undefined ? {} : { Error: { ErrorCode: error.code, Message: error.message } }),
    };
    const sent = yield* attempt<ActivityResult<'sendCallback'>>(activity(run, 'sendCallback', { url: request.callbackUrl, body }, callbackRetryOptions()));
    const report: CallbackReport = !sent.ok
      ? { delivered: false, error: sent.error.message }
      : sent.value.delivered
        ? { delivered: true, httpStatus: sent.value.httpStatus }
        : { delivered: false, httpStatus: sent.value.httpStatus, error: sent.value.error };
    result.callback = report;
    if (report.delivered) run.log('callback.delivered', { httpStatus: report.httpStatus ?? 0 });
    else run.log('callback.failed', { error: report.error ?? 'unknown', httpStatus: report.httpStatus ?? 0 }, 'warn');
  }
  return result;
}

/**
 * AAS runs' callback keeps the two fields it had before Power BI support (`aasStatus`, the numeric
 * `syncState`), so that ADF pipelines reading them keep working; deprecated, as in the run view.
 */
function legacyAasFields(run: RunState, result: RunResult): { aasStatus?: string; syncState?: number } {
  if (run.target.backend !== 'aas') return {};
  return {
    ...(result.refreshStatus === undefined ? {} : { aasStatus: result.refreshStatus }),
    ...(typeof result.syncServiceState === 'number' ? { syncState: result.syncServiceState } : {}),
  };
}

function refreshFailure(run: RunState, refresh: RefreshDetails): RunError {
  const details = refresh.messages.map((message) => message.message).filter((text) => text.length > 0);
  const failedObjects = refresh.objects.filter((object) => object.status.toLowerCase() === 'failed').map((object) => (object.partition === undefined ? object.table : `${object.table}/${object.partition}`));
  const parts = [`${run.label} refresh ${refresh.refreshId} ended ${refresh.status}.`];
  if (failedObjects.length > 0) parts.push(`Failed objects: ${failedObjects.join(', ')}.`);
  if (details.length > 0) parts.push(details.join(' '));
  const code: ErrorCode = refresh.status === 'cancelled' ? ErrorCodes.REFRESH_CANCELLED : refresh.status === 'timedOut' ? ErrorCodes.RUN_TIMED_OUT : ErrorCodes.REFRESH_FAILED;
  return { code, message: parts.join(' ') };
}

function syncFailure(detail: string, cause?: ErrorCode): RunError {
  const suffix = cause !== undefined && cause !== ErrorCodes.SYNC_FAILED ? ` (${cause})` : '';
  return { code: ErrorCodes.SYNC_FAILED, message: `The refresh succeeded but the replica sync failed${suffix}: ${detail}` };
}

/**
 * The run's progress and its bookkeeping. Every change to the progress goes through a method
 * here, which publishes it as custom status: nothing else writes `progress`.
 */
class RunState {
  readonly request: RunRequest;
  readonly target: RefreshTarget;
  readonly predecessorRunId?: string;
  readonly claim?: RunClaim;
  /** The entity granted this run the model (carried across continueAsNew: the claim is the instance's). */
  holdsClaim: boolean;
  readonly isFirstExecution: boolean;
  private readonly progress: RunProgress;
  resumeAt: CarriedState['resumeAt'];
  minNextDelayMs: number;
  private pollingSince: number;
  private polls = 0;
  private cancelTask?: Task;
  /** A cancel request arrived after the service had finished the refresh: it has been answered. */
  cancelTooLate = false;

  constructor(
    readonly context: OrchestrationContext,
    rawInput: unknown,
  ) {
    const input = rawInput as OrchestrationInput;
    // Inputs written before the backend port have no `backend`: AAS.
    const request = readRunRequest(input.request);
    if (request === undefined) throw new Error('The orchestration input names no refresh target.');
    this.request = request;
    this.target = targetOf(request);
    this.predecessorRunId = input.predecessorRunId;
    const now = context.df.currentUtcDateTime;
    const carried = input.carried;
    this.isFirstExecution = carried === undefined;
    this.claim = input.claim;
    this.holdsClaim = input.claim !== undefined && carried !== undefined;
    // A copy: the input belongs to the replay machinery.
    this.progress = carried === undefined ? {
      phase: 'pending',
      startedAt: now.toISOString(),
      deadline: new Date(now.getTime() + request.timeoutMs).toISOString(),
      objects: [],
      messages: [],
      statusCalls: 0,
      executions: 0,
    } : readProgress({ ...carried.progress });
    this.progress.executions += 1;
    this.resumeAt = carried?.resumeAt ?? 'pollRefresh';
    this.pollingSince = carried === undefined ? now.getTime() : Date.parse(carried.pollingSince);
    this.minNextDelayMs = carried?.minNextDelayMs ?? 0;
    this.publish();
  }

  /** "AAS", "Power BI": how messages name the service. */
  get label(): string {
    return backendLabel(this.target.backend);
  }

  /** The cancel request, one task per execution (see waitOrCancel). */
  cancelRequest(): Task {
    this.cancelTask ??= this.context.df.waitForExternalEvent(CANCEL_EVENT);
    return this.cancelTask;
  }

  get refreshId(): string {
    return this.progress.refreshId ?? '';
  }

  get deadline(): string {
    return this.progress.deadline;
  }

  /** Shows the entity's answer: queued is "waiting" (MODEL_BUSY as the issue), granted goes on. */
  showClaim(view: ClaimView): void {
    this.progress.claim = view;
    if (view.state === 'queued') {
      this.progress.phase = 'waiting';
      this.progress.lastIssue = { code: ErrorCodes.MODEL_BUSY, message: `Waiting for run ${view.holder} of this app to finish with the model (position ${view.position} in its queue).` };
    } else if (view.state === 'granted') {
      this.progress.phase = 'pending';
      this.progress.lastIssue = undefined;
    }
    this.publish();
  }

  get syncOperationId(): string {
    return this.progress.syncOperationId ?? '';
  }

  get statusCalls(): number {
    return this.progress.statusCalls;
  }

  now(): number {
    return this.context.df.currentUtcDateTime.getTime();
  }

  remainingMs(): number {
    return Date.parse(this.progress.deadline) - this.now();
  }

  elapsedMs(): number {
    return this.now() - this.pollingSince;
  }

  /** When the next poll (or wait) fires, capped at the deadline; shown as nextPollAt. */
  at(delayMs: number): Date {
    const fireAt = Math.min(this.now() + delayMs, Date.parse(this.progress.deadline));
    this.progress.nextPollAt = new Date(fireAt).toISOString();
    this.publish();
    return new Date(fireAt);
  }

  pollTiming() {
    return { elapsedMs: this.elapsedMs(), expectedDurationMs: this.progress.expectedDurationMs, remainingMs: this.remainingMs() };
  }

  enterPhase(phase: RunPhase): void {
    this.progress.phase = phase;
  }

  expectDuration(expectedDurationMs: number | undefined): void {
    this.progress.expectedDurationMs = expectedDurationMs;
  }

  countStatusCall(): void {
    this.progress.statusCalls += 1;
  }

  startPolling(refreshId: string, adopted: boolean): void {
    Object.assign(this.progress, { phase: 'refreshing', refreshId, adopted, lastIssue: undefined });
    this.pollingSince = this.now();
    this.log('refresh.submitted', { refreshId, adopted, expectedDurationMs: this.progress.expectedDurationMs ?? 0 });
    this.publish();
  }

  startSync(operationId: string): void {
    Object.assign(this.progress, { phase: 'syncing', syncOperationId: operationId, syncStatus: 'running' satisfies SyncStatus, lastIssue: undefined });
    this.resumeAt = 'pollSync';
    this.pollingSince = this.now();
    this.polls = 0;
    this.log('sync.submitted', { refreshId: this.refreshId, operationId });
    this.publish();
  }

  record(refresh: RefreshDetails): void {
    Object.assign(this.progress, {
      refreshStatus: refresh.status,
      refreshStartTime: refresh.startTime,
      refreshEndTime: refresh.endTime,
      objects: refresh.objects,
      messages: refresh.messages,
      lastIssue: undefined,
    });
    this.log('refresh.poll', { refreshId: this.refreshId, status: refresh.status, statusCalls: this.progress.statusCalls });
    this.publish();
  }

  recordSync(status: SyncStatus, serviceState: number | string | undefined, details: string | null): void {
    Object.assign(this.progress, { syncStatus: status, syncServiceState: serviceState, syncDetails: details });
  }

  startCancelling(why: 'deadline' | 'request' | 'error'): void {
    Object.assign(this.progress, { cancelling: why, nextPollAt: undefined });
    this.publish();
  }

  recordCancelled(): void {
    this.progress.refreshStatus = 'cancelled';
  }

  /** The refresh had succeeded before the cancel reached the service: the run goes on as a success. */
  cancelCameTooLate(note: string): void {
    this.cancelTooLate = true;
    Object.assign(this.progress, { cancelling: undefined, note });
    this.publish();
  }

  /** Records and shows the outcome; returns the run's result (the callback report is added after). */
  decide(status: RunOutcome, error?: RunError): RunResult {
    const endedAt = this.context.df.currentUtcDateTime.toISOString();
    Object.assign(this.progress, { outcome: status, error, endedAt, nextPollAt: undefined });
    this.publish();
    const { phase: _phase, nextPollAt: _next, outcome: _outcome, objectsTruncated: _truncated, cancelling: _cancelling, ...progress } = this.progress;
    const result: RunResult = { ...progress, status, endedAt, error };
    if (this.request.refresh.commitMode === 'partialBatch' && status === 'failed' && progress.objects.length > 0) {
      result.committedObjects = progress.objects.filter((object) => object.status.toLowerCase() === 'succeeded');
    }
    return result;
  }

  /**
   * A Retry-After is honoured up to POLL_MAX_INTERVAL_SECONDS: the service (or a proxy) asking for
   * a day must not park a run that the service may finish in seconds.
   */
  cappedRetryAfter(retryAfterMs: number): number {
    return Math.min(Math.max(0, retryAfterMs), this.request.polling.maxIntervalMs);
  }

  /** The last issue, when it is this app's identity failing (the status calls cannot see the refresh). */
  identityTrouble(): RunError | undefined {
    const issue = this.progress.lastIssue;
    return issue !== undefined && isIdentityProblem(issue.code) ? issue : undefined;
  }

  noteIssue(issue: RunError): void {
    this.progress.lastIssue = issue;
    this.log('run.issue', { refreshId: this.refreshId, code: issue.code }, 'warn');
    this.publish();
  }

  /** Counts a poll; true when this execution has polled enough and should continue as new. */
  countPoll(): boolean {
    this.polls += 1;
    return this.polls >= MAX_POLLS_PER_EXECUTION;
  }

  continueAsNew(resumeAt: CarriedState['resumeAt']): Ended {
    const carried: CarriedState = { progress: this.progress, resumeAt, pollingSince: new Date(this.pollingSince).toISOString(), minNextDelayMs: this.minNextDelayMs };
    this.context.df.continueAsNew({ request: this.request, ...(this.claim === undefined ? {} : { claim: this.claim }), carried } satisfies OrchestrationInput);
    return { next: false, continuedAsNew: true };
  }

  publish(): void {
    this.context.df.setCustomStatus(compactProgress(this.progress));
  }

  log(event: string, attributes: Record<string, string | number | boolean>, level: 'info' | 'warn' = 'info'): void {
    if (this.context.df.isReplaying) return;
    const entry = { instanceId: this.context.df.instanceId, ...targetAttributes(this.target), ...attributes };
    logEvent(this.context, level, event, entry);
  }
}
