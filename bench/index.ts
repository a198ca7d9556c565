import { runPollingEfficiency } from './pollingEfficiency';
import { runStartup } from './startup';

/**
 * `npm run bench`: the benchmarks of issue 7, one after another. Each prints its figures and its
 * targets as met or missed; none fails on a measured value, only on a broken measurement.
 *
 * The durable-host benchmarks (history size and replay cost per poll for 1 min/1 h/6 h/24 h
 * refreshes: bench/historySize.ts; host throughput of 1,000 runs across 100 models:
 * bench/hostThroughput.ts) join this list as entries of the same shape.
 */
export interface Benchmark {
  name: string;
  run: () => unknown;
}

export const BENCHMARKS: readonly Benchmark[] = [
  { name: 'polling efficiency', run: runPollingEfficiency },
  { name: 'start-up', run: runStartup },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const selected = only.length === 0 ? BENCHMARKS : BENCHMARKS.filter((benchmark) => only.includes(benchmark.name));
  for (const [index, benchmark] of selected.entries()) {
    if (index > 0) console.log(`\n${'='.repeat(100)}\n`);
    const started = process.hrtime.bigint();
    await benchmark.run();
    console.log(`\n(${benchmark.name}: ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s)`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
