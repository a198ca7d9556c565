import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startWorkers, type WorkerPool, type WorkerProcess } from '../../local/durable-host/workers';
import { startEmulators, type Emulators } from '../../local/emulators';
import type { RunView } from '../../src/api/runView';
import { untilDefined } from '../support/virtualTime';

/**
 * The real app (src/index.ts) on N local-host workers sharing one durable store (real clock), as
 * N Functions instances share one task hub, against the AAS and identity emulators in this
 * process. Polling is 1 s so that chains of runs finish within a test's time.
 */
export interface ScaleStack {
  emulators: Emulators;
  pool: WorkerPool;
  stateDir: string;
  server: string;
  /** Live workers, for spreading requests. */
  live(): WorkerProcess[];
  call(worker: WorkerProcess, method: string, route: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Polls GET until every run has ended; returns the views. Throws after `timeoutMs`. */
  waitForEnd(ids: string[], timeoutMs: number): Promise<Map<string, RunView>>;
  stop(): Promise<void>;
}

export const FUNCTION_KEY = 'scale-function-key';
export const MODELS = 20;
/** The emulator's name of the server (its control calls take it; requests take `server`). */
export const SERVER_NAME = 'scale';
export const modelName = (index: number) => `Scale${String(index).padStart(2, '0')}`;
const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'timedOut']);

export async function startScaleStack(workers: number, options: { refreshMs: number; leaseMs?: number }): Promise<ScaleStack> {
  const emulators = await startEmulators({
    models: { servers: [{ name: SERVER_NAME, models: Array.from({ length: MODELS }, (_, i) => ({ name: modelName(i), tables: [{ name: 'Fact', durationMs: options.refreshMs }] })) }] },
  });
  const server = emulators.aas.serverName(SERVER_NAME);
  for (let i = 0; i < MODELS; i += 1) emulators.aas.setNotStartedMs(SERVER_NAME, modelName(i), 0);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scale-'));
  let pool: WorkerPool;
  try {
    pool = await startWorkers({
      entry: 'src/index.ts',
      stateDir,
      count: workers,
      leaseMs: options.leaseMs ?? 2_000,
      startTimeoutMs: 60_000,
      env: {
        ...emulators.appSettings(),
        FUNCTIONS_KEYS: JSON.stringify({ default: FUNCTION_KEY }),
        POLL_MIN_INTERVAL_SECONDS: '1',
        POLL_MAX_INTERVAL_SECONDS: '2',
        REFRESH_DEFAULT_SYNC: 'false',
        AAS_REQUEST_TIMEOUT_SECONDS: '10',
      },
    });
  } catch (error) {
    await emulators.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  const live = () => pool.workers.filter((worker) => worker.child.exitCode === null && worker.child.signalCode === null);
  const call: ScaleStack['call'] = async (worker, method, route, body) => {
    const response = await fetch(`${worker.baseUrl}/api/${route}`, {
      method,
      headers: { 'x-functions-key': FUNCTION_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };
  return {
    emulators,
    pool,
    stateDir,
    server,
    live,
    call,
    async waitForEnd(ids, timeoutMs) {
      const views = new Map<string, RunView>();
      // One round reads every run not yet ended; the next round comes 250 ms after it.
      return untilDefined(
        async () => {
          for (const id of ids) {
            if (views.has(id)) continue;
            const worker = live()[0];
            if (worker === undefined) throw new Error('no live worker');
            const view = (await call(worker, 'GET', `refreshes/${id}`)).body as unknown as RunView;
            if (FINAL.has(view.status)) views.set(id, view);
          }
          return views.size === ids.length ? views : undefined;
        },
        `${ids.length} runs ended`,
        timeoutMs,
        250,
      );
    },
    async stop() {
      await pool.stop();
      await emulators.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** AAS refreshes of a model that overlap in time (there must be none). */
export function overlapping(refreshes: { startTime: number; endTime?: number }[]): number {
  const spans = refreshes.map((r) => [r.startTime, r.endTime ?? Number.POSITIVE_INFINITY] as const).sort((a, b) => a[0] - b[0]);
  let overlaps = 0;
  for (let i = 1; i < spans.length; i += 1) if ((spans[i]?.[0] ?? 0) < (spans[i - 1]?.[1] ?? 0)) overlaps += 1;
  return overlaps;
}
