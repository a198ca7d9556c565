/**
 * Named ways to make the sample model misbehave, so that a local user can see each failure the
 * app handles without reading code: chosen at start with AAS_EMULATOR_SCENARIO, or at any time
 * with `POST https://127.0.0.1:8443/_emulator/scenarios/<name>` (README, "Trying failures locally").
 */
import { parseOptionsObject, parseScenarioList, type NumericScenarioOptions } from '../engine/scenarioOptions';

export const SCENARIO_NAMES = ['fail-table', 'slow-refresh', 'throttle', 'fail-sync', 'busy', 'not-admin'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface ScenarioOptions extends NumericScenarioOptions {
  /** Default: the first server (`myserver`). */
  server?: string;
  /** Default: the server's first model (`AdventureWorks`). */
  model?: string;
  /** fail-table: the table that fails (default: DimDate, or the model's first table when it has none by that name). */
  table?: string;
  /** slow-refresh: seconds per partition (default 3600); busy: how long the other refresh runs (default 600). */
  durationSeconds?: number;
  /** throttle: how many AAS calls answer 429 (default 3). */
  times?: number;
  /** throttle: the Retry-After of each 429 (default 20). */
  retryAfterSeconds?: number;
}

export const SCENARIO_SUMMARIES: Record<ScenarioName, string> = {
  'fail-table': 'one table fails on every attempt: the run ends failed (REFRESH_FAILED) with the AAS message; options table',
  'slow-refresh': 'every partition takes an hour: a request with "timeout": "PT2M" ends timedOut and the refresh is cancelled; options durationSeconds',
  throttle: 'the next AAS calls for the model answer 429 with Retry-After: the run waits them out; options times, retryAfterSeconds',
  'fail-sync': 'the replica sync ends with syncstate 3: the run ends failed (SYNC_FAILED), the refresh shown as succeeded',
  busy: 'someone else refreshes the whole model: MODEL_BUSY, or the run waits with "onConflict": "wait"; options durationSeconds',
  'not-admin': "the app's service principal is not an administrator of the server: the run ends failed (AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN)",
};

/** Checks a control-route or setting value; throws a message naming what is wrong. */
export function parseScenarioOptions(value: unknown): ScenarioOptions {
  return parseOptionsObject(value, ['server', 'model', 'table'] as const);
}

/** `fail-table,throttle` (AAS_EMULATOR_SCENARIO): the names, each checked. */
export function parseScenarioSetting(text: string | undefined): ScenarioName[] {
  return parseScenarioList(text, SCENARIO_NAMES, 'AAS_EMULATOR_SCENARIO');
}
