import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startAppOnLocalHost, type ApiAnswer, type ApiCallOptions } from '../../local/appOnLocalHost';
import { VirtualClock } from '../../local/clock';
import type { LocalHost } from '../../local/durable-host';
import { SAMPLE_MODEL, type EmulatorModelDescription } from '../../local/emulators/aas';
import type { Emulators } from '../../local/emulators';
import { loadLocalTls } from '../../local/tls';
import type { RunView } from '../../src/api/runView';

/**
 * The real app (src/index.ts) on the local durable host under a virtual clock, against the AAS,
 * Power BI and identity emulators in keyVault mode, plus an HTTPS server that records callbacks.
 * One per test file: the app reads its settings once when it loads, as it does in Azure. Stood up
 * by local/appOnLocalHost.ts, as `npm start` and the benchmarks stand it up.
 */
export interface AppStack {
  clock: VirtualClock;
  emulators: Emulators;
  host: LocalHost;
  /** `asazure://127.0.0.1:<port>/myserver` */
  server: string;
  functionKey: string;
  callbackUrl: string;
  /** Every callback POST received, with the virtual time it arrived. */
  callbacks: { path: string; body: unknown; at: number }[];
  /** Status answered by the callback receiver (tests switch it to 500 to see retries). */
  callbackStatus: { code: number };
  logs: string[];
  request(method: string, route: string, options?: ApiCallOptions): Promise<ApiAnswer>;
  /** POST /api/refreshes expecting 202; returns the run id. */
  start(body: Record<string, unknown>): Promise<string>;
  run(id: string): Promise<ApiAnswer<RunView>>;
  /** Lets virtual time pass until every run has ended (or the limit), then reads the run. */
  finish(id: string, maxVirtualMs?: number): Promise<ApiAnswer<RunView>>;
  /**
   * Stops the local host and starts a new one on the same durable state (the same app module, so
   * the same settings): what a host restart does. Only with `persistentState: true`.
   */
  restartHost(): Promise<void>;
  stop(): Promise<void>;
}

export type { ApiAnswer };

export const TEST_MODELS = 12;
/** Model names Model01..Model12 (plus the sample AdventureWorks), each a small star schema. */
export const modelName = (index: number) => `Model${String(index).padStart(2, '0')}`;

export function testModels(count = TEST_MODELS): EmulatorModelDescription {
  const sample = SAMPLE_MODEL.servers[0];
  const models = Array.from({ length: count }, (_, i) => ({
    name: modelName(i + 1),
    tables: [
      { name: 'DimCustomer', durationMs: 60_000 },
      { name: 'DimDate', durationMs: 10_000 },
      { name: 'FactSales', durationMs: 120_000, partitions: ['FactSales 2024', 'FactSales 2025', 'FactSales 2026'] },
    ],
  }));
  return { servers: [{ name: 'myserver', models: [...(sample?.models ?? []), ...models] }] };
}

export interface AppStackOptions {
  /** Settings over the emulators' own; a function when they depend on the emulators (ports). */
  settings?: Record<string, string> | ((emulators: Emulators) => Record<string, string>);
  /** Let the virtual clock also advance to the next timer-trigger (NCRONTAB) occurrence. */
  fireSchedulesInVirtualTime?: boolean;
  models?: EmulatorModelDescription;
  /** How many test models (Model01..) when `models` is not given; default TEST_MODELS. */
  modelCount?: number;
  /** Keep the durable state in a temporary directory (SQLite file) so that `restartHost` can resume it. */
  persistentState?: boolean;
  /** Where virtual time starts (default 2026-01-05T02:00Z); `Date.now()` for code that reads the real clock. */
  clockStart?: number;
}

export async function startAppStack(options: AppStackOptions = {}): Promise<AppStack> {
  const clock = new VirtualClock(options.clockStart);
  const tls = loadLocalTls();
  const callbacks: { path: string; body: unknown; at: number }[] = [];
  const callbackStatus = { code: 200 };
  const receiver = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      callbacks.push({ path: req.url ?? '', body: text === '' ? undefined : (JSON.parse(text) as unknown), at: clock.now() });
      res.writeHead(callbackStatus.code, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const callbackPort = (receiver.address() as AddressInfo).port;

  const logs: string[] = [];
  const functionKey = 'test-function-key';
  const stateDir = options.persistentState === true ? fs.mkdtempSync(path.join(os.tmpdir(), 'appstack-')) : undefined;
  const app = await startAppOnLocalHost({
    emulators: { clock, tls, models: options.models ?? testModels(options.modelCount) },
    settings: (emulators) => ({
      ...emulators.appSettings(),
      CALLBACK_ALLOWED_HOSTS: `127.0.0.1:${callbackPort}`,
      AAS_REQUEST_TIMEOUT_SECONDS: '5',
      ...(typeof options.settings === 'function' ? options.settings(emulators) : options.settings),
    }),
    host: {
      entry: path.join(__dirname, '..', '..', 'src', 'index.ts'),
      clock,
      port: 0,
      log: (line) => logs.push(line),
      fireSchedulesInVirtualTime: options.fireSchedulesInVirtualTime === true,
      ...(stateDir === undefined ? {} : { stateDir }),
    },
    functionKey,
  }).catch(async (error: unknown) => {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    throw error;
  });
  const { emulators } = app;
  const request = app.api;

  const stack: AppStack = {
    clock,
    emulators,
    get host() {
      return app.host;
    },
    server: emulators.aas.serverName('myserver'),
    functionKey,
    callbackUrl: `https://127.0.0.1:${callbackPort}/callback`,
    callbacks,
    callbackStatus,
    logs,
    request,
    async start(body) {
      const answer = await request('POST', 'refreshes', { body });
      if (answer.status !== 202) throw new Error(`expected 202, got ${answer.status}: ${answer.text}`);
      return (answer.body as { id: string }).id;
    },
    run: (id) => request('GET', `refreshes/${id}`) as Promise<ApiAnswer<RunView>>,
    async finish(id, maxVirtualMs = 48 * 3600 * 1000) {
      await app.host.runUntilIdle({ maxVirtualMs });
      return request('GET', `refreshes/${id}`) as Promise<ApiAnswer<RunView>>;
    },
    async restartHost() {
      if (stateDir === undefined) throw new Error('restartHost needs startAppStack({ persistentState: true })');
      await app.restartHost();
    },
    async stop() {
      await app.stop();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
      if (stateDir !== undefined) fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return stack;
}
