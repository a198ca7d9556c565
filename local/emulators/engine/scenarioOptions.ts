/**
 * What both emulators' scenarios read the same way: the options object of
 * `POST /_emulator/scenarios/<name>` and the comma-separated setting that picks scenarios at start.
 */

/** The numeric options every surface knows (seconds or counts). */
export interface NumericScenarioOptions {
  durationSeconds?: number;
  times?: number;
  retryAfterSeconds?: number;
}

const NUMERIC_OPTIONS = ['durationSeconds', 'times', 'retryAfterSeconds'] as const;
const MAX_OPTION_VALUE = 7 * 24 * 3600;

/**
 * Checks an options value: a JSON object whose keys are the surface's `textOptions` (non-empty
 * strings naming where the scenario applies) or the numeric ones; throws a message naming what is wrong.
 */
export function parseOptionsObject<Text extends string>(value: unknown, textOptions: readonly Text[]): Partial<Record<Text, string>> & NumericScenarioOptions {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the options must be a JSON object');
  const known: readonly string[] = [...textOptions, ...NUMERIC_OPTIONS];
  const options: Partial<Record<string, string | number>> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (!known.includes(key)) throw new Error(`unknown option "${key.slice(0, 64)}" (known: ${known.join(', ')})`);
    if ((textOptions as readonly string[]).includes(key)) {
      if (typeof entry !== 'string' || entry === '') throw new Error(`${key} must be a non-empty string`);
      options[key] = entry;
    } else {
      if (typeof entry !== 'number' || !Number.isInteger(entry) || entry < 1 || entry > MAX_OPTION_VALUE) throw new Error(`${key} must be a whole number from 1 to ${MAX_OPTION_VALUE}`);
      options[key] = entry;
    }
  }
  return options as Partial<Record<Text, string>> & NumericScenarioOptions;
}

/** `fail-table,throttle` (the setting `settingName`): the names, each checked against `names`. */
export function parseScenarioList<Name extends string>(text: string | undefined, names: readonly Name[], settingName: string): Name[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((raw) => {
    const name = raw.trim();
    if (!(names as readonly string[]).includes(name)) throw new Error(`${settingName}: "${name.slice(0, 64)}" is not a scenario (${names.join(', ')})`);
    return name as Name;
  });
}
