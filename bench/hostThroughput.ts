import { EventType } from '../local/durable-host/engine';
import type { EmulatorModelDescription } from '../local/emulators/aas';
import { BENCH_SERVER, executionHistories, startBenchApp } from './appOnHost';
import { formatSeconds, mean, percentile, table } from './stats';

/**
 * Benchmark 3 of issue 7: the local durable host's throughput with the real app (compiled
 * production entry) under the virtual clock: 1,000 runs across 100 models.
 *
 * AAS runs one refresh per model at a time, so the runs go in 10 rounds of 100: each round posts
 * one run per model (POST /api/refreshes over loopback, all 100 at once), then lets the host run
 * until idle (virtual time jumps to the next durable timer) and checks every run of the round
 * ended. Each run is the default request: a full refresh of the whole model (3 tables, 5
 * partitions, longest 120 s, so 2 s queued + 120 s) followed by the replica sync (20 s).
 * Everything is in this process: the host (in-memory SQLite), the app, and both emulators.
 */

export const MODELS = 100;
export const ROUNDS = 10;
export const RUNS = MODELS * ROUNDS;

const modelName = (index: number) => `Model${String(index).padStart(3, '0')}`;

/** The same shape as test/support/appStack.ts testModels: a small star schema per model. */
export function throughputModels(count = MODELS): EmulatorModelDescription {
  return {
    servers: [
      {
        name: BENCH_SERVER,
        models: Array.from({ length: count }, (_, i) => ({
          name: modelName(i + 1),
          tables: [
            { name: 'DimCustomer', durationMs: 60_000 },
            { name: 'DimDate', durationMs: 10_000 },
            { name: 'FactSales', durationMs: 120_000, partitions: ['FactSales 2024', 'FactSales 2025', 'FactSales 2026'] },
          ],
        })),
      },
    ],
  };
}

export interface ThroughputReport {
  runs: number;
  outcomes: Record<string, number>;
  wallMs: number;
  roundWallMs: number[];
  submitMs: number[];
  activities: number;
  replays: number;
  historyEvents: number;
  executions: number;
  aasRequests: number;
  peakRssBytes: number;
  rssBeforeBytes: number;
  virtualMs: number;
}

export async function measureHostThroughput(): Promise<ThroughputReport> {
  const rssBeforeBytes = process.memoryUsage().rss;
  const app = await startBenchApp(throughputModels());
  try {
    app.host.engine.recordReplayCosts = true;
    const ids: string[] = [];
    const roundWallMs: number[] = [];
    const submitMs: number[] = [];
    const virtualStart = app.clock.now();
    const started = performance.now();
    for (let round = 0; round < ROUNDS; round += 1) {
      const roundStarted = performance.now();
      const roundIds = await Promise.all(Array.from({ length: MODELS }, (_, i) => app.start({ server: app.server, model: modelName(i + 1) })));
      submitMs.push(performance.now() - roundStarted);
      await app.host.runUntilIdle({ maxVirtualMs: 24 * 3600 * 1000 });
      roundWallMs.push(performance.now() - roundStarted);
      ids.push(...roundIds);
    }
    const wallMs = performance.now() - started;
    const virtualMs = app.clock.now() - virtualStart;

    const outcomes: Record<string, number> = {};
    let activities = 0;
    let historyEvents = 0;
    let executions = 0;
    for (const id of ids) {
      const view = await app.run(id);
      outcomes[view.status] = (outcomes[view.status] ?? 0) + 1;
      const histories = executionHistories(app.host, id);
      executions += histories.length;
      for (const events of histories) {
        historyEvents += events.length;
        activities += events.filter((event) => event.EventType === EventType.TaskCompleted || event.EventType === EventType.TaskFailed).length;
      }
    }
    if (ids.length !== RUNS || new Set(ids).size !== RUNS) throw new Error(`expected ${RUNS} distinct runs, got ${new Set(ids).size} of ${ids.length}`);
    return {
      runs: ids.length,
      outcomes,
      wallMs,
      roundWallMs,
      submitMs,
      activities,
      replays: app.host.engine.replayCosts.length,
      historyEvents,
      executions,
      aasRequests: app.emulators.aas.countRequests('any'),
      // maxRSS is in kilobytes (whole process: host, app, emulators).
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      rssBeforeBytes,
      virtualMs,
    };
  } finally {
    await app.stop();
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const rate = (count: number, ms: number) => (count / (ms / 1000)).toFixed(0);

export async function runHostThroughput(): Promise<ThroughputReport> {
  const report = await measureHostThroughput();
  console.log('Local durable host throughput (issue 7, benchmark 3)');
  console.log(
    `The real app (dist/src/index.js) on the local durable host (in-memory SQLite), virtual clock, AAS + identity emulators, all in one process. ${RUNS} runs across ${MODELS} models: ${ROUNDS} rounds of ${MODELS} (one run per model per round, since AAS runs one refresh per model at a time); each round posts its ${MODELS} runs at once over loopback, then the host runs until idle. Each run: full refresh of the whole model (2 s queued + 120 s) then replica sync (20 s), app default polling.\n`,
  );
  const ended = Object.entries(report.outcomes)
    .map(([status, count]) => `${status} ${count}`)
    .join(', ');
  console.log(
    table([
      ['measure', 'value'],
      ['runs', `${report.runs} (${ended})`],
      ['wall time', formatSeconds(report.wallMs)],
      ['runs/s', rate(report.runs, report.wallMs)],
      ['activities (completed or failed)', `${report.activities} (${(report.activities / report.runs).toFixed(1)} per run)`],
      ['activities/s', rate(report.activities, report.wallMs)],
      ['orchestrator replays', `${report.replays} (${(report.replays / report.runs).toFixed(1)} per run)`],
      ['replays/s', rate(report.replays, report.wallMs)],
      ['executions', `${report.executions}`],
      ['history events', `${report.historyEvents} (${(report.historyEvents / report.runs).toFixed(1)} per run)`],
      ['AAS requests (emulator)', `${report.aasRequests}`],
      ['round wall time mean / p95 / max', `${formatSeconds(mean(report.roundWallMs))} / ${formatSeconds(percentile(report.roundWallMs, 95))} / ${formatSeconds(Math.max(...report.roundWallMs))}`],
      ['posting 100 runs (per round) mean / max', `${formatSeconds(mean(report.submitMs))} / ${formatSeconds(Math.max(...report.submitMs))}`],
      ['virtual time covered', formatSeconds(report.virtualMs)],
      ['peak RSS (process.resourceUsage().maxRSS)', `${mib(report.peakRssBytes)} (RSS before the stack started: ${mib(report.rssBeforeBytes)})`],
    ]),
  );
  const succeeded = report.outcomes.succeeded ?? 0;
  console.log(`\nAll ${report.runs} runs succeeded: ${succeeded === report.runs ? 'yes' : `NO (${ended})`}. No timing target in the issue for this benchmark; figures only.`);
  if (succeeded !== report.runs) throw new Error(`only ${succeeded} of ${report.runs} runs succeeded (${ended}): the measurement is broken`);
  return report;
}

if (require.main === module) {
  runHostThroughput().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
