/**
 * The Durable HTTP API as the extension serves it (HttpApiHandler.cs), on two listeners like
 * Azure: the public webhook path `/runtime/webhooks/durabletask/` on the app's port, which needs
 * the system key (the Functions host guards extension webhooks with the `durabletask_extension`
 * system key, or the master key), and the extension's own loopback RPC listener
 * (LocalHttpListener.cs, `http://127.0.0.1:<port>/durabletask/`), which the durable client
 * binding's `rpcBaseUrl` points at and which takes no key. Both refuse a Host header that does
 * not name this machine (a DNS-rebinding page in a browser cannot drive them) and check the key
 * before reading a body.
 */
import type * as http from 'node:http';
import { type Engine, HostError, type InstanceRecord } from './engine';
import { isoTime } from './durations';
import { statusHistory, type StatusHistoryEvent } from './statusHistory';
import { LARGE_INPUT_UTF16_BYTES } from './store';

/** The extension's default page size for status queries (OrchestrationStatusQueryCondition.cs). */
export const STATUS_PAGE_SIZE = 100;
/** DurableClient.cs MaxInstanceIdLength. */
const MAX_INSTANCE_ID_LENGTH = 256;

export interface ManagementApiOptions {
  engine: Engine;
  /** Keys accepted on the public webhook path (system key and master key). */
  acceptedKeys: () => string[];
  /** The management payload (statusQueryGetUri and the rest) for an instance. */
  managementPayload: (id: string) => Record<string, string>;
  readBody: (req: http.IncomingMessage) => Promise<Buffer | 'too-large'>;
  maxBodyBytes: number;
  /** Added before answering each page of a status query, and once per large input fetched (storage latency). */
  statusPageLatencyMs?: number;
  largePayloadLatencyMs?: number;
  /** Reads an input the store holds apart (large payloads), as a status read fetches the blob. */
  fetchLargeInput: (inst: InstanceRecord) => unknown;
}

type Send = (res: http.ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void;

export const send: Send = (res, status, body, headers = {}) => {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
};

/** Hosts a local listener answers to: this machine's loopback names with the listener's port. */
export function hostHeaderAllowed(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const allowed = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  return allowed.includes(host.toLowerCase());
}

/** Path segments, percent-decoded; undefined when an escape is malformed (the caller answers 400). */
export function decodeSegments(pathname: string): string[] | undefined {
  try {
    return pathname
      .split('/')
      .filter((s) => s.length > 0)
      .map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

export function presentedKey(req: http.IncomingMessage, url: URL): string | undefined {
  const header = req.headers['x-functions-key'];
  return (typeof header === 'string' ? header : undefined) ?? url.searchParams.get('code') ?? undefined;
}

const delay = (ms: number | undefined): Promise<void> => (ms && ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

function utf16Bytes(value: unknown): number {
  return (JSON.stringify(value) ?? '').length * 2;
}

/**
 * A query flag as HttpApiHandler.cs TryGetBooleanQueryParameterValue reads it (bool.TryParse:
 * `true`/`false` in any case, surrounding spaces allowed); anything else is the default.
 */
export function queryFlag(url: URL, name: string, fallback: boolean): boolean {
  const value = url.searchParams.get(name)?.trim().toLowerCase();
  return value === 'true' ? true : value === 'false' ? false : fallback;
}

/** The body the extension's status API returns (HttpApiHandler.cs ConvertFrom; parentInstanceId only for a sub-orchestration). */
export function statusBody(inst: InstanceRecord, input: unknown, history?: StatusHistoryEvent[]): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: inst.name,
    instanceId: inst.id,
    ...(inst.parent ? { parentInstanceId: inst.parent.instanceId } : {}),
    runtimeStatus: inst.status,
    input,
    customStatus: inst.customStatus,
    output: inst.output,
    createdTime: isoTime(inst.createdTime),
    lastUpdatedTime: isoTime(inst.lastUpdatedTime),
  };
  if (history) body.historyEvents = history;
  return body;
}

/** An error body shaped like ASP.NET's HttpError (Message, ExceptionMessage), without a stack trace. */
function errorBody(message: string, exceptionMessage?: string): Record<string, string> {
  return exceptionMessage ? { Message: message, ExceptionMessage: exceptionMessage } : { Message: message };
}

export function createManagementApi(opts: ManagementApiOptions): {
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL, basePath: string, requireKey: boolean): Promise<void>;
} {
  const { engine } = opts;

  const inputOf = async (inst: InstanceRecord): Promise<unknown> => {
    if (utf16Bytes(inst.input) <= LARGE_INPUT_UTF16_BYTES) return inst.input;
    await delay(opts.largePayloadLatencyMs);
    return opts.fetchLargeInput(inst);
  };

  const readJson = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<{ ok: true; text: string } | { ok: false }> => {
    const body = await opts.readBody(req);
    if (body === 'too-large') {
      send(res, 413, errorBody(`Request body larger than ${opts.maxBodyBytes} bytes`));
      req.destroy();
      return { ok: false };
    }
    return { ok: true, text: body.toString('utf8') };
  };

  const listInstances = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> => {
    const from = url.searchParams.get('createdTimeFrom');
    const to = url.searchParams.get('createdTimeTo');
    const statuses = url.searchParams.get('runtimeStatus')?.split(',').filter(Boolean);
    const prefix = url.searchParams.get('instanceIdPrefix');
    const showInput = queryFlag(url, 'showInput', true);
    const top = Number(url.searchParams.get('top') ?? STATUS_PAGE_SIZE);
    const pageSize = Number.isInteger(top) && top > 0 ? Math.min(top, STATUS_PAGE_SIZE) : STATUS_PAGE_SIZE;
    const header = req.headers['x-ms-continuation-token'];
    const after = typeof header === 'string' && header.length > 0 ? Buffer.from(header, 'base64url').toString('utf8') : undefined;
    // Azure Storage's instances table is keyed by instance id: a query pages in id order, one
    // table segment per request (Store.queryInstances: at most STATUS_QUERY_SCAN_LIMIT rows examined).
    // A date that does not parse is ignored, as HttpApiHandler.cs TryGetDateTimeQueryParameterValue does.
    const time = (value: string | null): number | undefined => {
      const t = value ? Date.parse(value) : NaN;
      return Number.isNaN(t) ? undefined : t;
    };
    const { rows, next } = engine.queryInstances({ createdFrom: time(from), createdTo: time(to), statuses, prefix: prefix ?? undefined, after, pageSize });
    await delay(opts.statusPageLatencyMs);
    const bodies: Record<string, unknown>[] = [];
    for (const inst of rows) bodies.push(statusBody(inst, showInput ? await inputOf(inst) : null));
    const headers: Record<string, string> = next !== undefined ? { 'x-ms-continuation-token': Buffer.from(next, 'utf8').toString('base64url') } : {};
    send(res, 200, bodies, headers);
  };

  const startNew = async (req: http.IncomingMessage, res: http.ServerResponse, name: string, requestedId: string | undefined): Promise<void> => {
    const body = await readJson(req, res);
    if (!body.ok) return;
    let input: unknown = null;
    if (body.text.length > 0) {
      try {
        input = JSON.parse(body.text) as unknown;
      } catch {
        send(res, 400, errorBody('Invalid JSON content'));
        return;
      }
    }
    // HttpApiHandler.cs answers an ArgumentException (unknown orchestrator, bad id) with 400 and
    // anything else, such as DTFx's OrchestrationAlreadyExistsException, with 500.
    const badArguments = (detail: string): void => send(res, 400, errorBody('One or more of the arguments submitted is incorrect', detail));
    if (!engine.hasOrchestrator(name)) {
      const known = engine.orchestratorNames();
      badArguments(
        `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function. Additional info: ${known.length > 0 ? `The following are the known orchestrator functions: '${known.join("', '")}'.` : 'No orchestrator functions are currently registered!'}`,
      );
      return;
    }
    if (requestedId !== undefined) {
      if (requestedId.startsWith('@')) return badArguments('Orchestration instance ids must not start with @.');
      // eslint-disable-next-line no-control-regex -- control characters are what DurableClient.cs refuses
      if (/[/\\?#\u0000-\u001f\u007f-\u009f]/.test(requestedId)) return badArguments('Orchestration instance ids must not contain /, \\, #, ?, or control characters.');
      if (requestedId.length > MAX_INSTANCE_ID_LENGTH) return badArguments(`Instance ID lengths must not exceed ${MAX_INSTANCE_ID_LENGTH} characters.`);
    }
    try {
      const inst = engine.startNew(name, input, requestedId);
      const payload = opts.managementPayload(inst.id);
      send(res, 202, payload, { Location: payload.statusQueryGetUri ?? '', 'Retry-After': '10' });
    } catch (err) {
      if (err instanceof HostError && err.code === 'DURABLE_HOST_INSTANCE_EXISTS') {
        const existing = engine.getInstance(requestedId ?? '');
        send(res, 500, errorBody('Something went wrong while processing your request', `An Orchestration instance with the status ${existing?.status ?? 'Running'} already exists.`));
        return;
      }
      throw err;
    }
  };

  const raiseEvent = async (req: http.IncomingMessage, res: http.ServerResponse, id: string, eventName: string): Promise<void> => {
    const inst = engine.getInstance(id);
    if (!inst) return send(res, 404, undefined);
    if (inst.status === 'Completed' || inst.status === 'Failed' || inst.status === 'Terminated') return send(res, 410, undefined);
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/json') return send(res, 400, errorBody('Only application/json request content is supported'));
    const body = await readJson(req, res);
    if (!body.ok) return;
    try {
      JSON.parse(body.text);
    } catch {
      return send(res, 400, errorBody('Invalid JSON content'));
    }
    engine.raiseEvent(id, eventName, body.text);
    send(res, 202, undefined);
  };

  /**
   * `entities/{name}/{key}` as HttpApiHandler.cs routes it: GET reads the state
   * (HandleGetEntityRequestAsync: 200 with the state, 404 when the entity does not exist, `$` for
   * an empty key); POST signals the operation `?op=` and DELETE the operation "delete"
   * (HandlePostEntityOperationRequestAsync: an application/json body is parsed, any other body is
   * a string input, no body no input; 202), an ArgumentException (unknown entity, bad key) 400.
   */
  const entityRoute = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL, method: string, name: string | undefined, key: string | undefined): Promise<void> => {
    if (method === 'GET') {
      // Listing entities (GET entities/{name}) is not a durable-functions client call.
      if (!name || !key) return send(res, 501, errorBody('Listing entities is not supported by the local durable host'));
      const found = engine.readEntity(name, key === '$' ? '' : key);
      return found ? send(res, 200, found.state) : send(res, 404, undefined);
    }
    if (method !== 'POST' && method !== 'DELETE') return send(res, 404, undefined);
    if (!name) return send(res, 400, errorBody("Invalid entity id: entity name must not be a null or empty string. (Parameter 'entityName')"));
    const operation = method === 'DELETE' ? 'delete' : (url.searchParams.get('op') ?? '');
    const body = await readJson(req, res);
    if (!body.ok) return;
    let input: string | undefined;
    if (body.text.length > 0) {
      const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (mediaType === 'application/json') {
        try {
          input = JSON.stringify(JSON.parse(body.text));
        } catch (err) {
          return send(res, 400, errorBody(`Could not parse JSON content: ${err instanceof Error ? err.message : 'invalid JSON'}`));
        }
      } else {
        input = JSON.stringify(body.text);
      }
    }
    try {
      engine.signalEntity(name, key ?? '', operation, input);
    } catch (err) {
      if (err instanceof HostError) return send(res, 400, errorBody(err.message));
      throw err;
    }
    send(res, 202, undefined);
  };

  return {
    async handle(req, res, url, basePath, requireKey) {
      if (requireKey) {
        const key = presentedKey(req, url);
        if (!key || !opts.acceptedKeys().includes(key)) {
          send(res, 401, undefined);
          return;
        }
      }
      const parts = decodeSegments(url.pathname.slice(basePath.length));
      if (!parts) {
        send(res, 400, errorBody('The request path has a malformed percent-encoding.'));
        return;
      }
      const method = (req.method ?? 'GET').toUpperCase();
      const reason = url.searchParams.get('reason') ?? '';
      const [head, a, b, c, ...rest] = parts;
      // Routes and answers of HttpApiHandler.cs HandleRequestAsync: a known path with another
      // method, or an unknown path, is 404.
      if (head === 'orchestrators' && a && c === undefined) {
        if (method !== 'POST') return send(res, 404, undefined);
        return startNew(req, res, a, b);
      }
      if (head === 'entities' && c === undefined) return entityRoute(req, res, url, method, a, b);
      if (head !== 'instances' || rest.length > 0) return send(res, 404, undefined);
      if (!a) {
        if (method === 'GET') return listInstances(req, res, url);
        if (method === 'DELETE') {
          const from = url.searchParams.get('createdTimeFrom');
          if (!from) return send(res, 400, "Please provide value for 'createdTimeFrom' parameter.");
          const to = url.searchParams.get('createdTimeTo');
          const statuses = url.searchParams.get('runtimeStatus')?.split(',').filter(Boolean);
          const selected = engine
            .listInstances()
            .filter((i) => i.createdTime >= Date.parse(from) && (!to || i.createdTime <= Date.parse(to)) && (!statuses || statuses.length === 0 || statuses.includes(i.status)));
          for (const i of selected) engine.purge(i.id);
          return selected.length > 0 ? send(res, 200, { instancesDeleted: selected.length }) : send(res, 404, undefined);
        }
        return send(res, 404, undefined);
      }
      if (!b) {
        const inst = engine.getInstance(a);
        if (method === 'GET') {
          if (!inst) return send(res, 404, undefined);
          // HttpApiHandler.cs HandleGetStatusRequestAsync and DurableClient.cs GetStatusAsync.
          const showInput = queryFlag(url, 'showInput', true);
          const showHistoryOutput = queryFlag(url, 'showHistoryOutput', false);
          // A Pending instance has no history to show (GetDurableOrchestrationStatusAsync).
          const execution = queryFlag(url, 'showHistory', false) && inst.status !== 'Pending' ? engine.historyOf(a).at(-1) : undefined;
          const history = execution
            ? statusHistory(execution.events, { showHistoryOutput, showInput, generation: execution.execution === 0 && !inst.parent ? 0 : null })
            : undefined;
          const running = inst.status === 'Pending' || inst.status === 'Running' || inst.status === 'Suspended';
          const failedAs500 = inst.status === 'Failed' && queryFlag(url, 'returnInternalServerErrorOnFailure', false);
          // 202 while running, with the request's own URL as Location and Retry-After 5; 200 once
          // Completed/Failed/Terminated, or 500 for Failed with returnInternalServerErrorOnFailure.
          const body = statusBody(inst, showInput ? await inputOf(inst) : null, history);
          const location = `http://${req.headers.host ?? url.host}${req.url ?? url.pathname + url.search}`;
          return send(res, running ? 202 : failedAs500 ? 500 : 200, body, running ? { Location: location, 'Retry-After': '5' } : {});
        }
        if (method === 'DELETE') {
          return engine.purge(a) ? send(res, 200, { instancesDeleted: 1 }) : send(res, 404, undefined);
        }
        return send(res, 404, undefined);
      }
      if (method !== 'POST') return send(res, 404, undefined);
      if (b === 'raiseEvent' && c) return raiseEvent(req, res, a, c);
      if (c !== undefined) return send(res, 404, undefined);
      const operation = b.toLowerCase();
      let outcome: 'accepted' | 'gone' | 'missing';
      if (operation === 'terminate') outcome = engine.terminate(a, reason);
      else if (operation === 'suspend') outcome = engine.suspend(a, reason);
      else if (operation === 'resume') outcome = engine.resume(a, reason);
      else if (operation === 'rewind' || operation === 'restart') return send(res, 501, errorBody(`'${b}' is not supported by the local durable host`));
      else return send(res, 404, undefined);
      send(res, outcome === 'accepted' ? 202 : outcome === 'gone' ? 410 : 404, undefined);
    },
  };
}
