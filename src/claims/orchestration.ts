import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import type { PollingConfig } from '../config/config';
import { timerNotBefore } from '../orchestration/durableTimer';
import { conflictWaitMs } from '../orchestration/pollingPolicy';
import { ClaimOperations, MAX_QUEUED_RUNS, MODEL_CLAIM_ENTITY, MODEL_FREED_EVENT, type ClaimAnswer, type ClaimInput, type FreeInput, type ReleaseAnswer, type ReleaseInput } from './modelClaim';

/**
 * The orchestration's side of the model claim (docs/scale-out.md): claim first, wait for the
 * model when asked to (woken by an event, with a backstop that frees a holder that has ended),
 * release at every end. Deterministic: time from currentUtcDateTime, I/O through the entity and
 * activities only.
 */

/** Registered names are stored in history: never rename one in place. */
export const ClaimFunctionNames = {
  /** Activity: raises MODEL_FREED_EVENT on a run that the entity made holder. */
  notifyClaimant: 'notifyClaimant',
  /** The existing activity that reads one run's state (src/functions/activities.ts). */
  getRunState: 'getRunState',
} as const;

/** What a run started with a claim carries in its input (across continueAsNew too). */
export interface RunClaim {
  /** Entity key: claimKey(modelKey). */
  key: string;
  /** The readable model key, stored in the entity for people reading it. */
  model: string;
}

export interface NotifyClaimantInput {
  runId: string;
}
/** `delivered: false`: the run is not running (ended, terminated, purged, never started). */
export type NotifyClaimantResult = { delivered: boolean };

export interface RunStateAnswer {
  ended: boolean;
}

/** What the run shows in its custom status while it claims and waits. */
export type ClaimView = { state: 'granted' } | { state: 'queued'; holder: string; position: number } | { state: 'busy' | 'queueFull'; holder: string };

export type Acquired =
  | { kind: 'granted' }
  | { kind: 'refused'; answer: Extract<ClaimAnswer, { state: 'busy' | 'queueFull' }> }
  | { kind: 'cancelled' }
  | { kind: 'timedOut'; holder: string };

export interface ClaimingRun {
  context: OrchestrationContext;
  claim: RunClaim;
  mode: ClaimInput['mode'];
  /** The run's deadline (ISO): how long it waits in the queue. */
  deadline: string;
  /** The claim's lease (ISO): past the deadline, by what the run may still spend on the model (its cancel). */
  leaseUntil: string;
  polling: PollingConfig;
  /** The run's one cancel task (the same task the rest of the run waits on). */
  cancelRequest(): Task;
  /** Shows the claim in the run's custom status. */
  show(view: ClaimView): void;
}

type Step<T> = Generator<Task, T, unknown>;

export function claimEntityId(key: string): df.EntityId {
  return new df.EntityId(MODEL_CLAIM_ENTITY, key);
}

function nowOf(context: OrchestrationContext): string {
  return context.df.currentUtcDateTime.toISOString();
}

function* callClaim<T>(context: OrchestrationContext, key: string, operation: string, input: ClaimInput | ReleaseInput | FreeInput): Step<T> {
  return (yield context.df.callEntity(claimEntityId(key), operation, input)) as T;
}

/** Retries for the two activities here: 5 attempts, 5 s doubling (as the run's other calls). */
function retryOptions(): df.RetryOptions {
  const options = new df.RetryOptions(5_000, 5);
  options.backoffCoefficient = 2;
  return options;
}

/**
 * Tells the run the entity made holder; a run that is no longer running is freed in turn, so the
 * next one is told. Bounded by the queue's length.
 */
function* tellHolder(context: OrchestrationContext, key: string, woken: string | undefined, self: string): Step<void> {
  let next = woken;
  for (let told = 0; next !== undefined && next !== self && told <= MAX_QUEUED_RUNS; told += 1) {
    let delivered = true;
    try {
      delivered = ((yield context.df.callActivityWithRetry(ClaimFunctionNames.notifyClaimant, retryOptions(), { runId: next } satisfies NotifyClaimantInput)) as NotifyClaimantResult).delivered;
    } catch {
      // Told or not, the waiting run's backstop finds the model free: a lost hint costs one interval.
      return;
    }
    if (delivered) return;
    const freed = yield* callClaim<ReleaseAnswer>(context, key, ClaimOperations.free, { holder: next, now: nowOf(context), reason: 'the run the model was handed to is not running' });
    next = freed.woken;
  }
}

/**
 * Claims the model; with mode "wait" waits in the queue until the entity grants it, the run is
 * cancelled or its deadline passes. A run that leaves the queue (cancel, deadline) takes itself
 * out of it.
 */
export function* acquireClaim(run: ClaimingRun): Step<Acquired> {
  const { context, claim } = run;
  const runId = context.df.instanceId;
  let freed: Task | undefined;
  for (let checks = 0; ; checks += 1) {
    const answer = yield* callClaim<ClaimAnswer>(context, claim.key, ClaimOperations.claim, { runId, model: claim.model, leaseUntil: run.leaseUntil, mode: run.mode, now: nowOf(context) });
    yield* tellHolder(context, claim.key, answer.woken, runId);
    const { woken: _woken, ...view } = answer;
    run.show(view);
    if (answer.state === 'granted') return { kind: 'granted' };
    if (answer.state !== 'queued') return { kind: 'refused', answer };

    const remainingMs = Date.parse(run.deadline) - context.df.currentUtcDateTime.getTime();
    const delay = conflictWaitMs(checks, run.polling, remainingMs);
    if (delay <= 0) {
      yield* releaseClaim(context, claim);
      return { kind: 'timedOut', holder: answer.holder };
    }
    const cancel = run.cancelRequest();
    if (cancel.isCompleted) {
      yield* releaseClaim(context, claim);
      return { kind: 'cancelled' };
    }
    // One waiter for the event until it fires: an abandoned waiter could take the next event.
    freed ??= context.df.waitForExternalEvent(MODEL_FREED_EVENT);
    const timer = timerNotBefore(context, new Date(context.df.currentUtcDateTime.getTime() + delay));
    const winner = (yield context.df.Task.any([freed, timer, cancel])) as Task;
    if (winner !== timer) timer.cancel();
    if (winner === cancel) {
      yield* releaseClaim(context, claim);
      return { kind: 'cancelled' };
    }
    if (winner === freed) {
      freed = undefined;
      continue;
    }
    // Backstop: the holder may have been terminated, failed or purged without releasing.
    let holderEnded = false;
    try {
      holderEnded = ((yield context.df.callActivityWithRetry(ClaimFunctionNames.getRunState, retryOptions(), { runId: answer.holder })) as RunStateAnswer).ended;
    } catch {
      holderEnded = false;
    }
    if (holderEnded) {
      const released = yield* callClaim<ReleaseAnswer>(context, claim.key, ClaimOperations.free, { holder: answer.holder, now: nowOf(context), reason: 'the holder has ended' });
      yield* tellHolder(context, claim.key, released.woken, runId);
    }
  }
}

/** Frees the model (or leaves its queue) and tells the next run. */
export function* releaseClaim(context: OrchestrationContext, claim: RunClaim): Step<void> {
  const runId = context.df.instanceId;
  const released = yield* callClaim<ReleaseAnswer>(context, claim.key, ClaimOperations.release, { runId, now: nowOf(context) });
  yield* tellHolder(context, claim.key, released.woken, runId);
}
