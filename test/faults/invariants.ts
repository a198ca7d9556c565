import type { RunView } from '../../src/api/runView';
import type { ErrorCode } from '../../src/errors';
import type { ApiAnswer, AppStack } from '../support/appStack';

/** The emulated server every fault scenario targets. */
export const SERVER = 'myserver';

export type FinalStatus = 'succeeded' | 'failed' | 'cancelled' | 'timedOut';

/** GET /api/refreshes/{id} status for each final run status (issue 5, src/api/handlers.ts). */
export const FINAL_HTTP: Record<FinalStatus, number> = { succeeded: 200, failed: 500, cancelled: 500, timedOut: 504 };

export interface Expected {
  status: FinalStatus;
  /** Error code of the run; omit for a run that succeeded (which then must have none). */
  code?: ErrorCode;
  /** Text AAS (or the identity chain) gave that the caller must see in the run's error message. */
  errorText?: string | RegExp;
  /** The scenario started a refresh of its own outside the app, which may still be running. */
  outsideRefreshMayRun?: boolean;
  /** How many refreshes the run must have submitted (default: at most 1). */
  submitted?: 0 | 1;
  /** The model does not exist in AAS (404 scenario): only the request log can be checked. */
  unknownModel?: boolean;
}

/**
 * Reads the run and checks what every fault scenario must hold:
 * - the documented final state: run status, error code and the HTTP status of GET /api/refreshes/{id};
 * - zero duplicate refresh submissions: at most one refresh of ours in AAS and at most one
 *   submitRefresh request answered 202;
 * - zero refreshes of ours left running in AAS once the run has ended;
 * - the error text AAS gave visible in the run's error message.
 */
export async function expectFinalState(stack: AppStack, id: string, model: string, expected: Expected): Promise<ApiAnswer<RunView>> {
  const answer = await stack.run(id);
  const run = answer.body;
  expect({ status: run.status, code: run.error?.code, http: answer.status }).toEqual({ status: expected.status, code: expected.code, http: FINAL_HTTP[expected.status] });
  expect(run.endedAt).toBeDefined();
  if (expected.errorText !== undefined) {
    if (typeof expected.errorText === 'string') expect(run.error?.message).toContain(expected.errorText);
    else expect(run.error?.message).toMatch(expected.errorText);
  }
  if (expected.unknownModel === true) {
    expect(processedSubmits(stack, model)).toBe(0);
    return answer;
  }
  expectNoDuplicateSubmission(stack, model, expected.submitted);
  expectNothingLeftRunning(stack, model, expected.outsideRefreshMayRun ?? false);
  return answer;
}

/** Refreshes of the model this app submitted (not the ones a scenario started from outside). */
export function ownRefreshes(stack: AppStack, model: string) {
  return stack.emulators.aas.refreshes(SERVER, model).filter((refresh) => !refresh.outside);
}

/** submitRefresh requests AAS answered 202 (one processed and then dropped shows up in `ownRefreshes`). */
export function processedSubmits(stack: AppStack, model: string): number {
  return stack.emulators.aas.requests.filter((entry) => entry.operation === 'submitRefresh' && entry.model === model && entry.status === 202).length;
}

export function expectNoDuplicateSubmission(stack: AppStack, model: string, submitted?: 0 | 1): void {
  const own = ownRefreshes(stack, model).length;
  if (submitted === undefined) expect(own).toBeLessThanOrEqual(1);
  else expect(own).toBe(submitted);
  expect(processedSubmits(stack, model)).toBeLessThanOrEqual(1);
}

export function expectNothingLeftRunning(stack: AppStack, model: string, outsideMayRun: boolean): void {
  const active = stack.emulators.aas.activeRefresh(SERVER, model);
  if (active === undefined) return;
  expect({ outsideRefreshStillRunning: active.outside, allowed: outsideMayRun }).toEqual({ outsideRefreshStillRunning: true, allowed: true });
}

/** Emulator request log entries of one operation on one model, in order. */
export function requestsOf(stack: AppStack, operation: string, model: string) {
  return stack.emulators.aas.requests.filter((entry) => entry.operation === operation && entry.model === model);
}
