/**
 * The HTTP mechanics the AAS and Power BI emulators share: reading a request, the request log with
 * its hooks, fault queues and the faults that act on the connection, answers held or dropped, the
 * `/_emulator` control routes, and the HTTPS listener. What each service answers stays in its surface.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { LocalTls } from '../../tls';
import type { TokenCheck, TokenIssuer } from '../jwt';

export interface Answer {
  status: number;
  body?: unknown;
  /** Already serialised JSON (for integers beyond 2^53, written exactly as the service does). */
  rawBody?: string;
  headers?: Record<string, string>;
}

/** What every request log entry carries. */
export interface LoggedRequest {
  /** HTTP status answered; 0 when the connection was dropped without an answer. */
  status: number;
}

export interface ReadRequest {
  method: string;
  /** The raw (still percent-encoded) path. */
  path: string;
  queryText: string;
  body: string;
}

export async function readRequest(req: IncomingMessage): Promise<ReadRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const rawUrl = req.url ?? '/';
  const queryIndex = rawUrl.indexOf('?');
  return {
    method: req.method ?? 'GET',
    path: queryIndex >= 0 ? rawUrl.slice(0, queryIndex) : rawUrl,
    queryText: queryIndex >= 0 ? rawUrl.slice(queryIndex + 1) : '',
    body: Buffer.concat(chunks).toString('utf8'),
  };
}

export function isControlPath(path: string): boolean {
  return path === '/_emulator' || path.startsWith('/_emulator/');
}

/** The bearer token of the Authorization header checked for `audience`. */
export function verifyBearer(issuer: TokenIssuer, authorization: string | undefined, audience: string): TokenCheck {
  const bearer = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
  return bearer === undefined ? { ok: false, reason: 'no bearer token' } : issuer.verify(bearer, audience);
}

type AnswerGate<Entry> = (entry: Entry) => Promise<void> | undefined;

/** The request log, and the hooks a test sets on it (holdAnswers, onRequest). */
export class RequestLog<Entry extends LoggedRequest> {
  readonly entries: Entry[] = [];
  gate: AnswerGate<Entry> | undefined;
  listener: ((entry: Entry) => void) | undefined;

  /** Logs a request as it arrives (status still 0) and tells the listener. */
  add(entry: Entry): Entry {
    this.entries.push(entry);
    this.listener?.(entry);
    return entry;
  }
}

export interface Responder {
  /** Records the status, lets the gate hold the answer, then writes it (unless the caller has gone). */
  send(answer: Answer): void;
  /** Destroys the socket without answering (logged as status 0). */
  drop(): void;
}

export function responder<Entry extends LoggedRequest>(req: IncomingMessage, res: ServerResponse, entry: Entry, log: RequestLog<Entry>, headers: Record<string, string>): Responder {
  const write = (answer: Answer): void => {
    const text = answer.rawBody ?? (answer.body === undefined ? '' : JSON.stringify(answer.body));
    res.writeHead(answer.status, {
      ...headers,
      ...(answer.headers ?? {}),
      ...(text === '' ? {} : { 'content-type': 'application/json; charset=utf-8' }),
      'content-length': String(Buffer.byteLength(text)),
    });
    res.end(text);
  };
  return {
    send: (answer) => {
      entry.status = answer.status;
      const hold = log.gate?.(entry);
      if (hold !== undefined) {
        void hold.then(() => {
          if (!req.socket.destroyed) write(answer);
        });
        return;
      }
      write(answer);
    },
    drop: () => {
      entry.status = 0;
      req.socket.destroy();
    },
  };
}

/** Faults that act on the connection rather than answer with a status. */
export type ConnectionFault =
  /** Destroys the socket without answering and without doing the work. */
  | { kind: 'reset' }
  /** Does the work (e.g. really starts the refresh), then destroys the socket: the lost reply. */
  | { kind: 'resetAfterProcessing' }
  /** Waits this long in real time before handling the request (for client timeouts). */
  | { kind: 'delay'; ms: number }
  /** Answers a POST without its Location header. */
  | { kind: 'omitLocation' }
  /** 401 as for an expired token. */
  | { kind: 'expireTokens' };

export interface StatusFault {
  status: number;
  retryAfterSeconds?: number;
}

/** Injected faults, each hitting a number of matching requests. */
export class FaultQueue<Spec extends { times?: number }> {
  private active: Array<{ spec: Spec; remaining: number }> = [];

  add(spec: Spec, times = spec.times ?? 1): void {
    this.active.push({ spec, remaining: times });
  }

  clear(): void {
    this.active = [];
  }

  /** The first fault that matches, counted as used once. */
  take(matches: (spec: Spec) => boolean): Spec | undefined {
    const match = this.active.find(({ spec }) => matches(spec));
    if (match === undefined) return undefined;
    match.remaining -= 1;
    if (match.remaining <= 0) this.active = this.active.filter((candidate) => candidate !== match);
    return match.spec;
  }
}

/** How the request goes on after its fault: not at all (answered or dropped), or normally with these changes. */
export type FaultOutcome = 'done' | { omitLocation: boolean; resetAfterProcessing: boolean };

/**
 * Acts on a request's fault: a status fault is answered with the surface's `statusAnswer`, an
 * expired token with `expiredToken`; reset drops, delay waits (unreferenced, so a delayed answer
 * does not keep a process alive after close), omitLocation and resetAfterProcessing are returned.
 */
export async function applyFault<Status extends StatusFault>(
  fault: Status | ConnectionFault | undefined,
  req: IncomingMessage,
  reply: Responder,
  answers: { statusAnswer: (fault: Status) => Answer; expiredToken: () => Answer },
): Promise<FaultOutcome> {
  const outcome = { omitLocation: false, resetAfterProcessing: false };
  if (fault === undefined) return outcome;
  if ('status' in fault) {
    reply.send(answers.statusAnswer(fault));
    return 'done';
  }
  switch (fault.kind) {
    case 'reset':
      reply.drop();
      return 'done';
    case 'expireTokens':
      reply.send(answers.expiredToken());
      return 'done';
    case 'delay':
      await new Promise((resolve) => setTimeout(resolve, fault.ms).unref());
      return req.socket.destroyed ? 'done' : outcome;
    case 'omitLocation':
      return { ...outcome, omitLocation: true };
    case 'resetAfterProcessing':
      return { ...outcome, resetAfterProcessing: true };
  }
}

export interface ControlRoutes {
  scenarioNames: readonly string[];
  /** GET /_emulator: the body beside nothing else. */
  describe(): unknown;
  /** Applies a known scenario with the parsed JSON body (undefined when empty); returns what was done. */
  applyScenario(name: string, options: unknown): string;
  reset(): void;
  /** Further routes (e.g. a callback sink), tried after the shared ones; undefined when none matches. */
  more?(method: string, path: string, parts: string[], parseBody: () => unknown): { status: number; body: unknown } | undefined;
}

/** GET /_emulator, POST /_emulator/scenarios/<name>, POST /_emulator/reset and the surface's own. */
export function control(routes: ControlRoutes, method: string, path: string, body: string): { status: number; body: unknown } {
  const parts = path.split('/').filter((part) => part !== '').slice(1);
  const [what, name] = parts;
  const parseBody = (): unknown => {
    if (body.trim() === '') return undefined;
    try {
      return JSON.parse(body) as unknown;
    } catch {
      throw new Error('the body is not valid JSON');
    }
  };
  try {
    if (what === undefined && method === 'GET') return { status: 200, body: routes.describe() };
    if (what === 'scenarios' && method === 'POST' && parts.length === 2 && name !== undefined) {
      if (!routes.scenarioNames.includes(name)) return { status: 404, body: { error: `no scenario "${name.slice(0, 64)}" (${routes.scenarioNames.join(', ')})` } };
      return { status: 200, body: { scenario: name, applied: routes.applyScenario(name, parseBody()) } };
    }
    if (what === 'reset' && method === 'POST' && parts.length === 1) {
      routes.reset();
      return { status: 200, body: { reset: true } };
    }
    const answer = routes.more?.(method, path, parts, parseBody);
    if (answer !== undefined) return answer;
    return { status: 404, body: { error: `no control route ${method} ${path.slice(0, 100)}` } };
  } catch (problem) {
    return { status: 400, body: { error: problem instanceof Error ? problem.message : String(problem) } };
  }
}

/** Writes a control route's answer (JSON, not logged as a service request). */
export function writeControlAnswer(res: ServerResponse, answer: { status: number; body: unknown }): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/** What a test does with either surface's requests: read the log, inject faults, hook the answers. */
export interface RequestHooks<Entry extends LoggedRequest, Spec> {
  /** Every request but the control routes', oldest first. */
  readonly requests: Entry[];
  inject(spec: Spec): void;
  clearFaults(): void;
  /**
   * Called with each request's log entry (status set) once the service has handled it, before the
   * answer is written; a returned promise holds the answer until it settles (a crash test kills
   * the caller in between: "the service did it, the caller never heard"). Undefined removes it.
   */
  holdAnswers(gate: AnswerGate<Entry> | undefined): void;
  /** Called with each request's log entry as it arrives (status still 0); undefined removes it. */
  onRequest(listener: ((entry: Entry) => void) | undefined): void;
}

export function requestHooks<Entry extends LoggedRequest, Spec extends { times?: number }>(log: RequestLog<Entry>, faults: FaultQueue<Spec>): RequestHooks<Entry, Spec> {
  return {
    requests: log.entries,
    inject: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    holdAnswers: (gate) => {
      log.gate = gate;
    },
    onRequest: (listener) => {
      log.listener = listener;
    },
  };
}

export interface Listening {
  /** `127.0.0.1:<port>` */
  host: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 over TLS; a handler that throws answers 500 with `internalError(error)`. */
export async function listenHttps(tls: LocalTls, port: number | undefined, handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>, internalError: (error: unknown) => unknown): Promise<Listening> {
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    handler(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(internalError(error)));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
