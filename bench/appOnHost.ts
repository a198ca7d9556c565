import * as path from 'node:path';
import { startAppOnLocalHost } from '../local/appOnLocalHost';
import { VirtualClock } from '../local/clock';
import type { LocalHost } from '../local/durable-host';
import type { HistoryEvent } from '../local/durable-host/engine';
import type { EmulatorModelDescription } from '../local/emulators/aas';
import type { Emulators } from '../local/emulators';
import type { RunView } from '../src/api/runView';

/**
 * The compiled app (dist/src/index.js, the production entry) on the local durable host under a
 * virtual clock, against the AAS and identity emulators in keyVault mode, in this process. The app
 * module loads once per process and reads its settings then, so a benchmark makes one of these.
 * Like test/support/appStack.ts, without the callback receiver (no run here asks for a callback).
 */
export interface BenchApp {
  clock: VirtualClock;
  emulators: Emulators;
  host: LocalHost;
  /** `asazure://127.0.0.1:<port>/benchserver` */
  server: string;
  /** POST /api/refreshes; returns the run id, throws on anything but 202. */
  start(body: Record<string, unknown>): Promise<string>;
  /** GET /api/refreshes/{id}: the run, whatever its status. */
  run(id: string): Promise<RunView>;
  stop(): Promise<void>;
}

export const BENCH_SERVER = 'benchserver';
const ROOT = path.resolve(__dirname, '..', '..');
/** The production entry as `npm run build` emits it (package.json "main"). */
export const APP_ENTRY = path.join(ROOT, 'dist', 'src', 'index.js');
const FUNCTION_KEY = 'bench-function-key';

/** Models of one table each, named and timed by the caller (a whole-model refresh lasts 2 s queued + durationMs). */
export function oneTableModels(models: readonly { name: string; durationMs: number }[]): EmulatorModelDescription {
  return { servers: [{ name: BENCH_SERVER, models: models.map((model) => ({ name: model.name, tables: [{ name: 'Fact', durationMs: model.durationMs }] })) }] };
}

export async function startBenchApp(models: EmulatorModelDescription, settings: Record<string, string> = {}): Promise<BenchApp> {
  const clock = new VirtualClock();
  const app = await startAppOnLocalHost({
    emulators: { clock, models },
    settings: (emulators) => ({ ...emulators.appSettings(), AAS_REQUEST_TIMEOUT_SECONDS: '5', ...settings }),
    host: { entry: APP_ENTRY, clock, port: 0, log: () => undefined },
    functionKey: FUNCTION_KEY,
  });
  const { emulators, host } = app;

  async function call(method: string, route: string, body?: unknown): Promise<{ status: number; text: string }> {
    const answer = await app.api(method, route, { body });
    return { status: answer.status, text: answer.text };
  }

  return {
    clock,
    emulators,
    host,
    server: emulators.aas.serverName(BENCH_SERVER),
    async start(body) {
      const answer = await call('POST', 'refreshes', body);
      if (answer.status !== 202) throw new Error(`POST /api/refreshes: expected 202, got ${answer.status}: ${answer.text}`);
      return (JSON.parse(answer.text) as { id: string }).id;
    },
    async run(id) {
      const answer = await call('GET', `refreshes/${encodeURIComponent(id)}`);
      // 202 while running, 200 succeeded, 500/504 otherwise: all carry the run; anything else is a broken measurement.
      if (![200, 202, 500, 504].includes(answer.status)) throw new Error(`GET /api/refreshes/${id}: got ${answer.status}: ${answer.text}`);
      return JSON.parse(answer.text) as RunView;
    },
    stop: () => app.stop(),
  };
}

/** History events of each execution of an instance (continueAsNew starts a new one). */
export function executionHistories(host: LocalHost, id: string): HistoryEvent[][] {
  const instance = host.getInstance(id);
  if (instance === undefined) throw new Error(`no instance ${id} on the local host`);
  return instance.history.map((execution) => execution.events);
}
