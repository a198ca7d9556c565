import { startEmulators, type Emulators, type EmulatorsOptions } from './emulators';
import { startLocalHost, type LocalHost, type LocalHostOptions } from './durable-host';

/**
 * The one way the app is stood up outside Azure, shared by `npm start` (local/devStack.ts), the
 * test stack (test/support/appStack.ts) and the benchmarks (bench/appOnHost.ts): the emulators
 * (AAS, Power BI, identity), the app's settings pointed at them and put into process.env (the app
 * reads them once, when it loads, as in Azure), the real app on the local durable host with one
 * function key, and a client for its HTTP API. Each caller chooses the clock, the ports, the
 * settings and the entry; what they share cannot drift apart.
 */

export interface AppOnLocalHostOptions {
  emulators?: EmulatorsOptions;
  /** Every app setting, given the started emulators (start from `emulators.appSettings()`). */
  settings: (emulators: Emulators) => Record<string, string>;
  /** Runs after the emulators start and before the app loads (e.g. to apply scenarios). */
  prepare?: (emulators: Emulators) => void;
  /** The local host's options, without its keys. */
  host: Omit<LocalHostOptions, 'functionKeys'>;
  /** The key of the app's `default` function key, sent by `api`. */
  functionKey: string;
  /** Rewrites a start-up failure (a port in use) into one that names the setting to change. */
  explain?: (error: unknown) => unknown;
}

export interface ApiAnswer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface ApiCallOptions {
  body?: unknown;
  /** Sent as is instead of `body` (malformed JSON, odd encodings). */
  rawBody?: string;
  headers?: Record<string, string>;
  /** Another key, or null for none; default the stack's function key. */
  key?: string | null;
}

export interface AppOnLocalHost {
  emulators: Emulators;
  /** The current host (a new one after `restartHost`). */
  readonly host: LocalHost;
  functionKey: string;
  /** The settings the app was loaded with. */
  settings: Record<string, string>;
  /** One call to `/api/<route>`; the body is parsed when it is JSON. */
  api(method: string, route: string, options?: ApiCallOptions): Promise<ApiAnswer>;
  /** Stops the host and starts a new one with the same options (the same durable state when `host.stateDir` is a directory). */
  restartHost(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAppOnLocalHost(options: AppOnLocalHostOptions): Promise<AppOnLocalHost> {
  const explain = options.explain ?? ((error: unknown) => error);
  const emulators = await startEmulators(options.emulators).catch((error: unknown) => {
    throw explain(error);
  });
  let host: LocalHost;
  let settings: Record<string, string>;
  const launch = () =>
    startLocalHost({ ...options.host, functionKeys: { default: options.functionKey } }).catch((error: unknown) => {
      throw explain(error);
    });
  try {
    settings = options.settings(emulators);
    options.prepare?.(emulators);
    Object.assign(process.env, settings);
    host = await launch();
  } catch (error) {
    await emulators.close();
    throw error;
  }

  async function api(method: string, route: string, call: ApiCallOptions = {}): Promise<ApiAnswer> {
    const headers: Record<string, string> = { ...(call.body === undefined ? {} : { 'content-type': 'application/json' }), ...call.headers };
    if (call.key !== null) headers['x-functions-key'] = call.key ?? options.functionKey;
    const response = await host.fetch(`/api/${route}`, { method, headers, body: call.rawBody ?? (call.body === undefined ? undefined : JSON.stringify(call.body)) });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body, text };
  }

  return {
    emulators,
    get host() {
      return host;
    },
    functionKey: options.functionKey,
    settings,
    api,
    async restartHost() {
      await host.stop();
      host = await launch();
    },
    async stop() {
      await host.stop();
      await emulators.close();
    },
  };
}
