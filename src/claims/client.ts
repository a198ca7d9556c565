import { OrchestrationRuntimeStatus, type DurableClient } from 'durable-functions';
import { claimEntityId, type ClaimView, type NotifyClaimantInput, type NotifyClaimantResult } from './orchestration';
import { ClaimOperations, MODEL_FREED_EVENT, type FreeInput, type ModelClaimState } from './modelClaim';

/** The HTTP side of the model claim: what POST and the operator route read and send. */

const RUNNING: OrchestrationRuntimeStatus[] = [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.ContinuedAsNew, OrchestrationRuntimeStatus.Suspended];

/** How long POST waits for a new run's claim answer before answering 202 anyway. */
export const CLAIM_ANSWER_WAIT_MS = 5_000;
/** The first pause between two reads of the new run's status while POST waits; it doubles up to CLAIM_ANSWER_MAX_POLL_MS. */
export const CLAIM_ANSWER_POLL_MS = 50;
/** So a burst of POSTs reads the task hub about 15 times each at most, not 100. */
export const CLAIM_ANSWER_MAX_POLL_MS = 500;

export async function readClaim(client: DurableClient, key: string): Promise<ModelClaimState | undefined> {
  const read = await client.readEntityState<ModelClaimState>(claimEntityId(key));
  return read.entityExists ? read.entityState : undefined;
}

/** The run's runtime status, or undefined when the task hub does not know it (404). */
async function runtimeStatusOf(client: DurableClient, runId: string): Promise<OrchestrationRuntimeStatus | undefined> {
  try {
    return (await client.getStatus(runId, { showInput: false })).runtimeStatus;
  } catch (error) {
    if (error instanceof Error && error.message.includes('HTTP 404')) return undefined;
    throw error;
  }
}

export async function isRunning(client: DurableClient, runId: string): Promise<boolean> {
  const status = await runtimeStatusOf(client, runId);
  return status !== undefined && RUNNING.includes(status);
}

/**
 * The run holding the model, when its lease has not passed and it is still running; a holder that
 * has ended without releasing (terminated, failed, purged) is freed on the way (a signal: the
 * entity frees it only if it still holds the model).
 */
export async function activeHolder(client: DurableClient, key: string, now: Date): Promise<string | undefined> {
  const state = await readClaim(client, key);
  const holder = state?.holder;
  if (holder === undefined || Date.parse(holder.leaseUntil) <= now.getTime()) return undefined;
  if (await isRunning(client, holder.runId)) return holder.runId;
  await freeAndTellNext(client, key, state, holder.runId, now, 'the holder has ended');
  return undefined;
}

/**
 * Frees the model from `holder` (a named free: a later holder is untouched) and tells the first
 * waiting run whose lease is live, which the entity makes holder: a signal has no answer, so
 * without this the run would sleep until its backstop timer (up to POLL_MAX_INTERVAL_SECONDS).
 */
async function freeAndTellNext(client: DurableClient, key: string, state: ModelClaimState | undefined, holder: string, now: Date, reason: string): Promise<string | undefined> {
  await client.signalEntity(claimEntityId(key), ClaimOperations.free, { holder, now: now.toISOString(), reason } satisfies FreeInput);
  const next = state?.queue.find((claimant) => Date.parse(claimant.leaseUntil) > now.getTime())?.runId;
  if (next !== undefined) await notifyClaimant(client, { runId: next });
  return next;
}

/** What a new run's custom status says about its claim, once it says anything. */
export type ClaimOutcome = { decided: true; view: ClaimView } | { decided: false };

/**
 * Waits (at most `waitMs`) for a new run to show its claim answer. Reads that one instance only.
 * `delay` is injectable for tests; the default waits on the real clock.
 */
export async function awaitClaimAnswer(
  client: DurableClient,
  runId: string,
  options: { waitMs?: number; pollMs?: number; now?: () => number; delay?: (ms: number) => Promise<void> } = {},
): Promise<ClaimOutcome> {
  const { waitMs = CLAIM_ANSWER_WAIT_MS, pollMs = CLAIM_ANSWER_POLL_MS, now = Date.now, delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms)) } = options;
  const until = now() + waitMs;
  for (let pause = pollMs; ; pause = Math.min(pause * 2, Math.max(pollMs, CLAIM_ANSWER_MAX_POLL_MS))) {
    const status = await client.getStatus(runId, { showInput: false }).catch(() => undefined);
    const shown = status?.customStatus as { claim?: ClaimView } | null | undefined;
    if (typeof shown === 'object' && shown !== null && shown.claim !== undefined) return { decided: true, view: shown.claim };
    const left = until - now();
    if (left <= 0) return { decided: false };
    await delay(Math.min(pause, left));
  }
}

/** The notifyClaimant activity: a hint to a waiting run that the model may be free. */
export async function notifyClaimant(client: DurableClient, input: NotifyClaimantInput): Promise<NotifyClaimantResult> {
  if (!(await isRunning(client, input.runId))) return { delivered: false };
  try {
    await client.raiseEvent(input.runId, MODEL_FREED_EVENT, { at: new Date().toISOString() });
    return { delivered: true };
  } catch (error) {
    // 404: gone between the two calls.
    if (error instanceof Error && error.message.includes('found')) return { delivered: false };
    throw error;
  }
}

export interface FreeOutcome {
  /** The run that held the model, when one did. */
  freedFrom?: string;
  /** The first waiting run, told that the model is free. */
  next?: string;
}

/**
 * The operator's free: frees the model from its current holder (a named free, so a holder that
 * released meanwhile is not confused with a later one) and tells the first waiting run.
 */
export async function freeModel(client: DurableClient, key: string, now: Date): Promise<FreeOutcome> {
  const state = await readClaim(client, key);
  const holder = state?.holder?.runId;
  if (holder === undefined) return {};
  const next = await freeAndTellNext(client, key, state, holder, now, 'freed by an operator');
  return { freedFrom: holder, ...(next === undefined ? {} : { next }) };
}
