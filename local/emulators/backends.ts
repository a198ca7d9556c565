import type { AasEmulator, EmulatedOperation, Fault, RequestLogEntry } from './aas';
import type { RefreshView, TableBehaviour } from './engine/refreshEngine';
import type { PowerBiEmulator, PowerBiFault, PowerBiRequestLogEntry } from './powerbi';

/**
 * One way for a suite to drive either emulated service, so that the end-to-end, fault, crash and
 * load suites are parametrised by backend instead of copied. Models are named as in the AAS
 * description the suite passed to startEmulators (`server`, `model`); on Power BI they are the
 * mirrored workspace (named like the server) and semantic model (named like the model).
 */
export type BackendKind = 'aas' | 'powerbi';

/** The operations both services have, by the same names. */
export type BackendOperation = EmulatedOperation;

/** The faults both emulators inject alike. */
export type BackendFault = Extract<Fault, PowerBiFault>;

export interface BackendRequestLogEntry {
  method: string;
  path: string;
  operation: BackendOperation | 'unknown';
  /** The model's name (AAS model, or the semantic model's name on Power BI). */
  model?: string;
  status: number;
  at: number;
  authorized: boolean;
}

export interface BackendEmulator {
  readonly kind: BackendKind;
  /** `127.0.0.1:<port>`, for the app's host allow-list of this backend. */
  readonly host: string;
  /** The fields of an app request that name this model: AAS `{ server, model }`, Power BI `{ workspace, semanticModel }`. */
  target(model: string, server?: string): Record<string, string>;
  /** The request log with model names; a fresh copy on each read. */
  readonly requests: BackendRequestLogEntry[];
  countRequests(operation: BackendOperation | 'any', model?: string): number;
  inject(spec: { operation?: BackendOperation | 'any'; model?: string; times?: number; fault: BackendFault }): void;
  clearFaults(): void;
  holdAnswers(gate: ((entry: BackendRequestLogEntry) => Promise<void> | undefined) | undefined): void;
  onRequest(listener: ((entry: BackendRequestLogEntry) => void) | undefined): void;
  setTable(server: string, model: string, table: string, behaviour: TableBehaviour): void;
  /** Someone else's refresh of the whole model (Power BI: a scheduled refresh): a submit is refused until it ends. */
  startOutsideRefresh(server: string, model: string, options: { durationMs: number }): string;
  setNotStartedMs(server: string, model: string, ms: number | undefined): void;
  setDefaultDurationMs(ms: number): void;
  forgetRefreshes(server: string, model: string): void;
  activeRefresh(server: string, model: string): RefreshView | undefined;
  refreshes(server: string, model: string): RefreshView[];
  reset(): void;
}

export function aasBackend(aas: AasEmulator): BackendEmulator {
  const entry = (logged: RequestLogEntry): BackendRequestLogEntry => ({ method: logged.method, path: logged.path, operation: logged.operation, model: logged.model, status: logged.status, at: logged.at, authorized: logged.authorized });
  return {
    kind: 'aas',
    host: aas.host,
    target: (model, server = 'myserver') => ({ server: aas.serverName(server), model }),
    get requests() {
      return aas.requests.map(entry);
    },
    countRequests: (operation, model) => aas.countRequests(operation, model),
    inject: (spec) => aas.inject(spec),
    clearFaults: () => aas.clearFaults(),
    holdAnswers: (gate) => aas.holdAnswers(gate === undefined ? undefined : (logged) => gate(entry(logged))),
    onRequest: (listener) => aas.onRequest(listener === undefined ? undefined : (logged) => listener(entry(logged))),
    setTable: (server, model, table, behaviour) => aas.setTable(server, model, table, behaviour),
    startOutsideRefresh: (server, model, options) => aas.startOutsideRefresh(server, model, options),
    setNotStartedMs: (server, model, ms) => aas.setNotStartedMs(server, model, ms),
    setDefaultDurationMs: (ms) => aas.setDefaultDurationMs(ms),
    forgetRefreshes: (server, model) => aas.forgetRefreshes(server, model),
    activeRefresh: (server, model) => aas.activeRefresh(server, model),
    refreshes: (server, model) => aas.refreshes(server, model),
    reset: () => aas.reset(),
  };
}

export function powerBiBackend(powerbi: PowerBiEmulator): BackendEmulator {
  const layout = () => powerbi.describe();
  const datasetId = (server: string, model: string): string => {
    const workspace = layout().find((candidate) => candidate.name.toLowerCase() === server.toLowerCase());
    const dataset = workspace?.datasets.find((candidate) => candidate.name === model);
    if (dataset === undefined) throw new Error(`Power BI emulator: no semantic model "${model}" in a workspace named "${server}"`);
    return dataset.id;
  };
  /** The first semantic model of that name in any workspace (fault specs name the model only, as on AAS). */
  const anyDatasetId = (model: string): string => {
    const dataset = layout().flatMap((workspace) => workspace.datasets).find((candidate) => candidate.name === model);
    if (dataset === undefined) throw new Error(`Power BI emulator: no semantic model "${model}"`);
    return dataset.id;
  };
  const names = (): Map<string, string> => new Map(layout().flatMap((workspace) => workspace.datasets.map((dataset) => [dataset.id, dataset.name] as const)));
  const entry = (logged: PowerBiRequestLogEntry, nameOf = names()): BackendRequestLogEntry => ({
    method: logged.method,
    path: logged.path,
    operation: logged.operation === 'listGroups' || logged.operation === 'listDatasets' ? 'unknown' : logged.operation,
    model: logged.dataset === undefined ? undefined : nameOf.get(logged.dataset),
    status: logged.status,
    at: logged.at,
    authorized: logged.authorized,
  });
  return {
    kind: 'powerbi',
    host: powerbi.host,
    target: (model, server = 'myserver') => ({ workspace: layout().find((candidate) => candidate.name.toLowerCase() === server.toLowerCase())?.name ?? server, semanticModel: model }),
    get requests() {
      const nameOf = names();
      return powerbi.requests.map((logged) => entry(logged, nameOf));
    },
    countRequests: (operation, model) => powerbi.countRequests(operation, model === undefined ? undefined : anyDatasetId(model)),
    inject: ({ model, ...spec }) => powerbi.inject({ ...spec, ...(model === undefined ? {} : { dataset: anyDatasetId(model) }) }),
    clearFaults: () => powerbi.clearFaults(),
    holdAnswers: (gate) => powerbi.holdAnswers(gate === undefined ? undefined : (logged) => gate(entry(logged))),
    onRequest: (listener) => powerbi.onRequest(listener === undefined ? undefined : (logged) => listener(entry(logged))),
    setTable: (server, model, table, behaviour) => powerbi.setTable(datasetId(server, model), table, behaviour),
    startOutsideRefresh: (server, model, { durationMs }) => powerbi.startOutsideRefresh(datasetId(server, model), { durationMs }),
    setNotStartedMs: (server, model, ms) => powerbi.setNotStartedMs(datasetId(server, model), ms),
    setDefaultDurationMs: (ms) => powerbi.setDefaultDurationMs(ms),
    forgetRefreshes: (server, model) => powerbi.forgetRefreshes(datasetId(server, model)),
    activeRefresh: (server, model) => powerbi.activeRefresh(datasetId(server, model)),
    refreshes: (server, model) => powerbi.refreshes(datasetId(server, model)),
    reset: () => powerbi.reset(),
  };
}
