/**
 * Named ways to make a Power BI semantic model misbehave (as the AAS emulator's scenarios do):
 * at start with POWERBI_EMULATOR_SCENARIO, or `POST <url>/_emulator/scenarios/<name>`.
 */
export const POWERBI_SCENARIO_NAMES = ['fail-table', 'slow-refresh', 'throttle', 'fail-sync', 'manual-sync', 'busy', 'no-role', 'no-location', 'sp-not-allowed'] as const;
export type PowerBiScenarioName = (typeof POWERBI_SCENARIO_NAMES)[number];

export interface PowerBiScenarioOptions {
  /** Workspace id or name; default the first (Sales Analytics). */
  workspace?: string;
  /** Semantic model id or name in it; default its first (AdventureWorks). */
  dataset?: string;
  table?: string;
  durationSeconds?: number;
  times?: number;
  retryAfterSeconds?: number;
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
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the options must be a JSON object');
  const known = new Set(['workspace', 'dataset', 'table', 'durationSeconds', 'times', 'retryAfterSeconds']);
  const options: PowerBiScenarioOptions = {};
  for (const [key, entry] of Object.entries(value)) {
    if (!known.has(key)) throw new Error(`unknown option "${key.slice(0, 64)}" (known: ${[...known].join(', ')})`);
    if (key === 'workspace' || key === 'dataset' || key === 'table') {
      if (typeof entry !== 'string' || entry === '') throw new Error(`${key} must be a non-empty string`);
      options[key] = entry;
    } else {
      if (typeof entry !== 'number' || !Number.isInteger(entry) || entry < 1 || entry > 7 * 24 * 3600) throw new Error(`${key} must be a whole number from 1 to 604800`);
      options[key as 'durationSeconds' | 'times' | 'retryAfterSeconds'] = entry;
    }
  }
  return options;
}

/** `fail-table,throttle` (POWERBI_EMULATOR_SCENARIO): the names, each checked. */
export function parsePowerBiScenarioSetting(text: string | undefined): PowerBiScenarioName[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((raw) => {
    const name = raw.trim();
    if (!(POWERBI_SCENARIO_NAMES as readonly string[]).includes(name)) throw new Error(`POWERBI_EMULATOR_SCENARIO: "${name.slice(0, 64)}" is not a scenario (${POWERBI_SCENARIO_NAMES.join(', ')})`);
    return name as PowerBiScenarioName;
  });
}
