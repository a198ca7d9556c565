/**
 * Runs the same scenario on the local durable host and on the real Durable extension (over
 * Azurite), both in real time against one set of emulators, and describes each run the same way:
 * the outcome a user sees through the app's API, and the history event types the durable status
 * API reports. See local/real-engine/README.md.
 */
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startLocalHost, type LocalHost } from '../../local/durable-host';
import { startEmulators, type Emulators } from '../../local/emulators';
import { SAMPLE_MODEL } from '../../local/emulators/aas';
import { startRealEngineApp, type RealEngineApp } from '../../local/real-engine/stack';
import { loadLocalTls } from '../../local/tls';
import type { RunView } from '../../src/api/runView';
import { testModels } from '../support/appStack';

export type EngineKind = 'local' | 'real';

export interface Engine {
  kind: EngineKind;
  api(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** The durable status API (`GET instances/{id}?showHistory=true`) of this engine. */
  durableStatus(id: string): Promise<DurableStatus>;
  /** A request to this engine's Durable HTTP API on its keyless RPC listener (`rpcBaseUrl` + path). */
  rpc(pathAndQuery: string, init?: RequestInit): Promise<Response>;
  /** Real: SIGKILL of the .NET host, then a new one on the same storage. Local: host stopped, a new one on the same SQLite state. */
  crashAndRestart(): Promise<void>;
  stop(): Promise<void>;
}

export interface Shared {
  emulators: Emulators;
  callbackUrl: string;
  callbacks: { path: string; body: unknown }[];
  logs: string[];
  stop(): Promise<void>;
}

const FUNCTION_KEY = 'conformance-key';
/** Holds a second copy of the sample model, so both engines refresh "the sample model" at once. */
export const SAMPLE_COPY_SERVER = 'myserver2';
const ENTRY = path.join(__dirname, '..', '..', 'src', 'index.ts');
const HOST_JSON = path.join(__dirname, '..', '..', 'host.json');

/** Emulators in real time, settings for the app (it reads them once, when it loads), a callback receiver. */
export async function startShared(): Promise<Shared> {
  const tls = loadLocalTls();
  const callbacks: { path: string; body: unknown }[] = [];
  const receiver = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      callbacks.push({ path: req.url ?? '', body: text === '' ? undefined : (JSON.parse(text) as unknown) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const callbackPort = (receiver.address() as AddressInfo).port;
  // Model01..Model12 on myserver, and the sample model twice (myserver, myserver2): one per engine.
  const models = testModels(20);
  const emulators = await startEmulators({ tls, models: { servers: [...models.servers, { name: SAMPLE_COPY_SERVER, models: SAMPLE_MODEL.servers[0]?.models ?? [] }] } });
  Object.assign(process.env, {
    ...emulators.appSettings(),
    CALLBACK_ALLOWED_HOSTS: `127.0.0.1:${callbackPort}`,
    AAS_REQUEST_TIMEOUT_SECONDS: '5',
    // A status call every 2 s: 20 polls reach continueAsNew within a minute. Not 1 s: the Azure
    // Storage provider delays a timer message by whole seconds, so a 1 s timer fires at once on
    // the real engine (see local/real-engine/README.md).
    POLL_MIN_INTERVAL_SECONDS: '2',
    POLL_MAX_INTERVAL_SECONDS: '2',
  });
  const logs: string[] = [];
  return {
    emulators,
    callbackUrl: `https://127.0.0.1:${callbackPort}/callback`,
    callbacks,
    logs,
    async stop() {
      await emulators.close();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    },
  };
}

async function callApi(baseUrl: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${baseUrl}/api/${route}`, {
    method,
    headers: { 'x-functions-key': FUNCTION_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

export interface DurableStatus {
  runtimeStatus: string;
  /** Event types in the order the status API lists them. */
  historyTypes: string[];
  /** How the engine's status API writes history (compared: apps and tools read it). */
  historyFormat: HistoryFormat;
  timerDelaysMs: number[];
  raw: Record<string, unknown>;
}

export interface HistoryFormat {
  eventTypeIsName: boolean;
  listsOrchestratorStarted: boolean;
  listsTaskScheduled: boolean;
  taskCompletedNamesFunction: boolean;
  listsEventIds: boolean;
  /** Json.NET times: Timestamp and FireAt UTC (`Z`), ScheduledTime local (`+00:00`), no trailing fraction zeros. */
  dotnetTimes: boolean;
  /** For each event type, the field lists (in order) its events have, so a renamed, added or moved field shows. */
  fieldsByType: Record<string, string[]>;
}

const DOTNET_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?(Z|\+00:00)$/;

/** How a status API answer writes its history (DurableClient.cs GetDurableOrchestrationStatusAsync is the reference). */
export function historyFormat(events: Record<string, unknown>[]): HistoryFormat {
  const types = events.map((e) => String(e.EventType));
  const fieldsByType: Record<string, string[]> = {};
  for (const [i, e] of events.entries()) {
    const fields = Object.keys(e).join(',');
    const lists = (fieldsByType[types[i] as string] ??= []);
    if (!lists.includes(fields)) lists.push(fields);
  }
  const sorted = Object.fromEntries(Object.entries(fieldsByType).sort(([a], [b]) => a.localeCompare(b)).map(([type, lists]) => [type, lists.sort()]));
  const timeIs = (value: unknown, zone: 'Z' | '+00:00'): boolean => value === undefined || (typeof value === 'string' && DOTNET_TIME.test(value) && value.endsWith(zone));
  return {
    eventTypeIsName: events.every((e) => typeof e.EventType === 'string'),
    listsOrchestratorStarted: types.includes('OrchestratorStarted'),
    listsTaskScheduled: types.includes('TaskScheduled'),
    taskCompletedNamesFunction: events.some((e, i) => types[i] === 'TaskCompleted' && typeof e.FunctionName === 'string'),
    listsEventIds: events.some((e) => 'EventId' in e),
    dotnetTimes: events.every((e) => timeIs(e.Timestamp, 'Z') && timeIs(e.FireAt, 'Z') && timeIs(e.ScheduledTime, '+00:00')),
    fieldsByType: sorted,
  };
}

const NO_FORMAT: HistoryFormat = {
  eventTypeIsName: false,
  listsOrchestratorStarted: false,
  listsTaskScheduled: false,
  taskCompletedNamesFunction: false,
  listsEventIds: false,
  dotnetTimes: false,
  fieldsByType: {},
};

async function readStatus(url: string): Promise<DurableStatus> {
  const response = await fetch(url);
  if (response.status === 404) return { runtimeStatus: 'NotFound', historyTypes: [], historyFormat: NO_FORMAT, timerDelaysMs: [], raw: {} };
  const raw = (await response.json()) as Record<string, unknown>;
  const events = Array.isArray(raw.historyEvents) ? (raw.historyEvents as Record<string, unknown>[]) : [];
  const historyTypes = events.map((e) => String(e.EventType));
  const timerDelaysMs = events
    .filter((e, i) => historyTypes[i] === 'TimerCreated' && typeof e.FireAt === 'string' && typeof e.Timestamp === 'string')
    .map((e) => Date.parse(e.Timestamp as string) - Date.parse(e.FireAt as string));
  return { runtimeStatus: String(raw.runtimeStatus), historyTypes, historyFormat: historyFormat(events), timerDelaysMs, raw };
}

/** `entry`: the app to run (the real app by default; the entity scenarios bring their own). */
export async function startEngine(kind: EngineKind, shared: Pick<Shared, 'logs'>, entry: string = ENTRY): Promise<Engine> {
  const log = (line: string): void => {
    shared.logs.push(`[${kind}] ${line}`);
  };
  if (kind === 'local') {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conformance-local-'));
    const launch = (): Promise<LocalHost> => startLocalHost({ entry, clock: 'real', port: 0, stateDir, functionKeys: { default: FUNCTION_KEY }, log });
    let host = await launch();
    return {
      kind,
      api: (method, route, body) => callApi(host.baseUrl, method, route, body),
      durableStatus: (id) => readStatus(`${host.rpcBaseUrl}instances/${id}?showHistory=true`),
      rpc: (pathAndQuery, init) => fetch(`${host.rpcBaseUrl}${pathAndQuery}`, init),
      async crashAndRestart() {
        await host.stop();
        host = await launch();
      },
      async stop() {
        await host.stop();
        fs.rmSync(stateDir, { recursive: true, force: true });
      },
    };
  }
  const app: RealEngineApp = await startRealEngineApp({ entry, hostJson: HOST_JSON, functionKeys: { default: FUNCTION_KEY }, log });
  return {
    kind,
    api: (method, route, body) => callApi(app.host.baseUrl, method, route, body),
    durableStatus: (id) => readStatus(`${app.rpcBaseUrl}instances/${id}?showHistory=true`),
    rpc: (pathAndQuery, init) => fetch(`${app.rpcBaseUrl}${pathAndQuery}`, init),
    crashAndRestart: () => app.crashAndRestartEngine(),
    stop: () => app.stop(),
  };
}

/** Reads the run until `done` holds (bounded). */
export async function waitForRun(engine: Engine, id: string, done: (view: RunView) => boolean, timeoutMs: number): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const answer = await engine.api('GET', `refreshes/${id}`);
    last = answer.body;
    if (answer.status < 300 && done(answer.body as RunView)) return answer.body as RunView;
    if (answer.status >= 400 && answer.status !== 404 && done(answer.body as RunView)) return answer.body as RunView;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`[${engine.kind}] run ${id} did not reach the expected state in ${timeoutMs} ms; last view: ${JSON.stringify(last)}`);
}

export const ENDED = new Set(['succeeded', 'failed', 'cancelled', 'timedOut']);

/**
 * A timing-independent shape of a history: its first and last event and its event types in the
 * order each first appears. A poll cycle repeated 3 or 30 times has the same shape, and so has a
 * history where a cancel arrived during a poll's activity rather than its timer, or the last
 * execution after a continue-as-new that began one poll before the deadline (seen on a loaded
 * machine: which events neighbour each other depends on scheduling). A missing or new event
 * type, or event types first met in another order, changes it.
 */
export function historyShape(types: string[]): { first: string; last: string; order: string[] } {
  return { first: types[0] ?? '', last: types.at(-1) ?? '', order: [...new Set(types)] };
}

export interface Observation {
  outcome: Record<string, unknown>;
  historyTypes: string[];
  /** AAS status calls the run made and executions (depend on timing: reported, not compared). */
  statusCalls?: number;
  executions?: number;
  /** For each timer created: its FireAt minus the TimerCreated event's timestamp (ms). */
  timerDelaysMs?: number[];
}

/** Each field or history position where the two engines disagree, in words. */
export function differences(scenario: string, local: Observation, real: Observation): string[] {
  const found: string[] = [];
  for (const key of new Set([...Object.keys(local.outcome), ...Object.keys(real.outcome)])) {
    const a = JSON.stringify(local.outcome[key]);
    const b = JSON.stringify(real.outcome[key]);
    if (a !== b) found.push(`${scenario}: ${key}: local ${a}, real ${b}`);
  }
  const a = historyShape(local.historyTypes);
  const b = historyShape(real.historyTypes);
  if (a.first !== b.first) found.push(`${scenario}: history starts with: local ${a.first}, real ${b.first}`);
  if (a.last !== b.last) found.push(`${scenario}: history ends with: local ${a.last}, real ${b.last}`);
  const onlyLocal = a.order.filter((t) => !b.order.includes(t));
  const onlyReal = b.order.filter((t) => !a.order.includes(t));
  if (onlyLocal.length > 0) found.push(`${scenario}: history events only on local: ${onlyLocal.join(', ')}`);
  if (onlyReal.length > 0) found.push(`${scenario}: history events only on real: ${onlyReal.join(', ')}`);
  if (onlyLocal.length === 0 && onlyReal.length === 0 && a.order.join() !== b.order.join()) {
    found.push(`${scenario}: history events first met in another order: local ${a.order.join(' > ')}, real ${b.order.join(' > ')}`);
  }
  return found;
}
