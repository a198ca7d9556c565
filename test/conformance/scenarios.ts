/**
 * The conformance scenarios: each drives the app through its own HTTP API on one engine and
 * returns what a user would see (outcome) plus the history event types of the last execution.
 */
import type { RunView } from '../../src/api/runView';
import { SAMPLE_MODEL } from '../../local/emulators/aas';
import { ENDED, SAMPLE_COPY_SERVER, waitForRun, type Engine, type Observation, type Shared } from './harness';

export interface Scenario {
  name: string;
  /** Real time this scenario may take on one engine. */
  timeoutMs: number;
  run(engine: Engine, shared: Shared, model: string): Promise<Observation>;
}

const SERVER = 'myserver';
const shortTables = (shared: Shared, model: string, ms: number): void => {
  for (const table of ['DimCustomer', 'DimDate', 'FactSales']) shared.emulators.aas.setTable(SERVER, model, table, { durationMs: ms });
  shared.emulators.aas.setSyncBehaviour(SERVER, model, { durationMs: 1000 });
};

async function start(engine: Engine, body: Record<string, unknown>): Promise<string> {
  const answer = await engine.api('POST', 'refreshes', body);
  if (answer.status !== 202) throw new Error(`[${engine.kind}] POST /refreshes answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return (answer.body as { id: string }).id;
}

async function observe(engine: Engine, shared: Shared, model: string, id: string, view: RunView, extra: Record<string, unknown> = {}): Promise<Observation> {
  const durable = await engine.durableStatus(id);
  const aas = shared.emulators.aas;
  const custom = (durable.raw.output ?? durable.raw.customStatus) as { executions?: number } | undefined;
  return {
    outcome: {
      status: view.status,
      errorCode: view.error?.code ?? null,
      aasStatus: view.aasStatus ?? null,
      syncState: view.syncState ?? null,
      objects: view.objects.map((o) => `${o.table}/${o.partition ?? ''}:${o.status}`).sort(),
      runtimeStatus: durable.runtimeStatus,
      aasSubmitRefresh: aas.countRequests('submitRefresh', model),
      aasCancelRefresh: aas.countRequests('cancelRefresh', model),
      aasSubmitSync: aas.countRequests('submitSync', model),
      ...extra,
    },
    historyTypes: durable.historyTypes,
    statusCalls: view.statusCalls,
    executions: custom?.executions,
    timerDelaysMs: durable.timerDelaysMs,
  };
}

const server = (shared: Shared): string => shared.emulators.aas.serverName(SERVER);

export const SCENARIOS: Scenario[] = [
  {
    name: 'sample model: whole-model refresh and sync',
    timeoutMs: 150_000,
    async run(engine, shared) {
      // The sample model (AdventureWorks, 8 tables, 13 partitions) with seconds instead of minutes.
      const serverName = engine.kind === 'local' ? SERVER : SAMPLE_COPY_SERVER;
      const sample = SAMPLE_MODEL.servers[0]?.models[0];
      if (!sample) throw new Error('the emulator has no sample model');
      for (const table of sample.tables) shared.emulators.aas.setTable(serverName, sample.name, table.name, { durationMs: 2000 });
      shared.emulators.aas.setSyncBehaviour(serverName, sample.name, { durationMs: 2000 });
      const startedAt = Date.now();
      const id = await start(engine, { server: shared.emulators.aas.serverName(serverName), model: sample.name, type: 'full', sync: true });
      const view = await waitForRun(engine, id, (v) => ENDED.has(v.status), 140_000);
      const durable = await engine.durableStatus(id);
      const refreshes = shared.emulators.aas.refreshes(serverName, sample.name).filter((r) => r.startTime >= startedAt);
      return {
        outcome: {
          status: view.status,
          errorCode: view.error?.code ?? null,
          aasStatus: view.aasStatus ?? null,
          syncState: view.syncState ?? null,
          objectCounts: view.objectCounts,
          runtimeStatus: durable.runtimeStatus,
          aasRefreshes: refreshes.length,
          aasRefreshStatus: refreshes.map((r) => r.status),
        },
        historyTypes: durable.historyTypes,
        statusCalls: view.statusCalls,
      };
    },
  },
  {
    name: 'refresh and sync',
    timeoutMs: 120_000,
    async run(engine, shared, model) {
      shortTables(shared, model, 2000);
      const id = await start(engine, { server: server(shared), model, type: 'full', sync: true });
      const view = await waitForRun(engine, id, (v) => ENDED.has(v.status), 110_000);
      // How the status API writes history: compared here once, not in every scenario.
      return observe(engine, shared, model, id, view, { historyFormat: (await engine.durableStatus(id)).historyFormat });
    },
  },
  {
    name: 'cancel mid-poll',
    timeoutMs: 120_000,
    async run(engine, shared, model) {
      shortTables(shared, model, 600_000);
      const id = await start(engine, { server: server(shared), model, type: 'full', sync: true });
      await waitForRun(engine, id, (v) => v.status === 'refreshing' && v.statusCalls >= 2 && v.objects.some((o) => o.status === 'inProgress'), 60_000);
      const cancel = await engine.api('DELETE', `refreshes/${id}`);
      const view = await waitForRun(engine, id, (v) => ENDED.has(v.status), 60_000);
      return observe(engine, shared, model, id, view, { cancelAnswer: cancel.status });
    },
  },
  {
    name: 'continueAsNew after 20 polls',
    timeoutMs: 240_000,
    async run(engine, shared, model) {
      // 120 s of refresh polled every 2 s (each poll up to ~1 s later: src/orchestration/durableTimer.ts,
      // plus the real engine's queue latency, 3-4 s a cycle there on a loaded machine; 50 s left it
      // at 20 polls): past MAX_POLLS_PER_EXECUTION (20), so at least one continueAsNew.
      shortTables(shared, model, 120_000);
      const id = await start(engine, { server: server(shared), model, type: 'full', sync: false });
      const view = await waitForRun(engine, id, (v) => ENDED.has(v.status), 230_000);
      const executions = ((await engine.durableStatus(id)).raw.output as { executions?: number } | undefined)?.executions ?? 0;
      // Status calls closer together than the configured 2 s (10 % slack), as AAS saw them.
      const at = shared.emulators.aas.requests.filter((r) => r.operation === 'getRefresh' && r.model === model).map((r) => r.at);
      const pollsSoonerThanInterval = at.some((t, i) => i > 0 && t - (at[i - 1] as number) < 1800);
      return observe(engine, shared, model, id, view, { moreThan20StatusCalls: view.statusCalls > 20, continuedAsNew: executions > 1, pollsSoonerThanInterval });
    },
  },
  {
    name: 'busy model waited out',
    timeoutMs: 120_000,
    async run(engine, shared, model) {
      shortTables(shared, model, 1000);
      shared.emulators.aas.startOutsideRefresh(SERVER, model, { durationMs: 6000 });
      const id = await start(engine, { server: server(shared), model, type: 'full', sync: false, onConflict: 'wait' });
      let sawWaiting = false;
      const view = await waitForRun(engine, id, (v) => {
        sawWaiting ||= v.status === 'waiting';
        return ENDED.has(v.status);
      }, 110_000);
      return observe(engine, shared, model, id, view, { sawWaiting });
    },
  },
  {
    name: 'crash and resume',
    timeoutMs: 240_000,
    async run(engine, shared, model) {
      shortTables(shared, model, 15_000);
      const id = await start(engine, { server: server(shared), model, type: 'full', sync: true });
      await waitForRun(engine, id, (v) => v.status === 'refreshing' && v.refreshId !== undefined, 60_000);
      await engine.crashAndRestart();
      const view = await waitForRun(engine, id, (v) => ENDED.has(v.status), 170_000);
      return observe(engine, shared, model, id, view);
    },
  },
  {
    name: 'refresh fails',
    timeoutMs: 120_000,
    async run(engine, shared, model) {
      shortTables(shared, model, 1000);
      shared.emulators.aas.setTable(SERVER, model, 'DimDate', { durationMs: 1000, failAttempts: 5, failMessage: 'The column Date has a duplicate value 2026-01-01.' });
      const id = await start(engine, { server: server(shared), model, type: 'full', sync: true });
      const view = await waitForRun(engine, id, (v) => ENDED.has(v.status), 110_000);
      return observe(engine, shared, model, id, view, { errorMentionsAas: view.error?.message.includes('duplicate value 2026-01-01') ?? false });
    },
  },
  {
    name: 'transient AAS errors on status polls',
    timeoutMs: 120_000,
    async run(engine, shared, model) {
      shortTables(shared, model, 6000);
      shared.emulators.aas.inject({ operation: 'getRefresh', model, times: 2, fault: { status: 503 } });
      const id = await start(engine, { server: server(shared), model, type: 'full', sync: false });
      const view = await waitForRun(engine, id, (v) => ENDED.has(v.status), 110_000);
      const failedPolls = shared.emulators.aas.requests.filter((r) => r.operation === 'getRefresh' && r.model === model && r.status === 503).length;
      return observe(engine, shared, model, id, view, { failedPolls });
    },
  },
  {
    name: 'run times out',
    timeoutMs: 150_000,
    async run(engine, shared, model) {
      shortTables(shared, model, 600_000);
      const id = await start(engine, { server: server(shared), model, type: 'full', sync: true, timeout: 'PT1M' });
      const view = await waitForRun(engine, id, (v) => ENDED.has(v.status), 140_000);
      return observe(engine, shared, model, id, view);
    },
  },
  {
    name: 'callback',
    timeoutMs: 120_000,
    async run(engine, shared, model) {
      shortTables(shared, model, 1000);
      const callbackUrl = `${shared.callbackUrl}/${engine.kind}`;
      const id = await start(engine, { server: server(shared), model, type: 'full', sync: false, callbackUrl });
      const view = await waitForRun(engine, id, (v) => ENDED.has(v.status) && v.callback !== undefined, 110_000);
      const received = shared.callbacks.filter((c) => c.path === `/callback/${engine.kind}`);
      return observe(engine, shared, model, id, view, {
        callbacksReceived: received.length,
        // The body ADF expects: { Output, Error, StatusCode } (docs/adf.md).
        callbackStatus: (received[0]?.body as { Output?: { status?: string } } | undefined)?.Output?.status ?? null,
        callbackReport: view.callback === undefined ? null : Object.keys(view.callback).sort(),
      });
    },
  },
];
