import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { runPollingEfficiency } from './pollingEfficiency';
import { runStartup } from './startup';

/**
 * `npm run bench`: the benchmarks of issue 7, one after another. Each prints its figures and its
 * targets as met or missed; none fails on a measured value, only on a broken measurement.
 *
 * The durable-host benchmarks (history size and replay cost per poll: bench/historySize.ts; host
 * throughput: bench/hostThroughput.ts) run the real app on the local host, and the app loads once
 * per process and reads its settings then: each runs in its own child process (same node, same
 * environment, so NODE_EXTRA_CA_CERTS from run-with-ca.js carries over), its output inherited.
 */
export interface Benchmark {
  name: string;
  run: () => unknown;
}

/** Runs a compiled benchmark script (dist/bench/<script>) in a fresh node process; rejects unless it exits 0. */
export function runInChild(script: string): () => Promise<void> {
  return () =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(__dirname, script)], { stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${script} exited with ${signal ?? code}`))));
    });
}

export const BENCHMARKS: readonly Benchmark[] = [
  { name: 'polling efficiency', run: runPollingEfficiency },
  { name: 'history size', run: runInChild('historySize.js') },
  { name: 'host throughput', run: runInChild('hostThroughput.js') },
  { name: 'start-up', run: runStartup },
  // Issue 12: request cost against 100 / 10,000 / 100,000 retained runs, and the purge rate.
  { name: 'retained runs', run: runInChild('retainedRuns.js') },
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
