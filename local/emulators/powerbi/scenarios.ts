/**
 * Named ways to make a Power BI semantic model misbehave (as the AAS emulator's scenarios do):
 * at start with POWERBI_EMULATOR_SCENARIO, or `POST <url>/_emulator/scenarios/<name>`.
 */
import { parseOptionsObject, parseScenarioList, type NumericScenarioOptions } from '../engine/scenarioOptions';

export const POWERBI_SCENARIO_NAMES = ['fail-table', 'slow-refresh', 'throttle', 'fail-sync', 'manual-sync', 'busy', 'no-role', 'no-location', 'sp-not-allowed'] as const;
export type PowerBiScenarioName = (typeof POWERBI_SCENARIO_NAMES)[number];

export interface PowerBiScenarioOptions extends NumericScenarioOptions {
  /** Workspace id or name; default the first (Sales Analytics). */
  workspace?: string;
  /** Semantic model id or name in it; default its first (AdventureWorks). */
  dataset?: string;
  table?: string;
}

export const POWERBI_SCENARIO_SUMMARIES: Record<PowerBiScenarioName, string> = {
  'fail-table': 'one table fails on every attempt: the refresh ends Failed with an engine message; options table',
  'slow-refresh': 'every partition takes an hour: a short timeout ends TimedOut, or cancel it; options durationSeconds',
  throttle: 'the next Power BI calls for the model answer 429 with Retry-After; options times, retryAfterSeconds',
  'fail-sync': 'read-only replicas never catch up: syncStatus keeps minActiveReadVersion below commitVersion',
  'manual-sync': 'autoSyncReadOnlyReplicas off: replicas lag after each refresh until POST queryScaleOut/sync',
  busy: 'a scheduled refresh of the whole model runs: POST answers 400 (another refresh is executing); options durationSeconds',
  'no-role': "the app's service principal loses its workspace role: every call for the workspace answers 403",
  'sp-not-allowed': 'the tenant no longer lets service principals use the Power BI APIs (or the app carries admin-consented Power BI permissions): every call answers 401',
  'no-location': 'the next refresh POSTs answer 202 without Location and x-ms-request-id (find the refresh in the history); options times',
};

export function parsePowerBiScenarioOptions(value: unknown): PowerBiScenarioOptions {
  return parseOptionsObject(value, ['workspace', 'dataset', 'table'] as const);
}

/** `fail-table,throttle` (POWERBI_EMULATOR_SCENARIO): the names, each checked. */
export function parsePowerBiScenarioSetting(text: string | undefined): PowerBiScenarioName[] {
  return parseScenarioList(text, POWERBI_SCENARIO_NAMES, 'POWERBI_EMULATOR_SCENARIO');
}
