import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock, type Clock } from '../../clock';
import { loadLocalTls, type LocalTls } from '../../tls';
import type { TokenIssuer } from '../jwt';
import {
  activeRecord as activeRecordAt,
  bodyFields,
  buildServers,
  cancelRecord,
  DEFAULT_SYNC_DURATION_MS,
  failTableForever,
  parseCommonFields,
  planOutsideRefresh,
  planRefresh,
  RequestProblem,
  resetModel,
  setTableBehaviour,
  slowEveryTable,
  syncStateAt,
  viewRefresh,
  type EmulatorModelDescription,
  type ModelState,
  type RefreshSubmission,
  type RefreshView,
  type ServerState,
  type SyncBehaviour,
  type TableBehaviour,
} from '../engine/refreshEngine';
import { applyFault, control as controlRoute, FaultQueue, isControlPath, listenHttps, readRequest, RequestLog, requestHooks, responder, verifyBearer, writeControlAnswer, type Answer, type ConnectionFault, type RequestHooks } from '../engine/httpSurface';
import sampleModel from '../engine/sampleModel.json';
import { parseScenarioOptions, SCENARIO_NAMES, SCENARIO_SUMMARIES, type ScenarioName, type ScenarioOptions } from './scenarios';

export type { EmulatorModelDescription, RefreshView, SyncBehaviour, TableBehaviour } from '../engine/refreshEngine';
export { SCENARIO_NAMES, SCENARIO_SUMMARIES, parseScenarioSetting, type ScenarioName, type ScenarioOptions } from './scenarios';
export { NOT_STARTED_MS, DEFAULT_SYNC_DURATION_MS } from '../engine/refreshEngine';

export const AAS_AUDIENCE = 'https://*.asazure.windows.net';
export const SAMPLE_MODEL: EmulatorModelDescription = sampleModel;
const HISTORY_MS = 30 * 24 * 3600 * 1000;

export type EmulatedOperation = 'submitRefresh' | 'getRefresh' | 'listRefreshes' | 'cancelRefresh' | 'submitSync' | 'getSync';

type StatusFault =
  | { status: 429; retryAfterSeconds?: number }
  | { status: 500 | 503 }
  /** 404 NotFound, as AAS answers for an operation (e.g. a sync) it no longer knows. */
  | { status: 404 };

/** A status fault, or one on the connection (reset, resetAfterProcessing, delay, omitLocation, expireTokens). */
export type Fault = StatusFault | ConnectionFault;

export interface FaultSpec {
  operation?: EmulatedOperation | 'any';
  model?: string;
  /** How many matching requests it hits; default 1. */
  times?: number;
  fault: Fault;
}

export interface RequestLogEntry {
  method: string;
  /** The raw (still percent-encoded) path. */
  path: string;
  query: string;
  operation: EmulatedOperation | 'unknown';
  server?: string;
  /** Decoded model name. */
  model?: string;
  /** HTTP status answered; 0 when the connection was dropped without an answer. */
  status: number;
  /** Clock time (ms) of the request. */
  at: number;
  authorized: boolean;
}

export interface AasEmulatorOptions {
  clock?: Clock;
  tls?: LocalTls;
  /** Verifies bearer tokens; the identity emulator issues them with the same instance. */
  issuer: TokenIssuer;
  port?: number;
  /** Servers and models; default the sample `myserver` / `AdventureWorks`. */
  models?: EmulatorModelDescription;
  /** Processing time per partition for tables without their own; default 30 s. */
  defaultDurationMs?: number;
}

export interface AasEmulator extends RequestHooks<RequestLogEntry, FaultSpec> {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** `127.0.0.1:<port>`: the entry for AAS_ALLOWED_HOSTS. */
  readonly host: string;
  /** `asazure://127.0.0.1:<port>/<name>` */
  serverName(name?: string): string;
  countRequests(operation: EmulatedOperation | 'any', model?: string): number;
  setTable(server: string, model: string, table: string, behaviour: TableBehaviour): void;
  /** Someone else's refresh of the whole model: our POST gets 409 until it ends. Returns its id. */
  startOutsideRefresh(server: string, model: string, options: { durationMs: number }): string;
  setNotAdmin(server: string, notAdmin: boolean): void;
  setSyncBehaviour(server: string, model: string, behaviour: SyncBehaviour): void;
  /** How long the model's next refreshes stay notStarted (queued) before processing; default 2 s. */
  setNotStartedMs(server: string, model: string, ms: number | undefined): void;
  setDefaultDurationMs(ms: number): void;
  /** Makes the model misbehave in a named way (scenarios.ts); returns what was done, in words. */
  applyScenario(name: ScenarioName, options?: ScenarioOptions): string;
  /** Undoes every scenario, fault and behaviour change: tables, sync and admins as started. */
  reset(): void;
  /** Callbacks received at `<url>/_emulator/callbacks/...`, oldest first. */
  readonly callbacks: ReceivedCallback[];
  /** Forgets the model's refreshes, as a restarted emulator (or a server that lost them) would. */
  forgetRefreshes(server: string, model: string): void;
  /** The refresh running now (notStarted or inProgress), if any. */
  activeRefresh(server: string, model: string): RefreshView | undefined;
  /** Every refresh of the model, newest first. */
  refreshes(server: string, model: string): RefreshView[];
  close(): Promise<void>;
}

/** 7 fractional digits and `Z`, as AAS writes times. */
function aasTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

/** Zone-less, as the documented sync example writes them. */
function syncTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '');
}

/** A request the callback sink received (an app run's callback, sent to this emulator). */
export interface ReceivedCallback {
  path: string;
  /** Clock time (ISO). */
  receivedAt: string;
  body: unknown;
}

export async function startAasEmulator(options: AasEmulatorOptions): Promise<AasEmulator> {
  const clock = options.clock ?? systemClock;
  const tls = options.tls ?? loadLocalTls();
  const { issuer } = options;
  const description = options.models ?? SAMPLE_MODEL;
  const servers = buildServers(description);
  const initialDefaultDurationMs = options.defaultDurationMs ?? 30_000;
  let defaultDurationMs = initialDefaultDurationMs;
  const callbacks: ReceivedCallback[] = [];
  const log = new RequestLog<RequestLogEntry>();
  const requests = log.entries;
  const faults = new FaultQueue<FaultSpec>();
  let host = '';

  const serverNameOf = (name: string): string => `asazure://${host}/${name}`;

  function requireServer(name: string): ServerState {
    const server = servers.get(name.toLowerCase());
    if (server === undefined) throw new Error(`AAS emulator: no server "${name}"`);
    return server;
  }
  function requireModel(serverName: string, modelName: string): ModelState {
    const model = requireServer(serverName).models.get(modelName);
    if (model === undefined) throw new Error(`AAS emulator: no model "${modelName}" on server "${serverName}"`);
    return model;
  }
  const activeRecord = (model: ModelState) => activeRecordAt(model, clock.now());

  function errorBody(status: number, code: string, message: string, rootActivityId: string, extraDetails: Array<{ code: string; message: string }> = []) {
    return { code, subCode: 0, message, timeStamp: aasTime(clock.now()), httpStatusCode: status, details: [{ code: 'RootActivityId', message: rootActivityId }, ...extraDetails] };
  }

  function takeFault(operation: EmulatedOperation | 'unknown', model: string | undefined): FaultSpec | undefined {
    return faults.take((spec) => (spec.operation === undefined || spec.operation === 'any' || spec.operation === operation) && (spec.model === undefined || spec.model === model));
  }

  function refreshView(record: Parameters<typeof viewRefresh>[0]) {
    const view = viewRefresh(record, clock.now());
    return {
      startTime: aasTime(view.startTime),
      ...(view.endTime === undefined ? {} : { endTime: aasTime(view.endTime) }),
      type: view.type.toLowerCase(),
      status: view.status,
      currentRefreshType: view.currentRefreshType.toLowerCase(),
      objects: view.objects,
      ...(view.messages.length > 0 ? { messages: view.messages } : {}),
    };
  }

  /** AAS reads the common fields and ignores any other (the enhanced refresh body of AAS). */
  function parseSubmission(body: string): RefreshSubmission {
    return parseCommonFields(bodyFields(body));
  }

  function handle(operation: EmulatedOperation, server: ServerState, model: ModelState, id: string | undefined, query: URLSearchParams, body: string, rootActivityId: string): Answer {
    const now = clock.now();
    const base = `https://${host}/servers/${server.name}/models/${encodeURIComponent(model.name)}`;
    switch (operation) {
      case 'submitRefresh': {
        if (activeRecord(model) !== undefined) {
          return { status: 409, body: errorBody(409, 'Conflict', `A refresh operation is already in progress for model '${model.name}'. Only one refresh can run at a time.`, rootActivityId) };
        }
        let record;
        try {
          record = planRefresh(model, parseSubmission(body), now, defaultDurationMs);
        } catch (error) {
          if (error instanceof RequestProblem) return { status: 400, body: errorBody(400, 'BadRequest', error.message, rootActivityId) };
          throw error;
        }
        model.refreshes.unshift(record);
        return { status: 202, headers: { location: `${base}/refreshes/${record.id}` } };
      }
      case 'getRefresh': {
        const record = model.refreshes.find((candidate) => candidate.id === id);
        if (record === undefined) return { status: 404, body: errorBody(404, 'NotFound', `Refresh '${id ?? ''}' was not found.`, rootActivityId) };
        return { status: 200, body: refreshView(record) };
      }
      case 'listRefreshes': {
        const list = model.refreshes
          .filter((record) => record.submittedAt >= now - HISTORY_MS)
          .sort((a, b) => b.submittedAt - a.submittedAt)
          .map((record) => {
            const view = refreshView(record);
            return { refreshId: record.id, startTime: view.startTime, ...(view.endTime === undefined ? {} : { endTime: view.endTime }), status: view.status };
          });
        return { status: 200, body: list };
      }
      case 'cancelRefresh': {
        const record = model.refreshes.find((candidate) => candidate.id === id);
        if (record === undefined) return { status: 404, body: errorBody(404, 'NotFound', `Refresh '${id ?? ''}' was not found.`, rootActivityId) };
        // Cancelling a finished refresh changes nothing and succeeds, so a retried DELETE whose
        // first reply was lost does not fail; GET tells the caller how the refresh really ended.
        cancelRecord(record, now);
        return { status: 200 };
      }
      case 'submitSync': {
        const sync = { id: randomUUID(), startedAt: now, durationMs: model.syncBehaviour.durationMs ?? DEFAULT_SYNC_DURATION_MS, fail: model.syncBehaviour.fail ?? false };
        model.syncs.set(sync.id, sync);
        return { status: 202, headers: { location: `${base}/sync?operationId=${sync.id}` } };
      }
      case 'getSync': {
        const operationId = query.get('operationId') ?? query.get('operationid');
        if (operationId === null || operationId === '') return { status: 400, body: errorBody(400, 'BadRequest', 'The operationId parameter is required.', rootActivityId) };
        // Unknown operation ids answer 404 with a flat error body (the real service's answer is undocumented).
        const sync = model.syncs.get(operationId);
        if (sync === undefined) return { status: 404, body: errorBody(404, 'NotFound', `Sync operation '${operationId}' was not found.`, rootActivityId) };
        const state = syncStateAt(sync, now);
        return {
          status: 200,
          body: {
            operationId: sync.id,
            database: model.name,
            UpdatedAt: syncTime(Math.min(now, sync.startedAt + sync.durationMs)),
            StartedAt: syncTime(sync.startedAt),
            syncstate: state,
            details: state === 3 ? 'Replica synchronization failed: the read-only replica could not attach the database.' : null,
          },
        };
      }
    }
  }

  function classify(method: string, rest: string[]): { operation: EmulatedOperation | 'unknown'; id?: string } {
    const [collection, id, ...extra] = rest;
    if (extra.length > 0) return { operation: 'unknown' };
    if (collection === 'refreshes') {
      if (id === undefined || id === '') return { operation: method === 'POST' ? 'submitRefresh' : method === 'GET' ? 'listRefreshes' : 'unknown' };
      return { operation: method === 'GET' ? 'getRefresh' : method === 'DELETE' ? 'cancelRefresh' : 'unknown', id };
    }
    if (collection === 'sync' && id === undefined) return { operation: method === 'POST' ? 'submitSync' : method === 'GET' ? 'getSync' : 'unknown' };
    return { operation: 'unknown' };
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { method, path, queryText, body } = await readRequest(req);
    // Local controls and the callback sink: not AAS, so not in the request log.
    if (isControlPath(path)) return writeControlAnswer(res, control(method, path, body));
    const rootActivityId = randomUUID();
    const entry = log.add({ method, path, query: queryText, operation: 'unknown', status: 0, at: clock.now(), authorized: false });

    let segments: string[];
    try {
      segments = path.split('/').slice(1).map((segment) => decodeURIComponent(segment));
    } catch {
      segments = [];
    }
    const [serversLiteral, serverName, modelsLiteral, modelName, ...rest] = segments;
    const routed = serversLiteral === 'servers' && modelsLiteral === 'models' && serverName !== undefined && modelName !== undefined;
    const { operation, id } = routed ? classify(method, rest) : { operation: 'unknown' as const };
    entry.operation = operation;
    if (routed) {
      entry.server = serverName;
      entry.model = modelName;
    }

    const check = verifyBearer(issuer, req.headers.authorization, AAS_AUDIENCE);
    entry.authorized = check.ok;

    const { send, drop } = responder(req, res, entry, log, {
      'x-ms-root-activity-id': rootActivityId,
      'x-ms-current-utc-date': aasTime(clock.now()),
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
      server: 'Microsoft-HTTPAPI/2.0',
    });
    const unauthorized = (reason: string): Answer => ({
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"' },
      body: errorBody(401, 'Unauthorized', `Authentication failed: ${reason}.`, rootActivityId),
    });

    const outcome = await applyFault(takeFault(operation, routed ? modelName : undefined)?.fault, req, { send, drop }, {
      statusAnswer: (fault: StatusFault): Answer => {
        if (fault.status === 429) {
          return {
            status: 429,
            headers: { 'retry-after': String(fault.retryAfterSeconds ?? 30) },
            body: errorBody(429, 'TooManyRequests', 'The server is busy: too many requests. Retry later.', rootActivityId),
          };
        }
        if (fault.status === 404) return { status: 404, body: errorBody(404, 'NotFound', 'The requested operation was not found on the server.', rootActivityId) };
        return { status: fault.status, body: errorBody(fault.status, 'InternalServerError', 'An internal error occurred.', rootActivityId) };
      },
      expiredToken: () => unauthorized('the token has expired'),
    });
    if (outcome === 'done') return;
    const { omitLocation, resetAfterProcessing } = outcome;

    if (!check.ok) return send(unauthorized(check.reason));
    if (!routed) return send({ status: 404, body: errorBody(404, 'NotFound', `The resource '${path}' was not found.`, rootActivityId) });
    const server = servers.get(serverName.toLowerCase());
    if (server === undefined || server.notAdmin) {
      // AAS does not tell a missing server from a missing permission; the reason is only in this header.
      const name = serverNameOf(serverName);
      return send({
        status: 400,
        headers: { 'x-ms-xmlaerror-extended': `Either server '${name}' does not exist or user is not the administrator of '${name}'.` },
        body: errorBody(400, 'Unauthorized', 'An internal error occurred.', rootActivityId, [{ code: 'Param1', message: name }]),
      });
    }
    const model = server.models.get(modelName);
    if (model === undefined) {
      return send({ status: 404, body: errorBody(404, 'NotFound', `The database '${modelName}' does not exist on server '${serverNameOf(server.name)}'.`, rootActivityId) });
    }
    if (operation === 'unknown') return send({ status: 404, body: errorBody(404, 'NotFound', `The resource '${path}' was not found.`, rootActivityId) });
    const answer = handle(operation, server, model, id, new URLSearchParams(queryText), body, rootActivityId);
    if (resetAfterProcessing) return drop();
    if (omitLocation && answer.headers !== undefined) delete answer.headers.location;
    send(answer);
  }

  function firstServer(options: ScenarioOptions): { server: ServerState; model: ModelState } {
    const server = options.server === undefined ? servers.values().next().value : servers.get(options.server.toLowerCase());
    if (server === undefined) throw new Error(`no server "${options.server ?? ''}"`);
    const model = options.model === undefined ? server.models.values().next().value : server.models.get(options.model);
    if (model === undefined) throw new Error(`no model "${options.model ?? ''}" on server "${server.name}"`);
    return { server, model };
  }

  function applyScenario(name: ScenarioName, options: ScenarioOptions = {}): string {
    const { server, model } = firstServer(options);
    const where = `${server.name}/${model.name}`;
    switch (name) {
      case 'fail-table': {
        const table = failTableForever(model, where, options.table);
        return `table ${table} of ${where} now fails on every attempt`;
      }
      case 'slow-refresh': {
        const durationMs = (options.durationSeconds ?? 3600) * 1000;
        slowEveryTable(model, durationMs);
        return `every partition of ${where} now takes ${durationMs / 1000} s`;
      }
      case 'throttle': {
        const times = options.times ?? 3;
        const retryAfterSeconds = options.retryAfterSeconds ?? 20;
        faults.add({ operation: 'any', model: model.name, times, fault: { status: 429, retryAfterSeconds } });
        return `the next ${times} AAS calls for ${where} answer 429 with Retry-After: ${retryAfterSeconds}`;
      }
      case 'fail-sync':
        model.syncBehaviour = { ...model.syncBehaviour, fail: true };
        return `replica syncs of ${where} now end with syncstate 3`;
      case 'busy': {
        if (activeRecord(model) !== undefined) throw new Error(`a refresh is already running on ${where}`);
        const durationMs = (options.durationSeconds ?? 600) * 1000;
        model.refreshes.unshift(planOutsideRefresh(model, clock.now(), durationMs));
        return `someone else now refreshes ${where} for ${durationMs / 1000} s`;
      }
      case 'not-admin':
        server.notAdmin = true;
        return `the app's identity is no longer an administrator of ${server.name}`;
    }
  }

  function reset(): void {
    faults.clear();
    defaultDurationMs = initialDefaultDurationMs;
    for (const [serverName, initial] of buildServers(description)) {
      const server = servers.get(serverName);
      if (server === undefined) continue;
      server.notAdmin = false;
      for (const [modelName, initialModel] of initial.models) {
        const model = server.models.get(modelName);
        if (model === undefined) continue;
        // Someone else's refresh (busy) ends now.
        resetModel(model, initialModel, clock.now());
      }
    }
  }

  /** GET /_emulator, POST /_emulator/scenarios/<name>, POST /_emulator/reset, the callback sink. */
  function control(method: string, path: string, body: string): { status: number; body: unknown } {
    return controlRoute(
      {
        scenarioNames: SCENARIO_NAMES,
        describe: () => ({ scenarios: SCENARIO_NAMES.map((scenario) => ({ name: scenario, summary: SCENARIO_SUMMARIES[scenario] })), callbacksReceived: callbacks.length }),
        applyScenario: (name, options) => applyScenario(name as ScenarioName, parseScenarioOptions(options)),
        reset,
        more: (routeMethod, routePath, parts, parseBody) => {
          const [what] = parts;
          if (what === 'callbacks' && routeMethod === 'POST') {
            callbacks.push({ path: routePath, receivedAt: new Date(clock.now()).toISOString(), body: parseBody() });
            return { status: 200, body: {} };
          }
          if (what === 'callbacks' && routeMethod === 'GET' && parts.length === 1) return { status: 200, body: { callbacks } };
          return undefined;
        },
      },
      method,
      path,
      body,
    );
  }

  const listening = await listenHttps(tls, options.port, onRequest, (error) => ({ code: 'InternalServerError', message: error instanceof Error ? error.message : String(error) }));
  host = listening.host;

  return {
    url: `https://${host}`,
    host,
    serverName: (name = 'myserver') => serverNameOf(name),
    ...requestHooks(log, faults),
    callbacks,
    applyScenario,
    reset,
    countRequests: (operation, model) => requests.filter((entry) => (operation === 'any' || entry.operation === operation) && (model === undefined || entry.model === model)).length,
    setTable: (serverName, modelName, tableName, behaviour) => {
      setTableBehaviour(requireModel(serverName, modelName), tableName, behaviour);
    },
    startOutsideRefresh: (serverName, modelName, { durationMs }) => {
      const model = requireModel(serverName, modelName);
      if (activeRecord(model) !== undefined) throw new Error(`AAS emulator: a refresh is already running on ${modelName}`);
      const record = planOutsideRefresh(model, clock.now(), durationMs);
      model.refreshes.unshift(record);
      return record.id;
    },
    setNotAdmin: (serverName, notAdmin) => {
      requireServer(serverName).notAdmin = notAdmin;
    },
    setSyncBehaviour: (serverName, modelName, behaviour) => {
      requireModel(serverName, modelName).syncBehaviour = { ...behaviour };
    },
    setNotStartedMs: (serverName, modelName, ms) => {
      requireModel(serverName, modelName).notStartedMs = ms;
    },
    setDefaultDurationMs: (ms) => {
      defaultDurationMs = ms;
    },
    forgetRefreshes: (serverName, modelName) => {
      requireModel(serverName, modelName).refreshes = [];
    },
    activeRefresh: (serverName, modelName) => {
      const record = activeRecord(requireModel(serverName, modelName));
      return record === undefined ? undefined : viewRefresh(record, clock.now());
    },
    refreshes: (serverName, modelName) => requireModel(serverName, modelName).refreshes.map((record) => viewRefresh(record, clock.now())),
    close: () => listening.close(),
  };
}
