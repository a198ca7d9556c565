import { createHash } from 'node:crypto';

/**
 * The claim of one model: which run holds it and which runs wait for it, in order. Kept as the
 * state of one Durable entity per model (`modelclaim`), so every decision about a model is taken
 * by the engine one operation at a time, whichever instance asked (docs/scale-out.md).
 *
 * Pure functions of the state and the operation's input: the entity handler only reads and
 * writes the state around them, and the tests call them directly.
 */

/** Entity names are case-insensitive in the extension and stored lower case. */
export const MODEL_CLAIM_ENTITY = 'modelclaim';

/** External event that tells a waiting run its model may be free: a hint, the entity decides. */
export const MODEL_FREED_EVENT = 'modelFreed';

/** Waiting runs per model; past it a run is refused rather than the state outgrowing 16 KB. */
export const MAX_QUEUED_RUNS = 100;

export interface Claimant {
  runId: string;
  /** When the claim lapses whatever happens to the run: its deadline. */
  leaseUntil: string;
  /** When the run asked. */
  since: string;
}

export interface ModelClaimState {
  /** The readable model key, for people reading the entity. */
  model: string;
  holder?: Claimant;
  /** Runs waiting for the model, first come first served. */
  queue: Claimant[];
}

export type ClaimMode = 'fail' | 'wait';

export interface ClaimInput {
  runId: string;
  model: string;
  leaseUntil: string;
  mode: ClaimMode;
  now: string;
}

export interface ReleaseInput {
  runId: string;
  now: string;
}

/** Frees the model only if `holder` still holds it: a stale request cannot free a later holder. */
export interface FreeInput {
  holder: string;
  now: string;
  reason: string;
}

export type ClaimAnswer =
  | { state: 'granted'; woken?: string }
  | { state: 'queued'; holder: string; position: number; woken?: string }
  | { state: 'busy'; holder: string; woken?: string }
  | { state: 'queueFull'; holder: string; woken?: string };

export interface ReleaseAnswer {
  released: boolean;
  /** The run that now holds the model and must be told (MODEL_FREED_EVENT). */
  woken?: string;
}

export function emptyClaimState(model: string): ModelClaimState {
  return { model, queue: [] };
}

/** Entity key of a model: hex, so no character of a server name reaches an instance id. */
export function claimKey(modelKey: string): string {
  return createHash('sha256').update(modelKey, 'utf8').digest('hex');
}

/** Prefix of the run ids of a model (`<prefix>-<uuid>`), so a status query can filter by model. */
export function runIdPrefix(modelKey: string): string {
  return claimKey(modelKey).slice(0, 16);
}

function lapsed(claimant: Claimant, now: string): boolean {
  return Date.parse(claimant.leaseUntil) <= Date.parse(now);
}

/**
 * Drops lapsed claimants; a queued run that becomes holder is returned so the caller wakes it
 * (unless it is the caller itself).
 */
function settle(state: ModelClaimState, now: string): { state: ModelClaimState; promoted?: string } {
  const queue = state.queue.filter((claimant) => !lapsed(claimant, now));
  if (state.holder !== undefined && !lapsed(state.holder, now)) return { state: { ...state, queue } };
  const [next, ...rest] = queue;
  return { state: { ...state, holder: next, queue: rest }, promoted: next?.runId };
}

export function claim(current: ModelClaimState, input: ClaimInput): { state: ModelClaimState; answer: ClaimAnswer } {
  const settled = settle(current, input.now);
  const state = settled.state;
  const woken = settled.promoted !== undefined && settled.promoted !== input.runId ? { woken: settled.promoted } : {};
  if (state.holder === undefined) {
    return { state: { ...state, holder: { runId: input.runId, leaseUntil: input.leaseUntil, since: input.now } }, answer: { state: 'granted', ...woken } };
  }
  if (state.holder.runId === input.runId) return { state, answer: { state: 'granted', ...woken } };
  const holder = state.holder.runId;
  const waiting = state.queue.findIndex((claimant) => claimant.runId === input.runId);
  if (waiting >= 0) return { state, answer: { state: 'queued', holder, position: waiting + 1, ...woken } };
  if (input.mode === 'fail') return { state, answer: { state: 'busy', holder, ...woken } };
  if (state.queue.length >= MAX_QUEUED_RUNS) return { state, answer: { state: 'queueFull', holder, ...woken } };
  const queue = [...state.queue, { runId: input.runId, leaseUntil: input.leaseUntil, since: input.now }];
  return { state: { ...state, queue }, answer: { state: 'queued', holder, position: queue.length, ...woken } };
}

export function release(current: ModelClaimState, input: ReleaseInput): { state: ModelClaimState; answer: ReleaseAnswer } {
  if (current.holder?.runId === input.runId) return promoteNext({ ...current, holder: undefined }, input.now, true);
  const queue = current.queue.filter((claimant) => claimant.runId !== input.runId);
  const left = queue.length !== current.queue.length;
  const settled = settle({ ...current, queue }, input.now);
  return { state: settled.state, answer: { released: left, ...(settled.promoted === undefined ? {} : { woken: settled.promoted }) } };
}

export function free(current: ModelClaimState, input: FreeInput): { state: ModelClaimState; answer: ReleaseAnswer } {
  if (current.holder?.runId !== input.holder) {
    const settled = settle(current, input.now);
    return { state: settled.state, answer: { released: false, ...(settled.promoted === undefined ? {} : { woken: settled.promoted }) } };
  }
  return promoteNext({ ...current, holder: undefined }, input.now, true);
}

function promoteNext(state: ModelClaimState, now: string, released: boolean): { state: ModelClaimState; answer: ReleaseAnswer } {
  const settled = settle(state, now);
  return { state: settled.state, answer: { released, ...(settled.promoted === undefined ? {} : { woken: settled.promoted }) } };
}

/** The operations the entity accepts, by name: the entity handler dispatches on it. */
export const ClaimOperations = {
  claim: 'claim',
  release: 'release',
  free: 'free',
} as const;
export type ClaimOperation = (typeof ClaimOperations)[keyof typeof ClaimOperations];
