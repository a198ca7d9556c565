/**
 * Local durable host: runs an `@azure/functions` v4 + `durable-functions` v3 app without the
 * Azure Functions Core Tools. Production runs on the real Durable Functions extension in Azure;
 * this host exists for `npm start`, tests and benchmarks.
 */
import { HttpRequest, HttpResponse, InvocationContext } from '@azure/functions';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { type Clock, systemClock, VirtualClock } from '../clock';
import { loadApp, type RegisteredBinding, type RegisteredFunction } from './coreModule';
import { Engine, HostError, type HistoryEvent, type InstanceRecord, type RuntimeStatus } from './engine';
import { isoTime } from './durations';
import { createManagementApi, decodeSegments, hostHeaderAllowed, presentedKey, send } from './managementApi';
import { Store } from './store';
import { isDynamicSku } from '../../src/config/azureEnvironment';
import { parseTimerSchedule, type TimerSchedule } from '../../src/schedules/timerSchedule';

/** Request bodies above this size get 413 (the app applies its own, smaller limit). */
export const MAX_REQUEST_BODY_BYTES = 4 * 1024 * 1024;
const TASK_HUB = 'LocalTaskHub';
const WEBHOOKS = '/runtime/webhooks/durabletask';
/** The extension's loopback RPC listener serves the same API under this path (LocalHttpListener.cs). */
const RPC_PATH = '/durabletask/';
/** The Functions host's system key for the Durable extension's webhooks. */
export const SYSTEM_KEY_NAME = 'durabletask_extension';

export interface LocalHostOptions {
  /** App entry file (tests). Default: `main` of `<appRoot>/package.json`. */
  entry?: string;
  appRoot?: string;
  /** 'real' (default) fires timers with setTimeout; 'virtual' jumps to the next timer when idle. */
  clock?: Clock | 'virtual' | 'real';
  /** 7071 by default; 0 picks a free port. */
  port?: number;
  /** The loopback RPC listener's port (the client binding's rpcBaseUrl); a free one by default. */
  rpcPort?: number;
  /** Directory for durable.sqlite, or ':memory:' (default). */
  stateDir?: string;
  /**
   * Function keys by name. `function` level accepts any; `admin` only the key named `master`.
   * The key named `durabletask_extension` (the system key) or `master` opens the Durable HTTP
   * API; without one the host makes a random system key, kept with the state (LocalHost.systemKey).
   */
  functionKeys?: Record<string, string>;
  activityConcurrency?: number;
  /** Under a virtual clock, let runUntilIdle advance to the next cron occurrence of timer triggers. */
  fireSchedulesInVirtualTime?: boolean;
  log?: (line: string) => void;
  /** Durable timer segmentation (extension defaults for Azure Storage: 6 days / 3 days). */
  maximumShortTimerMs?: number;
  longRunningTimerIntervalMs?: number;
  /** Storage latency to emulate: before each page of a status query, and per large input fetched. */
  statusPageLatencyMs?: number;
  largePayloadLatencyMs?: number;
  /**
   * The durableClient binding data handed to the app's client functions (HTTP, timer, activity
   * extra inputs) instead of this host's own: local/real-engine points the app's client at the
   * real Durable extension's RPC endpoint this way. Read at each invocation.
   */
  durableClientData?: () => Record<string, unknown>;
  /**
   * Run as one of several workers sharing `stateDir` (see local/durable-host/workers.ts, which
   * forks them): partitions are taken under leases, activities claimed with a visibility timeout.
   * Needs a file stateDir and the real clock. Defaults: 4 partitions, 30 s leases renewed every
   * 10 s (Azure Storage's), polls every 50 ms.
   */
  shared?: { workerId?: string; partitionCount?: number; leaseMs?: number; renewMs?: number; pollMs?: number; activityVisibilityMs?: number };
}

export interface InstanceView {
  instanceId: string;
  name: string;
  status: RuntimeStatus;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  history: { execution: number; events: HistoryEvent[] }[];
}

export interface LocalHost {
  baseUrl: string;
  /** The extension's loopback RPC base (the durable client binding's `rpcBaseUrl`); no key. */
  rpcBaseUrl: string;
  /** The system key the Durable HTTP API under /runtime/webhooks/durabletask needs. */
  systemKey: string;
  clock: Clock;
  functions: string[];
  fetch(pathOrUrl: string, init?: RequestInit): Promise<Response>;
  runUntilIdle(options?: { maxVirtualMs?: number }): Promise<void>;
  waitForInstance(id: string, options?: { timeoutMs?: number }): Promise<InstanceView>;
  getInstance(id: string): InstanceView | undefined;
  listInstances(): InstanceView[];
  startNew(name: string, input?: unknown, instanceId?: string): string;
  raiseEvent(id: string, name: string, data?: unknown): void;
  fireTimer(name: string): Promise<void>;
  faults: { duplicateNextActivity(name: string): void };
  /** Per-replay cost samples (enable with `recordReplayCosts = true`). */
  engine: Engine;
  stop(): Promise<void>;
}

function triggerOf(f: RegisteredFunction): RegisteredBinding | undefined {
  return Object.values(f.metadata.bindings).find((b) => b.direction === 'in' && /Trigger$/.test(b.type));
}

function extraInputsOf(f: RegisteredFunction): RegisteredBinding[] {
  const trigger = triggerOf(f);
  return Object.entries(f.metadata.bindings)
    .filter(([, b]) => b.direction === 'in' && b !== trigger)
    .map(([name, b]) => ({ ...b, name }));
}

/** Keys: option, else env FUNCTIONS_KEYS (JSON object or `name=key,name=key`), else `<appRoot>/.local/function-keys.json`. */
export function defaultFunctionKeys(appRoot: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const raw = env.FUNCTIONS_KEYS;
  if (raw) {
    if (raw.trim().startsWith('{')) return JSON.parse(raw) as Record<string, string>;
    return Object.fromEntries(raw.split(',').map((pair, i) => {
      const [name, key] = pair.includes('=') ? pair.split('=', 2) : [`key${i}`, pair];
      return [name?.trim() ?? `key${i}`, key?.trim() ?? ''];
    }));
  }
  const file = path.join(appRoot, '.local', 'function-keys.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  return {};
}

interface Route {
  fn: RegisteredFunction;
  segments: { literal?: string; param?: string; optional?: boolean; catchAll?: boolean }[];
  methods: string[];
  authLevel: string;
}

function compileRoute(fn: RegisteredFunction, trigger: RegisteredBinding): Route {
  const template = typeof trigger.route === 'string' && trigger.route ? trigger.route : fn.metadata.name;
  const segments = template
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => {
      const m = /^\{(\*)?([A-Za-z0-9_]+)(?::[^}?]*)?(\?)?\}$/.exec(s);
      if (m) return { param: m[2], optional: Boolean(m[3]) || Boolean(m[1]), catchAll: Boolean(m[1]) };
      return { literal: s.toLowerCase() };
    });
  const methods = (Array.isArray(trigger.methods) ? (trigger.methods as string[]) : ['GET', 'POST']).map((m) => m.toUpperCase());
  return { fn, segments, methods, authLevel: typeof trigger.authLevel === 'string' ? trigger.authLevel : 'anonymous' };
}

function matchRoute(route: Route, parts: string[]): Record<string, string> | undefined {
  // `parts` are decoded already (decodeSegments).
  const params: Record<string, string> = {};
  let i = 0;
  for (const seg of route.segments) {
    const part = parts[i];
    if (seg.catchAll) {
      if (i < parts.length) params[seg.param ?? 'rest'] = parts.slice(i).join('/');
      return params;
    }
    if (part === undefined) {
      if (seg.optional) continue;
      return undefined;
    }
    if (seg.literal !== undefined) {
      if (part.toLowerCase() !== seg.literal) return undefined;
    } else if (seg.param) {
      params[seg.param] = part;
    }
    i++;
  }
  return i === parts.length ? params : undefined;
}

function view(engine: Engine, inst: InstanceRecord, withHistory = true): InstanceView {
  return {
    instanceId: inst.id,
    name: inst.name,
    status: inst.status,
    input: inst.input,
    output: inst.output,
    customStatus: inst.customStatus,
    createdTime: isoTime(inst.createdTime),
    lastUpdatedTime: isoTime(inst.lastUpdatedTime),
    history: withHistory ? engine.historyOf(inst.id) : [],
  };
}

async function readBody(req: http.IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_REQUEST_BODY_BYTES) return 'too-large';
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export async function startLocalHost(options: LocalHostOptions = {}): Promise<LocalHost> {
  const appRoot = path.resolve(options.appRoot ?? process.cwd());
  let entry = options.entry;
  if (!entry) {
    const pkg = JSON.parse(fs.readFileSync(path.join(appRoot, 'package.json'), 'utf8')) as { main?: string };
    if (!pkg.main) throw new HostError('DURABLE_HOST_NO_ENTRY', `${appRoot}/package.json has no "main"`);
    entry = path.join(appRoot, pkg.main);
  }
  const log = options.log ?? ((line: string): void => console.log(`${new Date().toISOString()} ${line}`));
  const clock: Clock = options.clock === 'virtual' ? new VirtualClock() : options.clock === 'real' || options.clock === undefined ? systemClock : options.clock;
  const isVirtual = clock instanceof VirtualClock;
  const functions = loadApp(entry, (level, message) => log(`[functions] ${level}: ${message}`));
  const keys = { ...(options.functionKeys ?? defaultFunctionKeys(appRoot)) };
  if (options.shared && (isVirtual || (options.stateDir ?? ':memory:') === ':memory:')) {
    throw new HostError('DURABLE_HOST_SHARED_STORE', 'Several workers need a state directory on disk (stateDir) and the real clock.');
  }
  const store = new Store(options.stateDir ?? ':memory:', { partitionCount: options.shared?.partitionCount });
  const leaseMs = options.shared?.leaseMs ?? 30_000;
  const shared = options.shared
    ? {
        workerId: options.shared.workerId ?? `${process.pid}-${crypto.randomUUID().slice(0, 8)}`,
        leaseMs,
        renewMs: options.shared.renewMs ?? Math.max(1, Math.floor(leaseMs / 3)),
        pollMs: options.shared.pollMs ?? 50,
        activityVisibilityMs: options.shared.activityVisibilityMs ?? leaseMs,
      }
    : undefined;
  // Like the Functions host, which creates its system keys on first start and keeps them.
  const systemKey = keys[SYSTEM_KEY_NAME] ?? store.meta(SYSTEM_KEY_NAME, () => crypto.randomUUID().replace(/-/g, ''));
  keys[SYSTEM_KEY_NAME] = systemKey;
  const engine = new Engine({
    store,
    clock,
    functions,
    activityConcurrency: options.activityConcurrency ?? 16,
    log,
    maximumShortTimerMs: options.maximumShortTimerMs,
    longRunningTimerIntervalMs: options.longRunningTimerIntervalMs,
    // Defined below, once the port is known; only called when an activity runs.
    durableClientData: () => clientData(),
    shared,
  });

  const routes: Route[] = [];
  const timers: { fn: RegisteredFunction; schedule: string; next: number }[] = [];
  for (const f of functions) {
    const t = triggerOf(f);
    if (t?.type === 'httpTrigger') routes.push(compileRoute(f, t));
    if (t?.type === 'timerTrigger' && typeof t.schedule === 'string') timers.push({ fn: f, schedule: t.schedule, next: 0 });
  }
  // Schedules are read and fired by the app's own NCRONTAB (src/schedules), which follows NCrontab
  // as the timer trigger uses it (azure-webjobs-sdk-extensions TimerSchedule.Create) and is checked
  // against the real NCrontab.Signed. As on Flex Consumption, a TimeSpan is refused unless
  // HOSTING_PLAN=dedicated. A refused schedule puts that function in error, as the host does
  // when it indexes it; the other functions run.
  const timeSpanAllowed = process.env.HOSTING_PLAN === 'dedicated' && !isDynamicSku(process.env);
  const timerSchedules = new Map<string, TimerSchedule>();
  for (const t of [...timers]) {
    const parsed = parseTimerSchedule(t.schedule, { timeSpanAllowed });
    if (parsed.ok) {
      timerSchedules.set(t.schedule, parsed.schedule);
    } else {
      log(`[functions] error: The '${t.fn.metadata.name}' function is in error: ${parsed.problem}`);
      timers.splice(timers.indexOf(t), 1);
    }
  }
  // Infinity when NCrontab finds no occurrence before the year 10000: that timer never fires.
  const nextOccurrence = (schedule: string, after: number): number => timerSchedules.get(schedule)?.next(after) ?? Number.POSITIVE_INFINITY;
  for (const t of timers) t.next = nextOccurrence(t.schedule, clock.now());

  let baseUrl = '';
  let rpcBaseUrl = '';
  const clientData = (): Record<string, unknown> => {
    if (options.durableClientData) return options.durableClientData();
    const wh = `${baseUrl}${WEBHOOKS}`;
    // As in Azure, the management URLs carry the system key; the client itself talks to rpcBaseUrl.
    const qs = `taskHub=${TASK_HUB}&connection=Storage&code=${systemKey}`;
    return {
      taskHubName: TASK_HUB,
      creationUrls: {
        createNewInstancePostUri: `${wh}/orchestrators/{functionName}[/{instanceId}]?${qs}`,
        createAndWaitOnNewInstancePostUri: `${wh}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${qs}`,
      },
      managementUrls: {
        id: 'INSTANCEID',
        statusQueryGetUri: `${wh}/instances/INSTANCEID?${qs}`,
        sendEventPostUri: `${wh}/instances/INSTANCEID/raiseEvent/{eventName}?${qs}`,
        terminatePostUri: `${wh}/instances/INSTANCEID/terminate?reason={text}&${qs}`,
        rewindPostUri: `${wh}/instances/INSTANCEID/rewind?reason={text}&${qs}`,
        purgeHistoryDeleteUri: `${wh}/instances/INSTANCEID?${qs}`,
        restartPostUri: `${wh}/instances/INSTANCEID/restart?${qs}`,
        suspendPostUri: `${wh}/instances/INSTANCEID/suspend?reason={text}&${qs}`,
        resumePostUri: `${wh}/instances/INSTANCEID/resume?reason={text}&${qs}`,
      },
      baseUrl: wh,
      requiredQueryStringParameters: qs,
      rpcBaseUrl,
      httpBaseUrl: wh,
    };
  };

  const newContext = (fn: RegisteredFunction): InvocationContext => {
    const trigger = triggerOf(fn);
    const extraInputs = extraInputsOf(fn);
    const ctx = new InvocationContext({
      invocationId: crypto.randomUUID(),
      functionName: fn.metadata.name,
      // The binding records carry the options the app registered (name, type, route...).
      options: { trigger: trigger as never, extraInputs: extraInputs as never },
      logHandler: (level, ...args) => log(`[${fn.metadata.name}] ${level}: ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`),
    });
    for (const input of extraInputs) {
      if (input.type === 'durableClient' || input.type === 'orchestrationClient') ctx.extraInputs.set(input.name ?? '', clientData());
    }
    return ctx;
  };

  const fireTimer = async (name: string): Promise<void> => {
    const t = timers.find((x) => x.fn.metadata.name === name);
    if (!t) throw new HostError('DURABLE_HOST_UNKNOWN_TIMER', `No timer trigger named '${name}'`);
    const timerInfo = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: isoTime(clock.now()), next: isoTime(t.next), lastUpdated: isoTime(clock.now()) } };
    try {
      await t.fn.handler(timerInfo, newContext(t.fn));
    } catch (err) {
      log(`[${name}] error: timer trigger failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    engine.kick();
  };

  const pendingCron = new Set<Promise<void>>();
  const fireDueSchedules = (): void => {
    const now = clock.now();
    for (const t of timers) {
      if (t.next <= now) {
        t.next = nextOccurrence(t.schedule, now);
        // Timer triggers are singletons across a task hub's instances (the WebJobs timer listener
        // runs under a singleton lock): with several workers, the holder of partition 0 fires them.
        if (!engine.ownsPartition(0)) continue;
        const p = fireTimer(t.fn.metadata.name).finally(() => pendingCron.delete(p));
        pendingCron.add(p);
      }
    }
  };
  let cronTimeout: NodeJS.Timeout | undefined;
  const armCron = (): void => {
    if (isVirtual || timers.length === 0) return;
    if (cronTimeout) clearTimeout(cronTimeout);
    const next = Math.min(...timers.map((t) => t.next));
    cronTimeout = setTimeout(() => {
      fireDueSchedules();
      armCron();
    }, Math.max(0, Math.min(next - clock.now(), 2 ** 31 - 1)));
  };

  const handleApi = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> => {
    const parts = decodeSegments(url.pathname.slice('/api'.length));
    if (!parts) {
      send(res, 400, { message: 'The request path has a malformed percent-encoding.' });
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    let matchedPath = false;
    for (const route of routes) {
      const params = matchRoute(route, parts);
      if (!params) continue;
      matchedPath = true;
      if (!route.methods.includes(method)) continue;
      if (route.authLevel !== 'anonymous') {
        const presented = presentedKey(req, url);
        const allowed = route.authLevel === 'admin' ? [keys.master, keys._master].filter(Boolean) : Object.entries(keys).filter(([name]) => name !== SYSTEM_KEY_NAME).map(([, key]) => key);
        if (!presented || !allowed.includes(presented)) {
          send(res, 401, undefined);
          return;
        }
      }
      // The key is checked before the body is read.
      const body = await readBody(req);
      if (body === 'too-large') {
        send(res, 413, { message: `Request body larger than ${MAX_REQUEST_BODY_BYTES} bytes` });
        req.destroy();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const request = new HttpRequest({
        method,
        url: url.href,
        headers,
        query: Object.fromEntries(url.searchParams.entries()),
        params,
        body: body.length > 0 ? { bytes: new Uint8Array(body) } : undefined,
      });
      let result: unknown;
      try {
        result = await route.fn.handler(request, newContext(route.fn));
      } catch (err) {
        log(`[${route.fn.metadata.name}] error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        send(res, 500, undefined);
        return;
      }
      engine.kick();
      const response = result instanceof HttpResponse ? result : new HttpResponse((result ?? {}) as never);
      const out: Record<string, string> = {};
      response.headers.forEach((v, k) => (out[k] = v));
      const payload = Buffer.from(await response.arrayBuffer());
      res.writeHead(response.status, out);
      res.end(payload);
      return;
    }
    send(res, matchedPath ? 405 : 404, undefined);
  };

  const managementPayload = (id: string): Record<string, string> => {
    const urls = clientData().managementUrls as Record<string, string>;
    return Object.fromEntries(Object.entries(urls).map(([k, v]) => [k === 'id' ? 'id' : k, v.replace('INSTANCEID', id)]));
  };

  const managementApi = createManagementApi({
    engine,
    acceptedKeys: () => [systemKey, keys.master, keys._master].filter((k): k is string => Boolean(k)),
    managementPayload,
    readBody,
    maxBodyBytes: MAX_REQUEST_BODY_BYTES,
    statusPageLatencyMs: options.statusPageLatencyMs,
    largePayloadLatencyMs: options.largePayloadLatencyMs,
    fetchLargeInput: (inst) => engine.storedInput(inst.id),
  });

  const serve =
    (listener: () => number, route: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<void>) =>
    (req: http.IncomingMessage, res: http.ServerResponse): void => {
      void (async (): Promise<void> => {
        // A page on another origin that rebinds its DNS name to 127.0.0.1 still sends its own Host.
        if (!hostHeaderAllowed(req.headers.host, listener())) {
          send(res, 400, { message: 'The Host header does not name this local host (127.0.0.1 or localhost, with its port).' });
          return;
        }
        await route(req, res, new URL(req.url ?? '/', `http://127.0.0.1:${listener()}`));
      })().catch((err: unknown) => {
        log(`[durable-host] error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        if (!res.headersSent) send(res, 500, undefined);
      });
    };

  const server: http.Server = http.createServer(
    serve(
      (): number => (server.address() as AddressInfo).port,
      async (req, res, url) => {
        if (url.pathname === '/api' || url.pathname.startsWith('/api/')) await handleApi(req, res, url);
        else if (url.pathname.startsWith(`${WEBHOOKS}/`)) await managementApi.handle(req, res, url, WEBHOOKS, true);
        else send(res, 404, undefined);
      },
    ),
  );
  const rpcServer: http.Server = http.createServer(
    serve(
      (): number => (rpcServer.address() as AddressInfo).port,
      async (req, res, url) => {
        if (url.pathname.startsWith(RPC_PATH)) await managementApi.handle(req, res, url, RPC_PATH.slice(0, -1), false);
        else send(res, 404, undefined);
      },
    ),
  );
  await new Promise<void>((resolve, reject) => {
    rpcServer.once('error', reject);
    rpcServer.listen(options.rpcPort ?? 0, '127.0.0.1', () => resolve());
  });
  rpcBaseUrl = `http://127.0.0.1:${(rpcServer.address() as AddressInfo).port}${RPC_PATH}`;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 7071, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    // The app's port is taken: release what was opened for it, or the process never exits.
    await new Promise<void>((resolve) => rpcServer.close(() => resolve()));
    store.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;
  // The library rewrites client URLs to http://localhost:7071 unless WEBSITE_HOSTNAME is set.
  process.env.WEBSITE_HOSTNAME = `127.0.0.1:${port}`;
  engine.kick();
  armCron();
  log(`[durable-host] listening on ${baseUrl} (${functions.length} functions, ${isVirtual ? 'virtual' : 'real'} clock)`);

  const waitIdle = async (): Promise<void> => {
    for (let spins = 0; ; spins++) {
      await new Promise((r) => setImmediate(r));
      if (engine.isIdle() && pendingCron.size === 0 && spins > 1) return;
    }
  };

  const host: LocalHost = {
    baseUrl,
    rpcBaseUrl,
    systemKey,
    clock,
    functions: functions.map((f) => f.metadata.name),
    engine,
    faults: { duplicateNextActivity: (name) => engine.duplicateNextActivity(name) },
    fetch: (p, init) => fetch(p.startsWith('http') ? p : `${baseUrl}${p}`, init),
    async runUntilIdle(opts = {}) {
      const limit = opts.maxVirtualMs === undefined ? Infinity : clock.now() + opts.maxVirtualMs;
      for (;;) {
        engine.kick();
        await waitIdle();
        if (!(clock instanceof VirtualClock)) return;
        let next = engine.nextTimerAt();
        // Schedules recur forever: they count only when a limit bounds the run.
        if (options.fireSchedulesInVirtualTime && timers.length > 0 && limit !== Infinity) {
          const cron = Math.min(...timers.map((t) => t.next));
          next = next === undefined ? cron : Math.min(next, cron);
        }
        if (next === undefined || next > limit) return;
        clock.advanceTo(next);
        if (options.fireSchedulesInVirtualTime) fireDueSchedules();
      }
    },
    async waitForInstance(id, opts = {}) {
      const deadline = Date.now() + (opts.timeoutMs ?? 10000);
      for (;;) {
        const inst = engine.getInstance(id);
        if (inst && (inst.status === 'Completed' || inst.status === 'Failed' || inst.status === 'Terminated')) return view(engine, inst);
        if (Date.now() > deadline) throw new HostError('DURABLE_HOST_TIMEOUT', `Instance ${id} did not finish (status ${inst?.status ?? 'missing'})`);
        if (clock instanceof VirtualClock) await host.runUntilIdle();
        await new Promise((r) => setTimeout(r, clock instanceof VirtualClock ? 1 : 20));
      }
    },
    getInstance(id) {
      const inst = engine.getInstance(id);
      return inst ? view(engine, inst) : undefined;
    },
    listInstances: () => engine.listInstances().map((i) => view(engine, i, false)),
    startNew: (name, input, instanceId) => engine.startNew(name, input, instanceId).id,
    raiseEvent(id, name, data) {
      const outcome = engine.raiseEvent(id, name, data === undefined ? undefined : JSON.stringify(data));
      if (outcome !== 'accepted') throw new HostError('DURABLE_HOST_RAISE_EVENT', `raiseEvent on ${id}: instance ${outcome}`);
    },
    fireTimer,
    async stop() {
      engine.stop();
      if (cronTimeout) clearTimeout(cronTimeout);
      server.closeAllConnections();
      rpcServer.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => rpcServer.close(() => resolve()));
      store.close();
    },
  };
  return host;
}
