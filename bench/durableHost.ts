/**
 * Benchmark (not a test): N concurrent orchestrations of M activity+timer steps on the local
 * durable host under the virtual clock. Prints duration, throughput and per-replay cost as the
 * history grows. Run: node -r ./local/durable-host/register-ts.js bench/durableHost.ts [N] [M]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalHost } from '../local/durable-host';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200);
  const m = Number(process.argv[3] ?? 20);
  const fixture = path.join(__dirname, 'durableHostApp.ts');
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-bench-'));
  const host = await startLocalHost({ entry: fixture, clock: 'virtual', port: 0, stateDir, log: () => undefined });
  host.engine.recordReplayCosts = true;
  const started = performance.now();
  const ids = Array.from({ length: n }, (_, i) => host.startNew('BenchSteps', m, `bench-${i}`));
  await host.runUntilIdle();
  const ms = performance.now() - started;
  const done = ids.filter((id) => host.getInstance(id)?.status === 'Completed').length;
  const replays = host.engine.replayCosts;
  console.log(`orchestrations: ${n} x ${m} activity+timer steps, completed ${done}, state ${stateDir}`);
  console.log(`wall time: ${ms.toFixed(0)} ms; ${((n * m) / (ms / 1000)).toFixed(0)} steps/s; ${(replays.length / (ms / 1000)).toFixed(0)} replays/s`);
  const buckets = new Map<number, number[]>();
  for (const r of replays) {
    const b = Math.floor(r.historyLength / 20) * 20;
    const list = buckets.get(b) ?? [];
    list.push(r.ms);
    buckets.set(b, list);
  }
  console.log('history length -> mean orchestrator replay cost (library only)');
  for (const [b, list] of [...buckets.entries()].sort((a, c) => a[0] - c[0])) {
    const mean = list.reduce((s, x) => s + x, 0) / list.length;
    console.log(`  ${String(b).padStart(4)}-${String(b + 19).padEnd(4)} events: ${mean.toFixed(3)} ms  (${list.length} replays)`);
  }
  await host.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
