import type { BackendEmulator, BackendKind, BackendOperation } from '../../local/emulators/backends';
import type { RunView } from '../../src/api/runView';
import type { ErrorCode } from '../../src/errors';
import type { ApiAnswer, AppStack } from '../support/appStack';

/** The emulated server every fault scenario targets (on Power BI: the workspace of that name, startEmulators' mirror). */
export const SERVER = 'myserver';

/** The backends a parametrised suite runs on (`describe.each(BACKENDS)`). */
export const BACKENDS: readonly BackendKind[] = ['aas', 'powerbi'];

/** The emulated service of that backend, by model name (local/emulators/backends.ts). */
export function serviceOf(stack: AppStack, backend: BackendKind = 'aas'): BackendEmulator {
  return stack.emulators.backend(backend);
}

/**
 * The request fields that name a model of SERVER for a run: AAS `{ server, model }`; Power BI the
 * workspace's and semantic model's ids. By ids, POST asks Power BI nothing (names are resolved at
 * POST, with the app's cached token): the emulators expire tokens by the virtual clock while the
 * app's token cache reads the real one, so after a virtual hour a POST by name would meet a 401
 * that only this harness produces. Name resolution has its own tests (test/backends/powerbi).
 */
export function runTarget(stack: AppStack, model: string, backend: BackendKind = 'aas'): Record<string, string> {
  if (backend === 'aas') return serviceOf(stack, 'aas').target(model, SERVER);
  const workspace = stack.emulators.powerbi.describe().find((candidate) => candidate.name === SERVER);
  const dataset = workspace?.datasets.find((candidate) => candidate.name === model);
  if (workspace === undefined || dataset === undefined) throw new Error(`Power BI emulator: no semantic model "${model}" in workspace "${SERVER}"`);
  return { workspace: workspace.id, semanticModel: dataset.id };
}

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
  /** The service the run refreshed (default AAS): where the invariants are checked. */
  backend?: BackendKind;
}

/**
 * Reads the run and checks what every fault scenario must hold:
 * - the documented final state: run status, error code and the HTTP status of GET /api/refreshes/{id};
 * - zero duplicate refresh submissions: at most one refresh of ours in the service and at most
 *   one submitRefresh request answered 202 (both services answer an accepted refresh 202);
 * - zero refreshes of ours left running in the service once the run has ended;
 * - the error text the service gave visible in the run's error message.
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
    expect(processedSubmits(stack, model, expected.backend)).toBe(0);
    return answer;
  }
  expectNoDuplicateSubmission(stack, model, expected.submitted, expected.backend);
  expectNothingLeftRunning(stack, model, expected.outsideRefreshMayRun ?? false, expected.backend);
  return answer;
}

/** Refreshes of the model this app submitted (not the ones a scenario started from outside). */
export function ownRefreshes(stack: AppStack, model: string, backend: BackendKind = 'aas') {
  return serviceOf(stack, backend).refreshes(SERVER, model).filter((refresh) => !refresh.outside);
}

/** submitRefresh requests the service answered 202 (one processed and then dropped shows up in `ownRefreshes`). */
export function processedSubmits(stack: AppStack, model: string, backend: BackendKind = 'aas'): number {
  return serviceOf(stack, backend).requests.filter((entry) => entry.operation === 'submitRefresh' && entry.model === model && entry.status === 202).length;
}

export function expectNoDuplicateSubmission(stack: AppStack, model: string, submitted?: 0 | 1, backend: BackendKind = 'aas'): void {
  const own = ownRefreshes(stack, model, backend).length;
  if (submitted === undefined) expect(own).toBeLessThanOrEqual(1);
  else expect(own).toBe(submitted);
  expect(processedSubmits(stack, model, backend)).toBeLessThanOrEqual(1);
}

export function expectNothingLeftRunning(stack: AppStack, model: string, outsideMayRun: boolean, backend: BackendKind = 'aas'): void {
  const active = serviceOf(stack, backend).activeRefresh(SERVER, model);
  if (active === undefined) return;
  expect({ outsideRefreshStillRunning: active.outside, allowed: outsideMayRun }).toEqual({ outsideRefreshStillRunning: true, allowed: true });
}

/** Emulator request log entries of one operation on one model, in order. */
export function requestsOf(stack: AppStack, operation: string, model: string) {
  return stack.emulators.aas.requests.filter((entry) => entry.operation === operation && entry.model === model);
}

/** The same on either service's log (Power BI's name look-ups, listGroups/listDatasets, are operation 'unknown' there). */
export function serviceRequestsOf(stack: AppStack, operation: BackendOperation, model: string, backend: BackendKind) {
  return serviceOf(stack, backend).requests.filter((entry) => entry.operation === operation && entry.model === model);
}
