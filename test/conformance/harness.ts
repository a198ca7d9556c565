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

/** Names the local host's numeric EventType values the way the extension's status API spells them. */
const EVENT_NAMES: Record<number, string> = {
  0: 'ExecutionStarted', 1: 'ExecutionCompleted', 2: 'ExecutionTerminated', 3: 'TaskScheduled_3', 4: 'TaskScheduled', 5: 'TaskCompleted', 6: 'TaskFailed',
  7: 'SubOrchestrationInstanceCreated', 8: 'SubOrchestrationInstanceCompleted', 9: 'SubOrchestrationInstanceFailed', 10: 'TimerCreated', 11: 'TimerFired',
  12: 'OrchestratorStarted', 13: 'OrchestratorCompleted', 14: 'EventSent', 15: 'EventRaised', 16: 'ContinueAsNew', 17: 'GenericEvent', 18: 'HistoryState',
  19: 'ExecutionSuspended', 20: 'ExecutionResumed',
};

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
  /** Event types as the extension's status API lists them (see toApiView). */
  historyTypes: string[];
  /** How the engine's status API writes history (compared: apps and tools read it). */
  historyFormat: Record<string, boolean>;
  timerDelaysMs: number[];
  raw: Record<string, unknown>;
}

/**
 * The extension's status API (DurableClient.GetOrchestrationStatusAsync with showHistory) leaves
 * out OrchestratorStarted/OrchestratorCompleted and folds each TaskScheduled and
 * SubOrchestrationInstanceCreated into its completion; comparing engines on that view keeps a
 * format difference (reported once, as historyFormat) from hiding behaviour differences.
 */
function toApiView(types: string[]): string[] {
  const dropped = new Set(['OrchestratorStarted', 'OrchestratorCompleted', 'TaskScheduled', 'SubOrchestrationInstanceCreated']);
  return types.filter((t) => !dropped.has(t));
}

async function readStatus(url: string): Promise<DurableStatus> {
  const response = await fetch(url);
  if (response.status === 404) return { runtimeStatus: 'NotFound', historyTypes: [], historyFormat: {}, timerDelaysMs: [], raw: {} };
  const raw = (await response.json()) as Record<string, unknown>;
  const events = Array.isArray(raw.historyEvents) ? (raw.historyEvents as Record<string, unknown>[]) : [];
  const historyTypes = events.map((e) => (typeof e.EventType === 'number' ? (EVENT_NAMES[e.EventType] ?? `EventType${e.EventType}`) : String(e.EventType)));
  const timerDelaysMs = events
    .filter((e, i) => historyTypes[i] === 'TimerCreated' && typeof e.FireAt === 'string' && typeof e.Timestamp === 'string')
    .map((e) => Date.parse(e.Timestamp as string) - Date.parse(e.FireAt as string));
  const historyFormat = {
    eventTypeIsName: events.every((e) => typeof e.EventType === 'string'),
    listsOrchestratorStarted: historyTypes.includes('OrchestratorStarted'),
    listsTaskScheduled: historyTypes.includes('TaskScheduled'),
    taskCompletedNamesFunction: events.some((e, i) => historyTypes[i] === 'TaskCompleted' && typeof e.FunctionName === 'string'),
    listsEventIds: events.some((e) => 'EventId' in e),
  };
  return { runtimeStatus: String(raw.runtimeStatus), historyTypes: toApiView(historyTypes), historyFormat, timerDelaysMs, raw };
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
 * A timing-independent shape of a history: its first and last event and the set of transitions
 * between consecutive events ("TimerFired>TaskCompleted"). A poll cycle repeated 3 or 30 times
 * has the same shape; a missing, extra or reordered event changes it.
 */
export function historyShape(types: string[]): { first: string; last: string; transitions: string[] } {
  const transitions = new Set<string>();
  for (let i = 1; i < types.length; i++) transitions.add(`${types[i - 1]}>${types[i]}`);
  return { first: types[0] ?? '', last: types.at(-1) ?? '', transitions: [...transitions].sort() };
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
  const onlyLocal = a.transitions.filter((t) => !b.transitions.includes(t));
  const onlyReal = b.transitions.filter((t) => !a.transitions.includes(t));
  if (onlyLocal.length > 0) found.push(`${scenario}: history transitions only on local: ${onlyLocal.join(', ')}`);
  if (onlyReal.length > 0) found.push(`${scenario}: history transitions only on real: ${onlyReal.join(', ')}`);
  return found;
}
