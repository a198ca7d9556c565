import { EventType } from '../local/durable-host/engine';
import { loadConfig } from '../src/config/config';
import { FunctionNames } from '../src/orchestration/contracts';
import { MAX_POLLS_PER_EXECUTION } from '../src/orchestration/refreshOrchestrator';
import { executionHistories, oneTableModels, startBenchApp, type BenchApp } from './appOnHost';
import { formatSeconds, mean, percentile, table } from './stats';

/**
 * Benchmark 2 of issue 7: history size and replay cost per poll for refreshes of 1 min, 1 h, 6 h
 * and 24 h. The real app (compiled production entry) on the local durable host under the virtual
 * clock, against the emulators; one host and one app instance for all four (the app loads once per
 * process), one model per length, run one after another so that the host's per-replay cost samples
 * (engine.recordReplayCosts) belong to one run at a time. A warm-up run (1 min, not reported) goes
 * first so JIT compilation does not land on the first reported run's early polls.
 *
 * Early polls: the replays of the run's first execution (its first MAX_POLLS_PER_EXECUTION polls,
 * plus inspect and submit). Late polls: the replays of its last execution. With continueAsNew every
 * execution starts from a short history, so the target is late ≈ early.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const TARGETS = {
  maxEventsPerExecution: 200,
  /** "Flat per-poll cost": late polls' mean per-replay time at most this multiple of the early polls' (wall-clock noise allowance). */
  flatRatio: 1.5,
} as const;

export const CASES = [
  { label: '1 min', model: 'Refresh1m', durationMs: MINUTE, timeout: 'PT1H' },
  { label: '1 h', model: 'Refresh1h', durationMs: HOUR, timeout: 'PT3H' },
  { label: '6 h', model: 'Refresh6h', durationMs: 6 * HOUR, timeout: 'PT12H' },
  { label: '24 h', model: 'Refresh24h', durationMs: 24 * HOUR, timeout: 'P2D' },
] as const;
const WARM_UP = { label: 'warm-up', model: 'WarmUp', durationMs: MINUTE, timeout: 'PT1H' } as const;

type Case = (typeof CASES)[number] | typeof WARM_UP;

export interface ReplayStats {
  replays: number;
  meanMs: number;
  p95Ms: number;
}

export interface ExecutionFigures {
  events: number;
  replays: ReplayStats;
}

export interface HistoryCase {
  label: string;
  durationMs: number;
  status: string;
  /** GET refresh requests the AAS emulator answered for the model: what AAS bills and sees. */
  statusCalls: number;
  /** getRefreshStatus activities in the run's histories. */
  statusActivities: number;
  /** What the run itself reports (RunView.statusCalls). */
  reportedStatusCalls: number;
  executions: ExecutionFigures[];
  continueAsNew: number;
  maxEvents: number;
  meanEvents: number;
  /** Events the run would have had in one history without continueAsNew. */
  totalEvents: number;
  activities: number;
  /** From the refresh's end in AAS to the run's end. */
  detectionDelayMs: number;
  early: ReplayStats;
  late: ReplayStats;
  wallMs: number;
}

function replayStats(samples: readonly number[]): ReplayStats {
  return { replays: samples.length, meanMs: mean(samples), p95Ms: percentile(samples, 95) };
}

/** Splits one run's replay samples into executions: within an execution the history only grows. */
function splitByExecution(samples: readonly { historyLength: number; ms: number }[]): number[][] {
  const executions: number[][] = [];
  let previous = Number.POSITIVE_INFINITY;
  for (const sample of samples) {
    if (sample.historyLength < previous || executions.length === 0) executions.push([]);
    executions.at(-1)?.push(sample.ms);
    previous = sample.historyLength;
  }
  return executions;
}

async function measureCase(app: BenchApp, refreshCase: Case): Promise<HistoryCase> {
  const costs = app.host.engine.replayCosts;
  const firstSample = costs.length;
  const started = performance.now();
  const id = await app.start({ server: app.server, model: refreshCase.model, sync: false, timeout: refreshCase.timeout });
  await app.host.runUntilIdle({ maxVirtualMs: 3 * 24 * HOUR });
  const wallMs = performance.now() - started;
  const view = await app.run(id);
  if (view.status !== 'succeeded') throw new Error(`${refreshCase.label} run ${id} ended ${view.status}: ${view.error?.message ?? ''}`);

  const histories = executionHistories(app.host, id);
  const replaysByExecution = splitByExecution(costs.slice(firstSample));
  if (replaysByExecution.length !== histories.length) {
    throw new Error(`${refreshCase.label}: ${histories.length} executions in the history but ${replaysByExecution.length} in the replay samples`);
  }
  const executions = histories.map((events, index): ExecutionFigures => ({ events: events.length, replays: replayStats(replaysByExecution[index] ?? []) }));
  const eventCounts = executions.map((execution) => execution.events);
  const activities = histories.flat().filter((event) => event.EventType === EventType.TaskCompleted || event.EventType === EventType.TaskFailed).length;
  const refreshEnd = Date.parse(view.refreshEndTime ?? '');
  return {
    label: refreshCase.label,
    durationMs: refreshCase.durationMs,
    status: view.status,
    statusCalls: app.emulators.aas.countRequests('getRefresh', refreshCase.model),
    statusActivities: histories.flat().filter((event) => event.EventType === EventType.TaskScheduled && event.Name === FunctionNames.getRefreshStatus).length,
    reportedStatusCalls: view.statusCalls,
    executions,
    continueAsNew: histories.length - 1,
    maxEvents: Math.max(...eventCounts),
    meanEvents: mean(eventCounts),
    totalEvents: eventCounts.reduce((total, count) => total + count, 0),
    activities,
    detectionDelayMs: Date.parse(view.endedAt ?? '') - refreshEnd,
    early: replayStats(replaysByExecution[0] ?? []),
    late: replayStats(replaysByExecution.at(-1) ?? []),
    wallMs,
  };
}

export interface HistorySizeReport {
  minIntervalMs: number;
  maxIntervalMs: number;
  cases: HistoryCase[];
}

export async function measureHistorySize(): Promise<HistorySizeReport> {
  const app = await startBenchApp(oneTableModels([WARM_UP, ...CASES].map((c) => ({ name: c.model, durationMs: c.durationMs }))));
  try {
    app.host.engine.recordReplayCosts = true;
    await measureCase(app, WARM_UP);
    const cases: HistoryCase[] = [];
    for (const refreshCase of CASES) cases.push(await measureCase(app, refreshCase));
    const polling = loadConfig(process.env).polling;
    return { minIntervalMs: polling.minIntervalMs, maxIntervalMs: polling.maxIntervalMs, cases };
  } finally {
    await app.stop();
  }
}

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(3)} ms` : 'n/a');

export async function runHistorySize(): Promise<HistorySizeReport> {
  const report = await measureHistorySize();
  console.log('History size and replay cost per poll (issue 7, benchmark 2)');
  console.log(
    `The real app (dist/src/index.js) on the local durable host, virtual clock, AAS + identity emulators; one model of one table per length (refresh = 2 s queued + the length), whole-model full refresh, sync false, no earlier runs (no expected duration).`,
  );
  console.log(
    `Polling from app defaults: POLL_MIN_INTERVAL ${report.minIntervalMs / 1000} s, POLL_MAX_INTERVAL ${report.maxIntervalMs / 1000} s; continueAsNew every ${MAX_POLLS_PER_EXECUTION} polls. Replay time = the host's call into the orchestrator function (durable-functions replaying the history + the app's orchestrator code), recorded per replay. Early = replays of the first execution, late = of the last; a warm-up run went first.\n`,
  );
  const rows = report.cases.map((c) => [
    c.label,
    String(c.statusCalls),
    String(c.statusActivities),
    String(c.reportedStatusCalls),
    String(c.executions.length),
    String(c.continueAsNew),
    String(c.maxEvents),
    c.meanEvents.toFixed(1),
    String(c.totalEvents),
    String(c.activities),
    formatSeconds(c.detectionDelayMs),
    `${c.early.replays}`,
    ms(c.early.meanMs),
    ms(c.early.p95Ms),
    `${c.late.replays}`,
    ms(c.late.meanMs),
    ms(c.late.p95Ms),
    (c.late.meanMs / c.early.meanMs).toFixed(2),
    formatSeconds(c.wallMs),
  ]);
  console.log(
    table([
      ['refresh', 'status calls (AAS)', 'poll activities', 'run says', 'executions', 'continueAsNew', 'events/exec max', 'mean', 'events if one history', 'activities', 'detection delay', 'early replays', 'mean', 'p95', 'late replays', 'mean', 'p95', 'late/early', 'wall'],
      ...rows,
    ]),
  );

  const longest = report.cases.at(-1);
  if (longest !== undefined) {
    console.log(`\nPer execution, ${longest.label} refresh:`);
    console.log(
      table([
        ['execution', 'events', 'replays', 'mean replay', 'p95 replay'],
        ...longest.executions.map((execution, index) => [String(index + 1), String(execution.events), String(execution.replays.replays), ms(execution.replays.meanMs), ms(execution.replays.p95Ms)]),
      ]),
    );
  }

  const miscounted = report.cases.filter((c) => c.reportedStatusCalls !== c.statusCalls);
  if (miscounted.length > 0) {
    console.log(
      `\nNote: the run's own statusCalls differs from the status calls AAS answered for ${miscounted.map((c) => `${c.label} (${c.reportedStatusCalls} vs ${c.statusCalls})`).join(', ')}. The figures above use the AAS count.`,
    );
  }

  const maxEvents = Math.max(...report.cases.map((c) => c.maxEvents));
  const multi = report.cases.filter((c) => c.executions.length > 1);
  const worstRatio = Math.max(...multi.map((c) => c.late.meanMs / c.early.meanMs));
  const eventsMet = maxEvents <= TARGETS.maxEventsPerExecution;
  const flatMet = multi.length > 0 && worstRatio <= TARGETS.flatRatio;
  console.log('\nTargets (issue 7) — reported, never failed on:');
  console.log(`  [${eventsMet ? 'MET' : 'MISSED'}] at most ${TARGETS.maxEventsPerExecution} history events per execution: max ${maxEvents} (${report.cases.map((c) => `${c.label} ${c.maxEvents}`).join(', ')})`);
  console.log(
    `  [${flatMet ? 'MET' : 'MISSED'}] flat per-poll cost (late polls' mean per-replay time <= ${TARGETS.flatRatio}x the early polls'): worst late/early ${Number.isFinite(worstRatio) ? worstRatio.toFixed(2) : 'n/a'} (${multi.map((c) => `${c.label} ${ms(c.early.meanMs)} -> ${ms(c.late.meanMs)}`).join('; ')}; runs with one execution have no separate late polls)`,
  );
  return report;
}

if (require.main === module) {
  runHistorySize().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
