import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VirtualClock } from '../local/clock';
import { startLocalHost, type LocalHost } from '../local/durable-host';
import { entitySchedulerId, type InstanceRecord } from '../local/durable-host/engine';
import { Store } from '../local/durable-host/store';
import { startEmulators, type Emulators } from '../local/emulators';
import { modelKey } from '../src/api/runLookup';
import { newRunId } from '../src/api/runList';
import { addRecentRun, RECENT_RUNS_ENTITY, RECENT_RUNS_KEPT, type RecentRunsState } from '../src/api/recentRuns';
import { claimKey } from '../src/claims/modelClaim';
import { APP_ENTRY, BENCH_SERVER, oneTableModels } from './appOnHost';
import { percentile, table } from './stats';

/**
 * Issue 12's benchmark: does a request's cost depend on how many runs the task hub keeps?
 * POST /api/refreshes, GET one run and GET pages of the list (the newest, from the recent-runs
 * index; one past it, in the task hub's order; one model's), with 100, 10,000 and 100,000
 * finished runs retained in the store, each as a ratio to the 100-run figure of the same process
 * (goal: <= 1.5x at 100,000); then the retention timer's purge rate. It prints figures and never
 * fails on one; it fails only when a measurement is broken (a request answering the wrong status).
 *
 * The retained runs are written straight into the local host's SQLite store, in one transaction
 * per size, as copies of a real finished run of the app (same record, other ids, model names and
 * times), with the recent-runs index of the newest of them, so seeding 100,000 takes seconds and
 * the records are what the host itself writes. The app is the compiled production entry
 * (dist/src/index.js) on the local durable host under a virtual clock, against the AAS and
 * identity emulators, all in this process.
 */

export const SIZES = [100, 10_000, 100_000] as const;
const MODELS = 20;
const POSTS = 20;
const GETS = 50;
const LISTS = 20;
const FUNCTION_KEY = 'bench-function-key';
const DAY_MS = 86_400_000;

const modelName = (index: number) => `Retained${String(index).padStart(2, '0')}`;

interface Measured {
  size: number;
  seedMs: number;
  startMs: number;
  postMs: number[];
  getMs: number[];
  listMs: number[];
  listModelMs: number[];
  listOlderMs: number[];
  purged?: { count: number; ms: number };
}

async function timed<T>(samples: number[], call: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  const result = await call();
  samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  return result;
}

interface Stack {
  clock: VirtualClock;
  emulators: Emulators;
  host: LocalHost;
  call(method: string, route: string, body?: unknown): Promise<{ status: number; text: string }>;
  stop(): Promise<void>;
}

async function startStack(stateDir: string, clock: VirtualClock, emulators: Emulators): Promise<Stack> {
  const host = await startLocalHost({ entry: APP_ENTRY, clock, port: 0, stateDir, functionKeys: { default: FUNCTION_KEY }, log: () => undefined });
  return {
    clock,
    emulators,
    host,
    async call(method, route, body) {
      const headers: Record<string, string> = { 'x-functions-key': FUNCTION_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
      const response = await host.fetch(`/api/${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: response.status, text: await response.text() };
    },
    async stop() {
      await host.stop();
    },
  };
}

function expectStatus(answer: { status: number; text: string }, expected: number[], what: string): void {
  if (!expected.includes(answer.status)) throw new Error(`${what}: expected ${expected.join('/')}, got ${answer.status}: ${answer.text.slice(0, 300)}`);
}

/** The model key as the app builds it for an AAS target. */
function modelKeyOf(server: string, model: string): string {
  return modelKey({ backend: 'aas', server, model });
}

/** The seeded run `i` of a store: the app's id format, its time the creation time. */
function seededId(server: string, i: number, createdTime: number): string {
  return newRunId(modelKeyOf(server, modelName(i % MODELS)), `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, createdTime);
}

function seededTime(i: number, size: number, now: number): number {
  return now - Math.floor(((i + 1) / size) * 365 * DAY_MS);
}

/** One real finished run of the app: its record is the template of every seeded one. */
async function templateRun(clock: VirtualClock, emulators: Emulators, server: string): Promise<InstanceRecord> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-template-'));
  const stack = await startStack(stateDir, clock, emulators);
  try {
    const posted = await stack.call('POST', 'refreshes', { server, model: modelName(0), sync: false });
    expectStatus(posted, [202], 'template POST');
    const id = (JSON.parse(posted.text) as { id: string }).id;
    await stack.host.runUntilIdle();
    const done = await stack.call('GET', `refreshes/${id}`);
    expectStatus(done, [200], 'template run');
    await stack.stop();
    const store = new Store(stateDir);
    const record = store.getInstance(id) as unknown as InstanceRecord | undefined;
    store.close();
    if (record === undefined || record.status !== 'Completed') throw new Error('the template run is not in the store');
    return record;
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

/**
 * The recent-runs index as the app would have left it: the newest RECENT_RUNS_KEPT seeded runs
 * (the entity record as the local host writes one: its state as the JSON text durable-functions
 * stores, the scheduler state as input, EntityStatus as custom status).
 */
function recentRunsRecord(ids: string[], now: number): InstanceRecord {
  const state = JSON.stringify(ids.reduce<RecentRunsState>((current, id) => addRecentRun(current, id), { ids: [] }));
  const id = entitySchedulerId(RECENT_RUNS_ENTITY, 'all');
  return {
    id,
    name: id,
    status: 'Running',
    input: { exists: true, state, sorter: {} },
    output: null,
    customStatus: { entityExists: true },
    createdTime: now,
    lastUpdatedTime: now,
    execution: 0,
    dispatched: [],
    nextId: 0,
    tasks: {},
    historyLength: 0,
    entity: { exists: true, state },
  };
}

/** Writes `size` finished runs over the last year (newest first by index) into a fresh store, and the recent-runs index of them. */
function seed(stateDir: string, size: number, template: InstanceRecord, server: string, now: number): number {
  const started = Date.now();
  const store = new Store(stateDir);
  const templateInput = template.input as { request: Record<string, unknown> };
  store.tx(() => {
    for (let i = 0; i < size; i += 1) {
      const model = modelName(i % MODELS);
      const createdTime = seededTime(i, size, now);
      const id = seededId(server, i, createdTime);
      store.putInstance(id, {
        ...template,
        id,
        createdTime,
        lastUpdatedTime: createdTime + 60_000,
        input: { ...templateInput, request: { ...templateInput.request, model }, claim: { key: claimKey(modelKeyOf(server, model)), model: modelKeyOf(server, model) } },
      } as unknown as Parameters<Store['putInstance']>[1]);
    }
    const newest = Array.from({ length: Math.min(size, RECENT_RUNS_KEPT) }, (_, i) => seededId(server, i, seededTime(i, size, now)));
    const index = recentRunsRecord(newest, now);
    store.putInstance(index.id, index as unknown as Parameters<Store['putInstance']>[1]);
  });
  store.close();
  return Date.now() - started;
}

async function measure(clock: VirtualClock, size: number, template: InstanceRecord, emulators: Emulators, server: string): Promise<Measured> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-retained-${size}-`));
  try {
    const seedMs = seed(stateDir, size, template, server, clock.now());
    const startedAt = Date.now();
    const stack = await startStack(stateDir, clock, emulators);
    const startMs = Date.now() - startedAt;
    const result: Measured = { size, seedMs, startMs, postMs: [], getMs: [], listMs: [], listModelMs: [], listOlderMs: [] };
    try {
      const seededIds = [0, 1, 2, 3, 4].map((k) => Math.floor((k * size) / 5)).map((i) => seededId(server, i, seededTime(i, size, clock.now())));
      for (let i = 0; i < POSTS; i += 1) {
        // A model per POST (each granted, onConflict wait so a second round queues); the runs are
        // not waited for. Page sizes are the same at every size: 50 of all runs, 5 of one model's.
        const answer = await timed(result.postMs, () => stack.call('POST', 'refreshes', { server, model: modelName(i % MODELS), onConflict: 'wait', sync: false }));
        expectStatus(answer, [202], 'POST /api/refreshes');
      }
      for (let i = 0; i < GETS; i += 1) {
        const answer = await timed(result.getMs, () => stack.call('GET', `refreshes/${seededIds[i % seededIds.length] ?? ''}`));
        expectStatus(answer, [200], 'GET /api/refreshes/{id}');
      }
      // The POSTs' signals reach the index before the list is measured.
      await stack.host.runUntilIdle({ maxVirtualMs: 0 });
      const older = await tokenPastIndex(stack);
      for (let i = 0; i < LISTS; i += 1) {
        const answer = await timed(result.listMs, () => stack.call('GET', 'refreshes?limit=50'));
        expectStatus(answer, [200], 'GET /api/refreshes');
        if ((JSON.parse(answer.text) as { order: string }).order !== 'newestFirst') throw new Error('GET /api/refreshes: the first page did not come from the recent-runs index');
        const past = await timed(result.listOlderMs, () => stack.call('GET', `refreshes?limit=50&continuationToken=${older}`));
        expectStatus(past, [200], 'GET /api/refreshes past the index');
        const byModel = await timed(result.listModelMs, () => stack.call('GET', `refreshes?limit=5&server=${encodeURIComponent(server)}&model=${modelName(i % MODELS)}`));
        expectStatus(byModel, [200], 'GET /api/refreshes?model=');
      }
      if (size >= 10_000) {
        // Runs older than RUN_RETENTION_DAYS (30) are 335/365 of the seeded ones: one firing purges up to 2,000.
        const before = stack.host.listInstances().length;
        const started = Date.now();
        await stack.host.fireTimer('runRetention');
        result.purged = { count: before - stack.host.listInstances().length, ms: Date.now() - started };
      }
    } finally {
      await stack.stop();
    }
    return result;
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

/** The continuationToken of the first page past the recent-runs index (pages of 50 followed from the first). */
async function tokenPastIndex(stack: Stack): Promise<string> {
  let token = '';
  for (let page = 0; page < 20; page += 1) {
    const answer = await stack.call('GET', `refreshes?limit=50${token === '' ? '' : `&continuationToken=${token}`}`);
    expectStatus(answer, [200], 'GET /api/refreshes (following pages)');
    const body = JSON.parse(answer.text) as { continuationToken?: string };
    if (body.continuationToken === undefined) throw new Error('the list ended before a page past the recent-runs index');
    token = body.continuationToken;
    // The API's token says where it goes on (src/api/runList.ts): `older:` is past the index.
    if (Buffer.from(token, 'base64url').toString('utf8').startsWith('older:')) return token;
  }
  throw new Error('no page past the recent-runs index within 20 pages');
}

const median = (values: number[]) => percentile(values, 50);

export async function runRetainedRuns(): Promise<Measured[]> {
  const clock = new VirtualClock();
  const emulators = await startEmulators({ clock, models: oneTableModels(Array.from({ length: MODELS }, (_, i) => ({ name: modelName(i), durationMs: 30_000 }))) });
  Object.assign(process.env, { ...emulators.appSettings(), AAS_REQUEST_TIMEOUT_SECONDS: '5' });
  const server = emulators.aas.serverName(BENCH_SERVER);
  const results: Measured[] = [];
  try {
    // One virtual clock for the emulators and every host: AAS time passes with the host's.
    const template = await templateRun(clock, emulators, server);
    const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0);
    for (const size of sizes.length > 0 ? sizes : SIZES) results.push(await measure(clock, size, template, emulators, server));
  } finally {
    await emulators.close();
  }
  const base = results[0];
  if (base === undefined) throw new Error('no measurement');
  const ratio = (value: number, baseline: number) => `${(value / baseline).toFixed(2)}x`;
  console.log('Issue 12: request cost against retained runs (median ms over the samples; ratio to the 100-run store of this process)\n');
  console.log(
    table([
      ['retained runs', 'seed (ms)', 'host start (ms)', `POST (${POSTS})`, `GET one (${GETS})`, `list page of 50, newest (${LISTS})`, `list page of 50 past the index (${LISTS})`, `list page of 5, one model (${LISTS})`],
      ...results.map((r) => [
        r.size.toLocaleString('en-US'),
        String(r.seedMs),
        String(r.startMs),
        `${median(r.postMs).toFixed(1)} (${ratio(median(r.postMs), median(base.postMs))})`,
        `${median(r.getMs).toFixed(1)} (${ratio(median(r.getMs), median(base.getMs))})`,
        `${median(r.listMs).toFixed(1)} (${ratio(median(r.listMs), median(base.listMs))})`,
        `${median(r.listOlderMs).toFixed(1)} (${ratio(median(r.listOlderMs), median(base.listOlderMs))})`,
        `${median(r.listModelMs).toFixed(1)} (${ratio(median(r.listModelMs), median(base.listModelMs))})`,
      ]),
    ]),
  );
  const largest = results.at(-1) ?? base;
  const worst = Math.max(
    median(largest.postMs) / median(base.postMs),
    median(largest.getMs) / median(base.getMs),
    median(largest.listMs) / median(base.listMs),
    median(largest.listOlderMs) / median(base.listOlderMs),
    median(largest.listModelMs) / median(base.listModelMs),
  );
  console.log(`\nGoal (issue 12): <= 1.5x at 100,000 retained runs: ${worst <= 1.5 ? 'met' : 'missed'} (worst ratio ${worst.toFixed(2)}x)`);
  for (const r of results) {
    if (r.purged !== undefined) console.log(`Purge (one retention firing, ${r.size.toLocaleString('en-US')} retained): ${r.purged.count} runs in ${r.purged.ms} ms = ${Math.round((r.purged.count / r.purged.ms) * 1000)} runs/s`);
  }
  return results;
}

if (require.main === module) {
  runRetainedRuns().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
