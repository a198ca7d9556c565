import { parseArgs, type ParseArgsConfig } from 'node:util';
import { badInput } from './errors';

/** Where the commands go: a deployed app (URL + function key), or AAS / Power BI itself. */
export type Connection = { mode: 'app'; apiBase: string; key: string } | { mode: 'direct' };

export interface Watch {
  wait: boolean;
  /** Fixed milliseconds between status reads; otherwise the app's Retry-After. */
  pollIntervalMs?: number;
}

export type Command =
  | { name: 'help'; topic?: string }
  | { name: 'version' }
  | { name: 'refresh'; connection: Connection; json: boolean; watch: Watch; body: Record<string, unknown> }
  | { name: 'status'; connection: Connection; json: boolean; watch: Watch; runId: string; target: Record<string, string> }
  | { name: 'cancel'; connection: Connection; json: boolean; watch: Watch; runId: string; target: Record<string, string> }
  | { name: 'list'; connection: Connection; json: boolean; query: Record<string, string> }
  | { name: 'history'; connection: Connection; json: boolean; query: Record<string, string> };

export const COMMANDS = ['refresh', 'status', 'cancel', 'list', 'history'] as const;

/** Environment variables read when the flag is not given. */
export const ENV = { url: 'AAS_REFRESH_URL', key: 'AAS_REFRESH_KEY' } as const;

const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  direct: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const WATCH_OPTIONS = {
  wait: { type: 'boolean', short: 'w' },
  'poll-interval': { type: 'string' },
} as const;

const TARGET_OPTIONS = {
  server: { type: 'string' },
  model: { type: 'string' },
  workspace: { type: 'string' },
  'semantic-model': { type: 'string' },
} as const;

const REFRESH_OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...WATCH_OPTIONS,
  ...TARGET_OPTIONS,
  type: { type: 'string' },
  'commit-mode': { type: 'string' },
  'max-parallelism': { type: 'string' },
  'retry-count': { type: 'string' },
  objects: { type: 'string', multiple: true },
  sync: { type: 'boolean' },
  'no-sync': { type: 'boolean' },
  // Power BI only (the app refuses them for an AAS model, naming them).
  'apply-refresh-policy': { type: 'boolean' },
  'no-apply-refresh-policy': { type: 'boolean' },
  'effective-date': { type: 'string' },
  timeout: { type: 'string' },
  'on-conflict': { type: 'string' },
  'callback-url': { type: 'string' },
} as const;

const RUN_OPTIONS = { ...CONNECTION_OPTIONS, ...WATCH_OPTIONS, ...TARGET_OPTIONS } as const;
const LIST_OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...TARGET_OPTIONS,
  status: { type: 'string' },
  limit: { type: 'string' },
  'created-from': { type: 'string' },
  'created-to': { type: 'string' },
  'continuation-token': { type: 'string' },
} as const;
const HISTORY_OPTIONS = { ...CONNECTION_OPTIONS, server: { type: 'string' }, workspace: { type: 'string' } } as const;

type Options = NonNullable<ParseArgsConfig['options']>;

function parse<T extends Options>(args: string[], options: T, command: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs names the option ("Unknown option '--foo'", "Option '--server <value>' argument missing").
    // Some of its messages start with the error's own name and code ("TypeError [ERR_…]: ").
    const text = error instanceof Error ? error.message : String(error);
    const message = (text.split('. To specify a positional')[0] ?? text).replace(/^\w*Error \[ERR_[A-Z_]+\]: /, '');
    throw badInput(`${command}: ${message} (see aas-refresh ${command} --help)`);
  }
}

/** Reads the command line into a command; throws CliError (exit 4) naming what is wrong. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv): Command {
  const [first, ...rest] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') return { name: 'help', topic: first === 'help' ? rest[0] : undefined };
  if (first === '--version' || first === 'version') return { name: 'version' };
  switch (first) {
    case 'refresh': {
      const { values, positionals } = parse(rest, REFRESH_OPTIONS, first);
      if (values.help === true) return { name: 'help', topic: first };
      // "--apply-refresh-policy false" reads as a switch and a stray word: say how switches go.
      if (positionals[0] === 'true' || positionals[0] === 'false') {
        throw badInput(`refresh: unexpected argument "${positionals[0]}": switches take no value (--apply-refresh-policy or --no-apply-refresh-policy, --sync or --no-sync)`);
      }
      noPositionals(first, positionals);
      if (values.sync === true && values['no-sync'] === true) throw badInput('refresh: give --sync or --no-sync, not both');
      if (values['apply-refresh-policy'] === true && values['no-apply-refresh-policy'] === true) throw badInput('refresh: give --apply-refresh-policy or --no-apply-refresh-policy, not both');
      const body: Record<string, unknown> = { ...target(values, first, true) };
      const copy = (flag: keyof typeof values, field: string) => {
        const value = values[flag];
        if (typeof value === 'string') body[field] = value;
      };
      copy('type', 'type');
      copy('commit-mode', 'commitMode');
      if (values['max-parallelism'] !== undefined) body.maxParallelism = wholeNumber(values['max-parallelism'], '--max-parallelism');
      if (values['retry-count'] !== undefined) body.retryCount = wholeNumber(values['retry-count'], '--retry-count');
      if (values.objects !== undefined) body.objects = values.objects.flatMap((list) => parseObjects(list));
      if (values.sync === true) body.sync = true;
      if (values['no-sync'] === true) body.sync = false;
      if (values['apply-refresh-policy'] === true) body.applyRefreshPolicy = true;
      if (values['no-apply-refresh-policy'] === true) body.applyRefreshPolicy = false;
      // Passed as given: the app checks the date (yyyy-mm-dd, a calendar day) and the target.
      copy('effective-date', 'effectiveDate');
      copy('timeout', 'timeout');
      copy('on-conflict', 'onConflict');
      copy('callback-url', 'callbackUrl');
      // With --direct this process is the only one that can submit after the other refresh: it has to stay.
      if (values.direct === true && body.onConflict === 'wait' && values.wait !== true) throw badInput('refresh: --direct --on-conflict wait needs --wait (without the app, the CLI itself waits for the model and then submits)');
      return { name: 'refresh', connection: connection(values, env, first), json: values.json === true, watch: watch(values), body };
    }
    case 'status':
    case 'cancel': {
      const { values, positionals } = parse(rest, RUN_OPTIONS, first);
      if (values.help === true) return { name: 'help', topic: first };
      const runId = positionals[0];
      if (runId === undefined || positionals.length > 1) throw badInput(`${first}: give one run id, as in: aas-refresh ${first} <runId>`);
      // The app decides what its ids look like (they have changed: UUIDs, then UUIDs with a prefix); the
      // CLI refuses only what cannot be one, so that a typo is not sent as a path.
      if (!/^[0-9A-Za-z-]{1,128}$/.test(runId)) {
        throw badInput(`${first}: "${clip(runId)}" is not a run id (letters, digits and dashes, as aas-refresh refresh and list show them)`);
      }
      // With --direct the id is the service's refresh id, and the target says where it runs.
      const runTarget = target(values, first, values.direct === true) as Record<string, string>;
      if (values.direct !== true && Object.keys(runTarget).length > 0) throw badInput(`${first}: --server, --model, --workspace and --semantic-model go with --direct; the app knows its run's model`);
      return { name: first, connection: connection(values, env, first), json: values.json === true, watch: watch(values), runId, target: runTarget };
    }
    case 'list': {
      const { values, positionals } = parse(rest, LIST_OPTIONS, first);
      if (values.help === true) return { name: 'help', topic: first };
      noPositionals(first, positionals);
      const query: Record<string, string> = { ...(target(values, first, false) as Record<string, string>) };
      if (values.status !== undefined) query.status = values.status;
      if (values.limit !== undefined) query.limit = String(wholeNumber(values.limit, '--limit'));
      // Passed as given: the app checks the times and the token (its own) and names what is wrong.
      if (values['created-from'] !== undefined) query.createdFrom = values['created-from'];
      if (values['created-to'] !== undefined) query.createdTo = values['created-to'];
      if (values['continuation-token'] !== undefined) query.continuationToken = values['continuation-token'];
      return { name: 'list', connection: connection(values, env, first), json: values.json === true, query };
    }
    case 'history': {
      const { values, positionals } = parse(rest, HISTORY_OPTIONS, first);
      if (values.help === true) return { name: 'help', topic: first };
      const model = positionals[0];
      if (model === undefined || positionals.length > 1) throw badInput('history: give one model, as in: aas-refresh history <model> --server asazure://<region>.asazure.windows.net/<server>');
      if (values.server !== undefined && values.workspace !== undefined) throw badInput('history: give --server (AAS) or --workspace (Power BI), not both');
      if (values.server === undefined && values.workspace === undefined) throw badInput('history: --server is required (or --workspace for a Power BI semantic model)');
      const query: Record<string, string> = values.workspace !== undefined ? { workspace: values.workspace, semanticModel: model } : { server: values.server as string, model };
      return { name: 'history', connection: connection(values, env, first), json: values.json === true, query };
    }
    default:
      throw badInput(`"${clip(first)}" is not a command; the commands are ${COMMANDS.join(', ')} (aas-refresh --help)`);
  }
}

function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length > 0) throw badInput(`${command}: unexpected argument "${clip(positionals[0] ?? '')}" (options start with --; see aas-refresh ${command} --help)`);
}

/** server + model (AAS) or workspace + semanticModel (Power BI); in a refresh, one pair is required. */
function target(values: { server?: string; model?: string; workspace?: string; 'semantic-model'?: string }, command: string, required: boolean): Record<string, unknown> {
  const aas = values.server !== undefined || values.model !== undefined;
  const powerBi = values.workspace !== undefined || values['semantic-model'] !== undefined;
  if (aas && powerBi) throw badInput(`${command}: give --server and --model (Azure Analysis Services) or --workspace and --semantic-model (Power BI), not both`);
  if (powerBi) {
    if (required && values.workspace === undefined) throw badInput(`${command}: --workspace is required with --semantic-model`);
    if (required && values['semantic-model'] === undefined) throw badInput(`${command}: --semantic-model is required with --workspace`);
    return { ...(values.workspace === undefined ? {} : { workspace: values.workspace }), ...(values['semantic-model'] === undefined ? {} : { semanticModel: values['semantic-model'] }) };
  }
  if (required && values.server === undefined) throw badInput(`${command}: --server is required (asazure://<region>.asazure.windows.net/<server>), or --workspace and --semantic-model for Power BI`);
  if (required && values.model === undefined) throw badInput(`${command}: --model is required`);
  return { ...(values.server === undefined ? {} : { server: values.server }), ...(values.model === undefined ? {} : { model: values.model }) };
}

function wholeNumber(text: string, flag: string): number {
  if (!/^[0-9]{1,6}$/.test(text)) throw badInput(`${flag} must be a whole number (got "${clip(text)}")`);
  return Number(text);
}

/**
 * `--objects` as a JSON array, exactly as in the API (`[{"table": "T", "partition": "P"}]`), or
 * a comma-separated list of `Table` and `Table/Partition`; names with a comma or a slash need
 * the JSON form. The app validates the names themselves.
 */
export function parseObjects(text: string): { table: string; partition?: string }[] {
  if (text.trim().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw badInput('--objects is not valid JSON (expected [{"table": "...", "partition": "..."}])');
    }
    if (!Array.isArray(parsed)) throw badInput('--objects must be a JSON array');
    return parsed as { table: string; partition?: string }[];
  }
  return text.split(',').map((entry, index) => {
    const trimmed = entry.trim();
    if (trimmed === '') throw badInput(`--objects: entry ${index + 1} of "${clip(text)}" is empty`);
    const slash = trimmed.indexOf('/');
    if (slash === -1) return { table: trimmed };
    const table = trimmed.slice(0, slash).trim();
    const partition = trimmed.slice(slash + 1).trim();
    if (table === '' || partition === '') throw badInput(`--objects: "${clip(trimmed)}" must be Table or Table/Partition`);
    return { table, partition };
  });
}

function watch(values: { wait?: boolean; 'poll-interval'?: string }): Watch {
  const interval = values['poll-interval'];
  if (interval === undefined) return { wait: values.wait === true };
  // Decimal seconds: a pipeline may want quieter logs (60), a developer on the emulators faster ones.
  if (!/^[0-9]{1,4}(\.[0-9]{1,3})?$/.test(interval) || Number(interval) < 0.1 || Number(interval) > 3600) {
    throw badInput(`--poll-interval must be a number of seconds from 0.1 to 3600 (got "${clip(interval)}")`);
  }
  return { wait: values.wait === true, pollIntervalMs: Math.round(Number(interval) * 1000) };
}

function connection(values: { url?: string; key?: string; direct?: boolean }, env: NodeJS.ProcessEnv, command: string): Connection {
  if (values.direct === true) {
    if (values.url !== undefined || values.key !== undefined) throw badInput(`${command}: --direct talks to the service itself; leave out --url and --key`);
    return { mode: 'direct' };
  }
  const rawUrl = values.url ?? nonEmpty(env[ENV.url]);
  if (rawUrl === undefined) throw badInput(`${command}: no app URL: pass --url https://<app>.azurewebsites.net or set ${ENV.url} (or use --direct)`);
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw badInput(`the app URL "${clip(rawUrl)}" is not a URL (expected https://<app>.azurewebsites.net)`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw badInput(`the app URL must use https:// (the function key would travel in clear text); http:// is accepted for 127.0.0.1 and localhost only`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw badInput('the app URL must not carry a user, a query (such as ?code=) or a fragment: give the key with --key or ' + ENV.key);
  }
  const key = values.key ?? nonEmpty(env[ENV.key]);
  if (key === undefined) throw badInput(`${command}: no function key: set ${ENV.key} (or pass --key)`);
  // https://app.azurewebsites.net, .../ and .../api all mean the same API.
  const path = url.pathname.replace(/\/+$/, '');
  const apiBase = `${url.origin}${path.endsWith('/api') ? path : `${path}/api`}`;
  return { mode: 'app', apiBase, key };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
