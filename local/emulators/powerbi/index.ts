import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock, type Clock } from '../../clock';
import { loadLocalTls, type LocalTls } from '../../tls';
import { POWERBI_RESOURCE } from '../identity/server';
import type { TokenClaims, TokenIssuer } from '../jwt';
import {
  bodyFields,
  buildModel,
  cancelRecord,
  failTableForever,
  isActive,
  MAX_TOTAL_REFRESH_MS,
  NOT_STARTED_MS,
  parseCommonFields,
  planNeverStarted,
  planOutsideRefresh,
  planRefresh,
  replanStart,
  RequestProblem,
  resetModel,
  setTableBehaviour,
  slowEveryTable,
  viewRefresh,
  type EmulatedStatus,
  type ModelState,
  type RefreshRecord,
  type RefreshView,
  type TableBehaviour,
} from '../engine/refreshEngine';
import { applyFault, control as controlRoute, FaultQueue, isControlPath, listenHttps, readRequest, RequestLog, requestHooks, responder, verifyBearer, writeControlAnswer, type Answer, type ConnectionFault, type RequestHooks } from '../engine/httpSurface';
import { refreshParallelismOf, samplePowerBi, stableGuid, type PowerBiDescription, type WorkspaceRole } from './sample';
import {
  parsePowerBiScenarioOptions,
  POWERBI_SCENARIO_NAMES,
  POWERBI_SCENARIO_SUMMARIES,
  type PowerBiScenarioName,
  type PowerBiScenarioOptions,
} from './scenarios';

export * from './sample';
export * from './scenarios';

/** Audience of Power BI REST tokens (scope `https://analysis.windows.net/powerbi/api/.default`). */
export const POWERBI_AUDIENCE = POWERBI_RESOURCE;
export const POWERBI_SCOPE = `${POWERBI_AUDIENCE}/.default`;
export const API_BASE_PATH = '/v1.0/myorg';
/** Get Refresh History: "If not provided, the default is the last available 60 entries". */
export const DEFAULT_HISTORY_TOP = 60;
/** Default timeout of each attempt (enhanced refresh docs: 05:00:00). */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 5 * 3600 * 1000;
/** "The refresh will fail if throttling exceeds 1 hour" (Datasets_RefreshDatasetInGroup, Limitations). */
export const CAPACITY_THROTTLE_LIMIT_MS = 3600 * 1000;
/** How long an explicit or automatic replica sync takes here. */
export const DEFAULT_REPLICA_SYNC_MS = 10_000;

export type PowerBiOperation =
  | 'listGroups'
  | 'listDatasets'
  | 'submitRefresh'
  | 'getRefresh'
  | 'listRefreshes'
  | 'cancelRefresh'
  | 'submitSync'
  | 'getSync';

type PowerBiStatusFault = { status: 429; retryAfterSeconds?: number } | { status: 500 | 502 | 503 };

/**
 * A status fault, or one on the connection: reset, resetAfterProcessing, delay, omitLocation (a
 * refresh POST answered 202 without Location and x-ms-request-id, seen on standard refreshes),
 * expireTokens (401 TokenExpired).
 */
export type PowerBiFault = PowerBiStatusFault | ConnectionFault;

export interface PowerBiFaultSpec {
  operation?: PowerBiOperation | 'any';
  /** Dataset id (any case). */
  dataset?: string;
  /** How many matching requests it hits; default 1. */
  times?: number;
  fault: PowerBiFault;
}

export interface PowerBiRequestLogEntry {
  method: string;
  path: string;
  query: string;
  /** The request body as sent (refresh bodies carry no secret; the Authorization header is never kept). */
  body: string;
  operation: PowerBiOperation | 'unknown';
  workspace?: string;
  dataset?: string;
  /** HTTP status answered; 0 when the connection was dropped without an answer. */
  status: number;
  /** Clock time (ms) of the request. */
  at: number;
  authorized: boolean;
}

export interface PowerBiEmulatorOptions {
  clock?: Clock;
  tls?: LocalTls;
  /** Verifies bearer tokens; the identity emulator issues them with the same instance. */
  issuer: TokenIssuer;
  port?: number;
  /** Workspaces and semantic models; default samplePowerBi(servicePrincipalId). */
  workspaces?: PowerBiDescription;
  /** Who holds the sample's roles when `workspaces` is not given. */
  servicePrincipalId?: string;
  /** Processing time per partition for tables without their own; default 30 s. */
  defaultDurationMs?: number;
}

/** A refresh as the emulator's own API shows it (for tests), with how it was started. */
export interface PowerBiRefreshInfo extends RefreshView {
  refreshType: RefreshType;
}

export type RefreshType = 'ViaEnhancedApi' | 'ViaApi' | 'Scheduled' | 'ViaXmlaEndpoint' | 'OnDemand';
/** How history rows name an enhanced refresh: today ViaEnhancedApi; the service wrote ReliableProcessing in 2022. */
export type EnhancedRefreshTypeName = 'ViaEnhancedApi' | 'ReliableProcessing';

export interface PowerBiEmulator extends RequestHooks<PowerBiRequestLogEntry, PowerBiFaultSpec> {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** `https://127.0.0.1:<port>/v1.0/myorg` (real: `https://api.powerbi.com/v1.0/myorg`). */
  readonly apiBase: string;
  /** `127.0.0.1:<port>`: the entry for the app's Power BI host allow-list. */
  readonly host: string;
  countRequests(operation: PowerBiOperation | 'any', dataset?: string): number;
  setTable(datasetId: string, table: string, behaviour: TableBehaviour): void;
  /** Sets (or with undefined removes) a principal's role in a workspace. */
  setRole(workspaceId: string, principalId: string, role: WorkspaceRole | undefined): void;
  /** A scheduled refresh of the whole model (not ours): POST answers 400 until it ends. Returns its id. */
  startOutsideRefresh(datasetId: string, options: { durationMs: number; refreshType?: 'Scheduled' | 'OnDemand' | 'ViaXmlaEndpoint' }): string;
  setAutoSync(datasetId: string, autoSync: boolean): void;
  /** Replica syncs never finish (true) or do again (false). */
  setSyncFails(datasetId: string, fails: boolean): void;
  setSyncDurationMs(ms: number): void;
  setNotStartedMs(datasetId: string, ms: number | undefined): void;
  setDefaultDurationMs(ms: number): void;
  /** The refreshType history rows show for enhanced refreshes (default ViaEnhancedApi). */
  setEnhancedRefreshTypeName(name: EnhancedRefreshTypeName): void;
  applyScenario(name: PowerBiScenarioName, options?: PowerBiScenarioOptions): string;
  /** Undoes every scenario, fault, role and behaviour change. */
  reset(): void;
  /** Every refresh of the dataset, newest first (dropped requests are not refreshes). */
  refreshes(datasetId: string): PowerBiRefreshInfo[];
  /** The dataset's refresh running or waiting now, if any. */
  activeRefresh(datasetId: string): PowerBiRefreshInfo | undefined;
  /** Forgets the dataset's refreshes, as a restarted emulator would. */
  forgetRefreshes(datasetId: string): void;
  /** Workspaces and their semantic models, ids and names. */
  describe(): Array<{ id: string; name: string; sku: string; datasets: Array<{ id: string; name: string }> }>;
  /** Request ids answered 202 but dropped (Power BI "drops all others" in a burst). */
  readonly droppedRequestIds: string[];
  close(): Promise<void>;
}

interface DatasetState {
  id: string;
  name: string;
  workspace: WorkspaceState;
  model: ModelState;
  initialTables: ModelState;
  /** Numeric ids of history rows, in submission order. */
  historyIds: Map<string, number>;
  refreshTypes: Map<string, RefreshType>;
  autoSync: boolean;
  initialAutoSync: boolean;
  maxReadOnlyReplicas: number;
  syncFails: boolean;
  explicitSyncs: Array<{ at: number; target: number }>;
  createdAt: number;
}

interface WorkspaceState {
  id: string;
  name: string;
  sku: string;
  parallelism: number;
  capacityId: string;
  roles: Map<string, WorkspaceRole>;
  initialRoles: Map<string, WorkspaceRole>;
  datasets: Map<string, DatasetState>;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Roles that may refresh, cancel and sync ("Member, Admin or Contributor": Power BI workspace roles). */
const WRITE_ROLES: ReadonlySet<WorkspaceRole> = new Set(['Admin', 'Member', 'Contributor']);
const KNOWN_FIELDS = new Set(['notifyoption', 'type', 'commitmode', 'maxparallelism', 'retrycount', 'objects', 'applyrefreshpolicy', 'effectivedate', 'timeout']);
const NOTIFY_OPTIONS = ['NoNotification', 'MailOnFailure', 'MailOnCompletion'];
const PASCAL: Record<string, string> = {
  full: 'Full',
  clearValues: 'ClearValues',
  calculate: 'Calculate',
  dataOnly: 'DataOnly',
  automatic: 'Automatic',
  defragment: 'Defragment',
  transactional: 'Transactional',
  partialBatch: 'PartialBatch',
};
const OBJECT_STATUS: Record<EmulatedStatus, string> = {
  notStarted: 'NotStarted',
  inProgress: 'InProgress',
  succeeded: 'Completed',
  failed: 'Failed',
  timedOut: 'TimedOut',
  cancelled: 'Cancelled',
};

/** Names quoted in a message cut to 64 characters, so a 60 KB table name does not come back whole. */
function clipQuoted(message: string): string {
  return message.replace(/'([^']{64})[^']+'/g, "'$1…'");
}

/** ISO with 7 fractional digits and Z (history rows, sync times). */
function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

/** Zone-less, as the execution-details examples write them (`2021-12-10T08:40:31.57`): UTC. */
function detailTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0*Z$/, '');
}

/** Commit versions are Windows FILETIMEs (100 ns since 1601): beyond 2^53, written exactly. */
function fileTime(ms: number): bigint {
  return (BigInt(Math.floor(ms)) + 11_644_473_600_000n) * 10_000n;
}

/** `hh:mm:ss` or `d.hh:mm:ss` (a .NET TimeSpan, as the docs' "02:00:00"). */
function parseTimeSpan(text: string): number | undefined {
  const match = /^(?:(\d{1,2})\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(text);
  if (match === null) return undefined;
  const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = match;
  if (Number(hours) > 23 || Number(minutes) > 59 || Number(seconds) > 59) return undefined;
  return (((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
}

/**
 * OData `$filter` on groups: `name eq '…'` and `contains(name,'…')`, joined by ` or `; a quote
 * inside a literal is doubled (`'O''Brien'`). Anything else is refused, not silently ignored.
 */
function parseGroupFilter(filter: string): (name: string) => boolean {
  const literal = "'((?:[^']|'')*)'";
  const clause = new RegExp(`^\\s*(?:name\\s+eq\\s+${literal}|contains\\(\\s*name\\s*,\\s*${literal}\\s*\\))\\s*$`, 'i');
  const parts = filter.split(/\s+or\s+(?=(?:name\s|contains\())/i);
  const tests = parts.map((part) => {
    const match = clause.exec(part);
    if (match === null) throw new RequestProblem(`Invalid OData $filter "${filter.slice(0, 100)}": the emulator supports name eq '…' and contains(name,'…'), joined by or.`);
    const [, equals, contains] = match;
    if (equals !== undefined) {
      const wanted = equals.replace(/''/g, "'");
      return (name: string) => name === wanted;
    }
    const part2 = (contains ?? '').replace(/''/g, "'").toLowerCase();
    return (name: string) => name.toLowerCase().includes(part2);
  });
  return (name) => tests.some((test) => test(name));
}

export async function startPowerBiEmulator(options: PowerBiEmulatorOptions): Promise<PowerBiEmulator> {
  const clock = options.clock ?? systemClock;
  const tls = options.tls ?? loadLocalTls();
  const { issuer } = options;
  const description = options.workspaces ?? samplePowerBi(options.servicePrincipalId ?? 'a5a5a5a5-0000-4000-8000-00000000aa5a');
  const initialDefaultDurationMs = options.defaultDurationMs ?? 30_000;
  let defaultDurationMs = initialDefaultDurationMs;
  let syncDurationMs = DEFAULT_REPLICA_SYNC_MS;
  const startedAt = clock.now();
  const log = new RequestLog<PowerBiRequestLogEntry>();
  const requests = log.entries;
  const droppedRequestIds: string[] = [];
  /** Refreshes that failed because the capacity held them for more than an hour. */
  const throttledIds = new Set<string>();
  const faults = new FaultQueue<PowerBiFaultSpec>();
  let host = '';
  /** The tenant setting "Service principals can use Fabric APIs" off for everyone (sp-not-allowed). */
  let servicePrincipalsAllowed = true;
  let enhancedRefreshTypeName: EnhancedRefreshTypeName = 'ViaEnhancedApi';

  const workspaces = new Map<string, WorkspaceState>();
  const datasets = new Map<string, DatasetState>();
  for (const workspace of description.workspaces) {
    if (!GUID.test(workspace.id)) throw new Error(`Power BI emulator: workspace id "${workspace.id}" is not a GUID`);
    const roles = new Map(Object.entries(workspace.roles));
    const state: WorkspaceState = {
      id: workspace.id.toLowerCase(),
      name: workspace.name,
      sku: workspace.sku ?? 'F64',
      parallelism: refreshParallelismOf(workspace.sku ?? 'F64'),
      capacityId: workspace.capacity === undefined ? randomUUID() : stableGuid(`capacity:${workspace.capacity}`),
      roles,
      initialRoles: new Map(roles),
      datasets: new Map(),
    };
    for (const dataset of workspace.datasets) {
      if (!GUID.test(dataset.id)) throw new Error(`Power BI emulator: dataset id "${dataset.id}" is not a GUID`);
      const id = dataset.id.toLowerCase();
      if (datasets.has(id)) throw new Error(`Power BI emulator: dataset id "${dataset.id}" is used twice`);
      const datasetState: DatasetState = {
        id,
        name: dataset.name,
        workspace: state,
        model: buildModel(dataset.name, dataset.tables),
        initialTables: buildModel(dataset.name, dataset.tables),
        historyIds: new Map(),
        refreshTypes: new Map(),
        autoSync: dataset.autoSyncReadOnlyReplicas ?? true,
        initialAutoSync: dataset.autoSyncReadOnlyReplicas ?? true,
        maxReadOnlyReplicas: dataset.maxReadOnlyReplicas ?? -1,
        syncFails: false,
        explicitSyncs: [],
        createdAt: startedAt - 24 * 3600 * 1000,
      };
      state.datasets.set(id, datasetState);
      datasets.set(id, datasetState);
    }
    workspaces.set(state.id, state);
  }
  let nextHistoryId = 1;

  function requireDataset(id: string): DatasetState {
    const dataset = datasets.get(id.toLowerCase());
    if (dataset === undefined) throw new Error(`Power BI emulator: no dataset "${id}"`);
    return dataset;
  }
  function requireWorkspace(id: string): WorkspaceState {
    const workspace = workspaces.get(id.toLowerCase());
    if (workspace === undefined) throw new Error(`Power BI emulator: no workspace "${id}"`);
    return workspace;
  }

  const error = (status: number, code: string, message: string): Answer => ({ status, body: { error: { code, message } } });
  const notAuthorized = (): Answer => ({
    status: 403,
    body: { error: { code: 'PowerBINotAuthorizedException', 'pbi.error': { code: 'PowerBINotAuthorizedException', parameters: {}, details: [], exceptionCulprit: 1 } } },
  });

  function takeFault(operation: PowerBiOperation | 'unknown', dataset: string | undefined): PowerBiFault | undefined {
    return faults.take((spec) => (spec.operation === undefined || spec.operation === 'any' || spec.operation === operation) && (spec.dataset === undefined || spec.dataset.toLowerCase() === dataset))?.fault;
  }

  /**
   * When a refresh submitted now may start processing on its workspace's capacity: at `wanted`
   * unless the capacity already processes as many refreshes as its SKU allows then, in which case
   * at the first moment one of them ends (it waits NotStarted meanwhile).
   */
  function capacityStart(workspace: WorkspaceState, wanted: number, now: number): number {
    const busy = [...datasets.values()]
      .filter((dataset) => dataset.workspace.capacityId === workspace.capacityId)
      .flatMap((dataset) => dataset.model.refreshes)
      .filter((record) => isActive(record, now))
      .map((record) => ({ start: record.processingStart, end: record.cancelledAt !== undefined && record.cancelledAt < record.end ? record.cancelledAt : record.end }));
    const candidates = [wanted, ...busy.map((interval) => interval.end).filter((end) => end > wanted)].sort((a, b) => a - b);
    for (const at of candidates) {
      if (busy.filter((interval) => interval.start <= at && at < interval.end).length < workspace.parallelism) return at;
    }
    return wanted;
  }

  interface ParsedRefresh {
    enhanced: boolean;
    submission: Parameters<typeof planRefresh>[1];
  }

  function parseRefreshBody(body: string, claims: TokenClaims): ParsedRefresh {
    const fields = bodyFields(body);
    for (const key of fields.keys()) {
      if (!KNOWN_FIELDS.has(key)) throw new RequestProblem(`'${key.slice(0, 64)}' is not a field of a refresh request (notifyOption, type, commitMode, maxParallelism, retryCount, objects, applyRefreshPolicy, effectiveDate, timeout).`);
    }
    const enhanced = [...fields.keys()].some((key) => key !== 'notifyoption');
    const notify = fields.get('notifyoption');
    if (notify !== undefined) {
      if (enhanced) throw new RequestProblem('notifyOption is not supported for an enhanced refresh: leave it out of a body with other parameters.');
      if (typeof notify !== 'string' || !NOTIFY_OPTIONS.includes(notify)) throw new RequestProblem(`notifyOption must be one of ${NOTIFY_OPTIONS.join(', ')}.`);
      if (notify !== 'NoNotification' && claims.idtyp === 'app') throw new RequestProblem('Mail notifications are not supported for a service principal: use NoNotification or leave notifyOption out.');
    }
    if (!enhanced) {
      // A standard refresh: the whole model, as the service refreshes it on a schedule.
      return { enhanced: false, submission: { type: 'full', commitMode: 'transactional', maxParallelism: 10, retryCount: 0, objects: [], attemptTimeoutMs: DEFAULT_ATTEMPT_TIMEOUT_MS } };
    }
    const submission = parseCommonFields(fields);
    const applyRefreshPolicy = fields.get('applyrefreshpolicy');
    if (applyRefreshPolicy !== undefined && typeof applyRefreshPolicy !== 'boolean') throw new RequestProblem('applyRefreshPolicy must be true or false.');
    if (submission.commitMode === 'partialBatch' && applyRefreshPolicy !== false) {
      throw new RequestProblem('applyRefreshPolicy must be false when commitMode is partialBatch (its default, true, is not supported with partialBatch).');
    }
    const effectiveDate = fields.get('effectivedate');
    if (effectiveDate !== undefined && (typeof effectiveDate !== 'string' || !/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/.test(effectiveDate) || Number.isNaN(Date.parse(effectiveDate)))) {
      throw new RequestProblem('effectiveDate must be a date, e.g. 2024-12-31.');
    }
    const timeoutText = fields.get('timeout');
    let attemptTimeoutMs = DEFAULT_ATTEMPT_TIMEOUT_MS;
    if (timeoutText !== undefined) {
      const parsed = typeof timeoutText === 'string' ? parseTimeSpan(timeoutText) : undefined;
      if (parsed === undefined || parsed <= 0) throw new RequestProblem('timeout must be a duration as hh:mm:ss, e.g. 02:00:00.');
      if (parsed > MAX_TOTAL_REFRESH_MS) throw new RequestProblem('timeout must not exceed 24 hours (1.00:00:00).');
      attemptTimeoutMs = parsed;
    }
    return { enhanced: true, submission: { ...submission, attemptTimeoutMs } };
  }

  function refreshTypeOf(dataset: DatasetState, record: RefreshRecord): RefreshType {
    return dataset.refreshTypes.get(record.id) ?? 'ViaEnhancedApi';
  }

  function overall(status: EmulatedStatus): { status: string; extendedStatus: string } {
    switch (status) {
      case 'notStarted':
        return { status: 'Unknown', extendedStatus: 'NotStarted' };
      case 'inProgress':
        return { status: 'Unknown', extendedStatus: 'InProgress' };
      case 'succeeded':
        return { status: 'Completed', extendedStatus: 'Completed' };
      case 'failed':
        return { status: 'Failed', extendedStatus: 'Failed' };
      case 'timedOut':
        return { status: 'Failed', extendedStatus: 'TimedOut' };
      case 'cancelled':
        return { status: 'Cancelled', extendedStatus: 'Cancelled' };
    }
  }

  function engineMessages(view: RefreshView): Array<{ code: string; message: string; type: 'Error' }> {
    if (view.status === 'failed' && throttledIds.has(view.refreshId)) {
      return [{ code: 'CapacityThrottled', message: 'The refresh was throttled by the capacity for more than an hour and was not started.', type: 'Error' }];
    }
    if (view.status === 'timedOut') return [{ code: '0xC11C0028', message: 'The refresh operation was cancelled because it exceeded the timeout of an attempt.', type: 'Error' }];
    return view.messages.map((message) => ({ code: '0xC112000B', message: message.message, type: message.type }));
  }

  function details(record: RefreshRecord): Answer {
    const view = viewRefresh(record, clock.now());
    const { status, extendedStatus } = overall(view.status);
    const running = view.status === 'notStarted' || view.status === 'inProgress';
    const messages = engineMessages(view);
    return {
      status: running ? 202 : 200,
      body: {
        startTime: detailTime(view.startTime),
        ...(view.endTime === undefined ? {} : { endTime: detailTime(view.endTime) }),
        type: PASCAL[view.type] ?? view.type,
        commitMode: PASCAL[view.commitMode] ?? view.commitMode,
        status,
        extendedStatus,
        currentRefreshType: PASCAL[view.currentRefreshType] ?? view.currentRefreshType,
        // The documented examples count retries: 0 for a refresh that succeeded on its first attempt.
        numberOfAttempts: Math.max(0, view.attempts - 1),
        ...(view.status === 'notStarted' ? {} : { objects: view.objects.map((object) => ({ table: object.table, partition: object.partition, status: OBJECT_STATUS[object.status] })) }),
        ...(messages.length > 0 ? { messages } : {}),
      },
    };
  }

  function historyRow(dataset: DatasetState, record: RefreshRecord) {
    const view = viewRefresh(record, clock.now());
    const { status, extendedStatus } = overall(view.status);
    const failed = view.status === 'failed' || view.status === 'timedOut';
    const errorCode = view.status === 'timedOut' ? 'ModelRefresh_ShortMessage_RefreshTimedOut' : throttledIds.has(record.id) ? 'ModelRefresh_ShortMessage_CapacityThrottled' : 'ModelRefresh_ShortMessage_ProcessingError';
    return {
      requestId: record.id,
      id: dataset.historyIds.get(record.id) ?? 0,
      refreshType: refreshTypeOf(dataset, record) === 'ViaEnhancedApi' ? enhancedRefreshTypeName : refreshTypeOf(dataset, record),
      startTime: isoTime(view.startTime),
      ...(view.endTime === undefined ? {} : { endTime: isoTime(view.endTime) }),
      ...(failed ? { serviceExceptionJson: JSON.stringify({ errorCode }) } : {}),
      status,
      extendedStatus,
    };
  }

  /** Commit times: the dataset's creation, then each refresh that completed (partialBatch commits too, at its end). */
  function commitTimes(dataset: DatasetState, now: number): number[] {
    const ends = dataset.model.refreshes
      .map((record) => viewRefresh(record, now))
      .filter((view) => view.endTime !== undefined && view.endTime <= now && (view.status === 'succeeded' || (view.commitMode === 'partialBatch' && view.objects.some((object) => object.status === 'succeeded'))))
      .map((view) => view.endTime as number);
    return [dataset.createdAt, ...ends].sort((a, b) => a - b);
  }

  /**
   * Query scale-out as the sync status shows it: a commit makes a new version on the read-write
   * replica; with auto-sync a sync to it starts at once, otherwise only POST …/sync starts one;
   * read-only replicas serve the target of the last finished sync.
   */
  function syncStatus(dataset: DatasetState, now: number): string {
    const commits = commitTimes(dataset, now);
    const commit = commits[commits.length - 1] as number;
    const syncs = [
      ...(dataset.autoSync ? commits.slice(1).map((at) => ({ at, target: at, reason: 'automatic' as const })) : []),
      ...dataset.explicitSyncs.map((sync) => ({ ...sync, reason: 'explicit' as const })),
    ].sort((a, b) => a.at - b.at);
    const duration = dataset.syncFails ? Number.POSITIVE_INFINITY : syncDurationMs;
    const last = syncs[syncs.length - 1];
    const finished = syncs.filter((sync) => sync.at + duration <= now);
    const readVersion = finished.reduce((latest, sync) => Math.max(latest, sync.target), dataset.createdAt);
    const disabled = dataset.maxReadOnlyReplicas === 0;
    const fields: Array<[string, string]> = [
      ['commitVersion', fileTime(commit).toString()],
      ['commitTimestamp', JSON.stringify(isoTime(commit))],
      ['targetSyncVersion', fileTime(last?.target ?? dataset.createdAt).toString()],
      ['targetSyncTimestamp', JSON.stringify(isoTime(last?.target ?? dataset.createdAt))],
      ...(last === undefined
        ? []
        : ([
            ['triggerReason', JSON.stringify(last.reason)],
            ['syncStartTime', JSON.stringify(isoTime(last.at))],
            ...(last.at + duration <= now ? [['syncEndTime', JSON.stringify(isoTime(last.at + duration))] as [string, string]] : []),
          ] as Array<[string, string]>)),
      ['minActiveReadVersion', fileTime(disabled ? commit : readVersion).toString()],
      ['minActiveReadTimestamp', JSON.stringify(isoTime(disabled ? commit : readVersion))],
      ['scaleOutStatus', JSON.stringify(disabled ? 'ReadOnlyReplicasDisabled' : 'Enabled')],
    ];
    return `{${fields.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
  }

  function submitRefresh(dataset: DatasetState, body: string, claims: TokenClaims, requestId: string): Answer {
    const now = clock.now();
    let parsed: ParsedRefresh;
    try {
      parsed = parseRefreshBody(body, claims);
    } catch (problem) {
      if (problem instanceof RequestProblem) return error(400, 'InvalidRequest', clipQuoted(problem.message));
      throw problem;
    }
    const active = dataset.model.refreshes.filter((record) => isActive(record, now)).sort((a, b) => a.submittedAt - b.submittedAt);
    const first = active[0];
    let queuedBehind: RefreshRecord | undefined;
    if (first !== undefined) {
      // "Power BI does a refresh, queues the next request, and drops all others": while the first
      // has not started, one more is queued and the rest are accepted and dropped; once it runs,
      // another request is refused.
      const firstWaits = viewRefresh(first, now).status === 'notStarted' && !first.outside;
      if (!firstWaits) return error(400, 'InvalidRequest', 'Invalid dataset refresh request. Another refresh request is already executing');
      if (active.length >= 2) {
        droppedRequestIds.push(requestId);
        return accepted(dataset, requestId, parsed.enhanced);
      }
      queuedBehind = first;
    }
    let record: RefreshRecord;
    try {
      const wanted = queuedBehind === undefined ? now + (dataset.model.notStartedMs ?? NOT_STARTED_MS) : queuedBehind.end;
      const start = capacityStart(dataset.workspace, wanted, now);
      // Held by the capacity for longer than the service waits: it fails without processing anything.
      const throttled = start - wanted > CAPACITY_THROTTLE_LIMIT_MS;
      record = throttled
        ? planNeverStarted(dataset.model, parsed.submission, now, defaultDurationMs, wanted + CAPACITY_THROTTLE_LIMIT_MS)
        : planRefresh(dataset.model, parsed.submission, now, defaultDurationMs, start);
      if (throttled) throttledIds.add(requestId);
    } catch (problem) {
      if (problem instanceof RequestProblem) return error(400, 'InvalidRequest', clipQuoted(problem.message));
      throw problem;
    }
    record.id = requestId;
    dataset.model.refreshes.unshift(record);
    dataset.historyIds.set(record.id, nextHistoryId++);
    dataset.refreshTypes.set(record.id, parsed.enhanced ? 'ViaEnhancedApi' : 'ViaApi');
    return accepted(dataset, requestId, parsed.enhanced);
  }

  function accepted(dataset: DatasetState, requestId: string, enhanced: boolean): Answer {
    return {
      status: 202,
      headers: {
        'x-ms-request-id': requestId,
        ...(enhanced ? { location: `https://${host}${API_BASE_PATH}/groups/${dataset.workspace.id}/datasets/${dataset.id}/refreshes/${requestId}` } : {}),
      },
    };
  }

  function enhancedRecord(dataset: DatasetState, id: string | undefined): RefreshRecord | undefined {
    const record = dataset.model.refreshes.find((candidate) => candidate.id.toLowerCase() === (id ?? '').toLowerCase());
    return record !== undefined && refreshTypeOf(dataset, record) === 'ViaEnhancedApi' ? record : undefined;
  }

  function handle(operation: PowerBiOperation, workspace: WorkspaceState, dataset: DatasetState | undefined, id: string | undefined, query: URLSearchParams, body: string, claims: TokenClaims, requestId: string): Answer {
    const now = clock.now();
    const odata = (what: string) => `https://${host}${API_BASE_PATH}/$metadata#${what}`;
    if (operation === 'listDatasets') {
      return {
        status: 200,
        body: {
          '@odata.context': odata(`groups('${workspace.id}')/datasets`),
          value: [...workspace.datasets.values()].map((candidate) => ({
            id: candidate.id,
            name: candidate.name,
            webUrl: `https://app.powerbi.com/groups/${workspace.id}/datasets/${candidate.id}`,
            addRowsAPIEnabled: false,
            configuredBy: 'emulator@contoso.com',
            isRefreshable: true,
            isEffectiveIdentityRequired: false,
            isEffectiveIdentityRolesRequired: false,
            isOnPremGatewayRequired: false,
            targetStorageMode: 'PremiumFiles',
            createdDate: isoTime(candidate.createdAt),
            queryScaleOutSettings: { autoSyncReadOnlyReplicas: candidate.autoSync, maxReadOnlyReplicas: candidate.maxReadOnlyReplicas },
          })),
        },
      };
    }
    if (dataset === undefined) return error(404, 'ItemNotFound', 'Dataset is not found! please verify datasetId is correct and user have sufficient permissions.');
    switch (operation) {
      case 'submitRefresh':
        return submitRefresh(dataset, body, claims, requestId);
      case 'getRefresh': {
        const record = enhancedRecord(dataset, id);
        if (record === undefined) return error(404, 'PowerBIEntityNotFound', `Refresh '${(id ?? '').slice(0, 64)}' is not found: only enhanced refreshes have execution details.`);
        return details(record);
      }
      case 'listRefreshes': {
        const topText = query.get('$top');
        let top = DEFAULT_HISTORY_TOP;
        if (topText !== null) {
          if (!/^\d+$/.test(topText) || Number(topText) < 1) return error(400, 'InvalidRequest', `$top must be a positive integer, not '${topText.slice(0, 32)}'.`);
          top = Number(topText);
        }
        const rows = [...dataset.model.refreshes].sort((a, b) => b.submittedAt - a.submittedAt || (dataset.historyIds.get(b.id) ?? 0) - (dataset.historyIds.get(a.id) ?? 0)).slice(0, top);
        return { status: 200, body: { '@odata.context': odata('refreshes'), value: rows.map((record) => historyRow(dataset, record)) } };
      }
      case 'cancelRefresh': {
        const record = dataset.model.refreshes.find((candidate) => candidate.id.toLowerCase() === (id ?? '').toLowerCase());
        if (record === undefined) return error(404, 'PowerBIEntityNotFound', `Refresh '${(id ?? '').slice(0, 64)}' is not found.`);
        if (refreshTypeOf(dataset, record) !== 'ViaEnhancedApi') return error(400, 'InvalidRequest', 'Only an enhanced refresh can be cancelled with this API.');
        if (cancelRecord(record, now)) {
          // The request queued behind it starts now instead of when it would have ended.
          for (const queued of dataset.model.refreshes) {
            if (queued !== record && isActive(queued, now) && queued.processingStart > now) replanStart(queued, capacityStart(dataset.workspace, now, now));
          }
        }
        return { status: 200 };
      }
      case 'submitSync': {
        const commits = commitTimes(dataset, now);
        dataset.explicitSyncs.push({ at: now, target: commits[commits.length - 1] as number });
        return { status: 200, rawBody: syncStatus(dataset, now) };
      }
      case 'getSync':
        return { status: 200, rawBody: syncStatus(dataset, now) };
      case 'listGroups':
        return error(404, 'NotFound', 'No HTTP resource was found that matches the request URI.');
    }
  }

  function classify(method: string, segments: string[]): { operation: PowerBiOperation | 'unknown'; workspace?: string; dataset?: string; id?: string } {
    const [groups, workspace, datasetsLiteral, dataset, collection, id, ...extra] = segments;
    if (groups !== 'groups') return { operation: 'unknown' };
    if (workspace === undefined) return { operation: method === 'GET' ? 'listGroups' : 'unknown' };
    if (datasetsLiteral !== 'datasets') return { operation: 'unknown', workspace };
    if (dataset === undefined) return { operation: method === 'GET' ? 'listDatasets' : 'unknown', workspace };
    if (collection === 'refreshes' && extra.length === 0) {
      if (id === undefined) return { operation: method === 'POST' ? 'submitRefresh' : method === 'GET' ? 'listRefreshes' : 'unknown', workspace, dataset };
      return { operation: method === 'GET' ? 'getRefresh' : method === 'DELETE' ? 'cancelRefresh' : 'unknown', workspace, dataset, id };
    }
    if (collection === 'queryScaleOut' && extra.length === 0) {
      if (id === 'sync') return { operation: method === 'POST' ? 'submitSync' : 'unknown', workspace, dataset };
      if (id === 'syncStatus') return { operation: method === 'GET' ? 'getSync' : 'unknown', workspace, dataset };
    }
    return { operation: 'unknown', workspace, dataset };
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { method, path, queryText, body } = await readRequest(req);
    if (isControlPath(path)) return writeControlAnswer(res, control(method, path, body));
    const requestId = randomUUID();
    const entry = log.add({ method, path, query: queryText, body, operation: 'unknown', status: 0, at: clock.now(), authorized: false });

    let segments: string[] | undefined;
    if (path === API_BASE_PATH || path.startsWith(`${API_BASE_PATH}/`)) {
      try {
        segments = path.slice(API_BASE_PATH.length).split('/').slice(1).map((segment) => decodeURIComponent(segment));
      } catch {
        segments = undefined;
      }
    }
    const route = segments === undefined ? { operation: 'unknown' as const } : classify(method, segments);
    entry.operation = route.operation;
    entry.workspace = route.workspace?.toLowerCase();
    entry.dataset = route.dataset?.toLowerCase();

    const check = verifyBearer(issuer, req.headers.authorization, POWERBI_AUDIENCE);
    entry.authorized = check.ok;

    const { send, drop } = responder(req, res, entry, log, {
      requestid: requestId,
      'cache-control': 'no-store, must-revalidate, no-cache',
      pragma: 'no-cache',
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'home-cluster-uri': 'https://wabi-emulator-primary-redirect.analysis.windows.net/',
    });
    const unauthorized = (code: string, message: string): Answer => ({
      status: 401,
      headers: { 'www-authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="invalid_token"' },
      body: { error: { code, message } },
    });

    const outcome = await applyFault(takeFault(route.operation, entry.dataset), req, { send, drop }, {
      statusAnswer: (fault: PowerBiStatusFault): Answer => {
        if (fault.status === 429) {
          // The body and headers of a real 429 (quoted in full in RuiRomano/pbimonitor issue 58).
          const seconds = fault.retryAfterSeconds ?? 30;
          return { status: 429, headers: { 'retry-after': String(seconds) }, body: { message: `You have exceeded the amount of requests allowed in the current time frame and further requests will fail. Retry in ${seconds} seconds.` } };
        }
        return error(fault.status, 'ServiceUnavailable', 'The service is temporarily unavailable.');
      },
      expiredToken: () => unauthorized('TokenExpired', 'Access token has expired, resubmit with a new access token'),
    });
    if (outcome === 'done') return;
    const { omitLocation, resetAfterProcessing } = outcome;

    if (!check.ok) {
      return send(check.reason === 'token expired' ? unauthorized('TokenExpired', 'Access token has expired, resubmit with a new access token') : unauthorized('PowerBINotAuthorizedException', `Authentication failed: ${check.reason}.`));
    }
    // A service principal the tenant does not let use the APIs, or one whose app registration has
    // admin-consented Power BI permissions, is refused before anything is looked at.
    if (!servicePrincipalsAllowed && check.claims.idtyp === 'app') return send(unauthorized('PowerBINotAuthorizedException', 'The service principal is not allowed to use the Power BI APIs in this tenant.'));
    if (route.operation === 'unknown' && route.workspace === undefined) return send(error(404, 'NotFound', 'No HTTP resource was found that matches the request URI.'));
    const principal = check.claims.appid;
    if (route.operation === 'listGroups') {
      let visible = [...workspaces.values()].filter((workspace) => workspace.roles.has(principal));
      try {
        const query = new URLSearchParams(queryText);
        const filter = query.get('$filter');
        if (filter !== null) {
          const matches = parseGroupFilter(filter);
          visible = visible.filter((workspace) => matches(workspace.name));
        }
        const count = (name: '$top' | '$skip'): number | undefined => {
          const text = query.get(name);
          if (text === null) return undefined;
          if (!/^\d+$/.test(text) || (name === '$top' && Number(text) < 1)) throw new RequestProblem(`${name} must be a ${name === '$top' ? 'positive' : 'non-negative'} integer, not '${text.slice(0, 32)}'.`);
          return Number(text);
        };
        const skip = count('$skip') ?? 0;
        const top = count('$top');
        visible = visible.slice(skip, top === undefined ? undefined : skip + top);
      } catch (problem) {
        if (problem instanceof RequestProblem) return send(error(400, 'InvalidRequest', problem.message));
        throw problem;
      }
      return send({
        status: 200,
        body: {
          '@odata.context': `https://${host}${API_BASE_PATH}/$metadata#groups`,
          value: visible.map((workspace) => ({ id: workspace.id, isReadOnly: false, isOnDedicatedCapacity: true, capacityId: workspace.capacityId, defaultDatasetStorageFormat: 'Small', type: 'Workspace', name: workspace.name })),
        },
      });
    }
    const workspaceId = route.workspace ?? '';
    if (!GUID.test(workspaceId) || (route.dataset !== undefined && !GUID.test(route.dataset))) return send(error(404, 'NotFound', 'No HTTP resource was found that matches the request URI.'));
    const workspace = workspaces.get(workspaceId.toLowerCase());
    const role = workspace?.roles.get(principal);
    // A workspace the caller holds no role in looks the same as one that does not exist.
    if (workspace === undefined || role === undefined) return send(notAuthorized());
    if (route.operation === 'unknown') return send(error(404, 'NotFound', 'No HTTP resource was found that matches the request URI.'));
    const changesTheModel = route.operation === 'submitRefresh' || route.operation === 'cancelRefresh' || route.operation === 'submitSync';
    if (changesTheModel && !WRITE_ROLES.has(role)) return send(notAuthorized());
    const dataset = route.dataset === undefined ? undefined : workspace.datasets.get(route.dataset.toLowerCase());
    const answer = handle(route.operation, workspace, dataset, route.id, new URLSearchParams(queryText), body, check.claims, requestId);
    if (resetAfterProcessing) return drop();
    if (omitLocation && answer.headers !== undefined) {
      delete answer.headers.location;
      delete answer.headers['x-ms-request-id'];
    }
    send(answer);
  }

  function target(options: PowerBiScenarioOptions): { workspace: WorkspaceState; dataset: DatasetState } {
    const all = [...workspaces.values()];
    const workspace = options.workspace === undefined ? all[0] : all.find((candidate) => candidate.id === options.workspace?.toLowerCase() || candidate.name === options.workspace);
    if (workspace === undefined) throw new Error(`no workspace "${options.workspace ?? ''}"`);
    const inWorkspace = [...workspace.datasets.values()];
    const dataset = options.dataset === undefined ? inWorkspace[0] : inWorkspace.find((candidate) => candidate.id === options.dataset?.toLowerCase() || candidate.name === options.dataset);
    if (dataset === undefined) throw new Error(`no semantic model "${options.dataset ?? ''}" in workspace "${workspace.name}"`);
    return { workspace, dataset };
  }

  function startOutside(dataset: DatasetState, durationMs: number, refreshType: RefreshType): string {
    const now = clock.now();
    if (dataset.model.refreshes.some((record) => isActive(record, now))) throw new Error(`a refresh is already running on ${dataset.name}`);
    const record = planOutsideRefresh(dataset.model, now, durationMs);
    dataset.model.refreshes.unshift(record);
    dataset.historyIds.set(record.id, nextHistoryId++);
    dataset.refreshTypes.set(record.id, refreshType);
    return record.id;
  }

  function applyScenario(name: PowerBiScenarioName, options: PowerBiScenarioOptions = {}): string {
    const { workspace, dataset } = target(options);
    const where = `${workspace.name}/${dataset.name}`;
    switch (name) {
      case 'fail-table':
        return `table ${failTableForever(dataset.model, where, options.table)} of ${where} now fails on every attempt`;
      case 'slow-refresh': {
        const durationMs = (options.durationSeconds ?? 3600) * 1000;
        slowEveryTable(dataset.model, durationMs);
        return `every partition of ${where} now takes ${durationMs / 1000} s`;
      }
      case 'throttle': {
        const times = options.times ?? 3;
        const retryAfterSeconds = options.retryAfterSeconds ?? 20;
        faults.add({ operation: 'any', dataset: dataset.id, times, fault: { status: 429, retryAfterSeconds } });
        return `the next ${times} Power BI calls for ${where} answer 429 with Retry-After: ${retryAfterSeconds}`;
      }
      case 'fail-sync':
        dataset.syncFails = true;
        return `read-only replicas of ${where} no longer catch up`;
      case 'manual-sync':
        dataset.autoSync = false;
        return `${where} no longer syncs its read-only replicas by itself`;
      case 'busy': {
        const durationMs = (options.durationSeconds ?? 600) * 1000;
        startOutside(dataset, durationMs, 'Scheduled');
        return `a scheduled refresh of ${where} now runs for ${durationMs / 1000} s`;
      }
      case 'no-location': {
        const times = options.times ?? 1;
        faults.add({ operation: 'submitRefresh', dataset: dataset.id, times, fault: { kind: 'omitLocation' } });
        return `the next ${times} refresh POSTs for ${where} answer 202 without Location and x-ms-request-id`;
      }
      case 'sp-not-allowed':
        servicePrincipalsAllowed = false;
        return 'service principals may no longer use the Power BI APIs';
      case 'no-role':
        for (const principal of [...workspace.roles.keys()]) workspace.roles.delete(principal);
        return `no service principal holds a role in ${workspace.name} any more`;
    }
  }

  function reset(): void {
    faults.clear();
    defaultDurationMs = initialDefaultDurationMs;
    syncDurationMs = DEFAULT_REPLICA_SYNC_MS;
    servicePrincipalsAllowed = true;
    enhancedRefreshTypeName = 'ViaEnhancedApi';
    for (const workspace of workspaces.values()) {
      workspace.roles = new Map(workspace.initialRoles);
      for (const dataset of workspace.datasets.values()) {
        resetModel(dataset.model, buildModel(dataset.name, [...dataset.initialTables.tables.values()]), clock.now());
        dataset.autoSync = dataset.initialAutoSync;
        dataset.syncFails = false;
      }
    }
  }

  function describe(): ReturnType<PowerBiEmulator['describe']> {
    return [...workspaces.values()].map((workspace) => ({ id: workspace.id, name: workspace.name, sku: workspace.sku, datasets: [...workspace.datasets.values()].map((dataset) => ({ id: dataset.id, name: dataset.name })) }));
  }

  function control(method: string, path: string, body: string): { status: number; body: unknown } {
    return controlRoute(
      {
        scenarioNames: POWERBI_SCENARIO_NAMES,
        describe: () => ({ scenarios: POWERBI_SCENARIO_NAMES.map((scenario) => ({ name: scenario, summary: POWERBI_SCENARIO_SUMMARIES[scenario] })), workspaces: describe() }),
        applyScenario: (name, options) => applyScenario(name as PowerBiScenarioName, parsePowerBiScenarioOptions(options)),
        reset,
      },
      method,
      path,
      body,
    );
  }

  const listening = await listenHttps(tls, options.port, onRequest, () => ({ error: { code: 'InternalServerError', message: 'An internal error occurred in the Power BI emulator.' } }));
  host = listening.host;

  return {
    url: `https://${host}`,
    apiBase: `https://${host}${API_BASE_PATH}`,
    host,
    ...requestHooks(log, faults),
    droppedRequestIds,
    countRequests: (operation, dataset) => requests.filter((entry) => (operation === 'any' || entry.operation === operation) && (dataset === undefined || entry.dataset === dataset.toLowerCase())).length,
    setTable: (datasetId, table, behaviour) => setTableBehaviour(requireDataset(datasetId).model, table, behaviour),
    setRole: (workspaceId, principalId, role) => {
      const workspace = requireWorkspace(workspaceId);
      if (role === undefined) workspace.roles.delete(principalId);
      else workspace.roles.set(principalId, role);
    },
    startOutsideRefresh: (datasetId, { durationMs, refreshType = 'Scheduled' }) => startOutside(requireDataset(datasetId), durationMs, refreshType),
    setAutoSync: (datasetId, autoSync) => {
      requireDataset(datasetId).autoSync = autoSync;
    },
    setSyncFails: (datasetId, fails) => {
      requireDataset(datasetId).syncFails = fails;
    },
    setSyncDurationMs: (ms) => {
      syncDurationMs = ms;
    },
    setNotStartedMs: (datasetId, ms) => {
      requireDataset(datasetId).model.notStartedMs = ms;
    },
    setDefaultDurationMs: (ms) => {
      defaultDurationMs = ms;
    },
    setEnhancedRefreshTypeName: (name) => {
      enhancedRefreshTypeName = name;
    },
    applyScenario,
    reset,
    refreshes: (datasetId) => {
      const dataset = requireDataset(datasetId);
      return dataset.model.refreshes.map((record) => ({ ...viewRefresh(record, clock.now()), refreshType: refreshTypeOf(dataset, record) }));
    },
    activeRefresh: (datasetId) => {
      const dataset = requireDataset(datasetId);
      const record = [...dataset.model.refreshes].sort((a, b) => a.submittedAt - b.submittedAt).find((candidate) => isActive(candidate, clock.now()));
      return record === undefined ? undefined : { ...viewRefresh(record, clock.now()), refreshType: refreshTypeOf(dataset, record) };
    },
    forgetRefreshes: (datasetId) => {
      const dataset = requireDataset(datasetId);
      dataset.model.refreshes = [];
      dataset.explicitSyncs = [];
    },
    describe,
    close: () => listening.close(),
  };
}
