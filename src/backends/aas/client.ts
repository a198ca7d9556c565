import type { Dispatcher } from 'undici';
import { ZodError } from 'zod';
import { AppError, ErrorCodes, type ErrorCode } from '../../errors';
import { callWithBearer, clip, clientDispatcher, header, parseRetryAfter, redact, transportFailure, type HttpAnswer } from '../../http/call';
import type { ScopedTokens } from '../../refresh/port';
import { refreshTypeProblem } from '../../refresh/types';
import { parseRefreshDetails, parseRefreshList, parseSyncDetails } from './parse';
import { aasTokenScope, encodeSegment, modelBaseUrl, resolveServer } from './serverName';
import {
  COMMIT_MODES,
  type AasClient,
  type ModelRef,
  type RefreshRequest,
  type SubmitRefreshResult,
  type SubmitSyncResult,
} from './types';

export interface AasClientOptions {
  /** AAS_ALLOWED_HOSTS patterns. */
  allowedHosts: readonly string[];
  /** Tokens by scope; the client asks for its server's (aasTokenScope). */
  tokenProvider: ScopedTokens;
  /** Connect, headers and body timeout of each call. */
  requestTimeoutMs: number;
  /** Tests inject a MockAgent or an agent with a custom CA; otherwise the client owns a pooled agent. */
  dispatcher?: Dispatcher;
}

/** The port plus `close()`, which releases the pooled connections the client owns. */
export interface ClosableAasClient extends AasClient {
  close(): Promise<void>;
}

export type AasOperation = 'submitRefresh' | 'getRefresh' | 'listRefreshes' | 'cancelRefresh' | 'submitSync' | 'getSync';

const DEFAULTS: RefreshRequest = { type: 'automatic', commitMode: 'transactional', maxParallelism: 10, retryCount: 0, objects: [] };

/** The documented defaults for every field left out (automatic, transactional, 10, 0, whole model). */
export function toRefreshRequest(partial: Partial<RefreshRequest> = {}): RefreshRequest {
  return {
    type: partial.type ?? DEFAULTS.type,
    commitMode: partial.commitMode ?? DEFAULTS.commitMode,
    maxParallelism: partial.maxParallelism ?? DEFAULTS.maxParallelism,
    retryCount: partial.retryCount ?? DEFAULTS.retryCount,
    objects: partial.objects ?? [],
  };
}

/** Refuses what the service would refuse, before a token is requested. */
function validateRefreshRequest(refresh: RefreshRequest): void {
  const problems: string[] = [];
  const typeProblem = refreshTypeProblem(refresh.type);
  if (typeProblem !== undefined) problems.push(typeProblem);
  if (!(COMMIT_MODES as readonly string[]).includes(refresh.commitMode)) problems.push(`commitMode "${refresh.commitMode}" is not one of ${COMMIT_MODES.join(', ')}`);
  if (!Number.isInteger(refresh.maxParallelism) || refresh.maxParallelism < 1) problems.push('maxParallelism must be an integer >= 1');
  if (!Number.isInteger(refresh.retryCount) || refresh.retryCount < 0) problems.push('retryCount must be an integer >= 0');
  refresh.objects.forEach((object, index) => {
    if (typeof object.table !== 'string' || object.table.length === 0) problems.push(`objects[${index}].table is empty`);
    if (object.partition !== undefined && (typeof object.partition !== 'string' || object.partition.length === 0)) problems.push(`objects[${index}].partition is empty`);
  });
  if (problems.length > 0) throw new AppError(ErrorCodes.INVALID_REQUEST, `Invalid refresh request: ${problems.join('; ')}.`);
}

export { parseRetryAfter };

/** The `message` of a flat AAS error body (or of a Power BI style `{error: {...}}` wrapper). */
function errorBodyMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed === null || typeof parsed !== 'object') return undefined;
    const record = parsed as Record<string, unknown>;
    const inner = (typeof record.error === 'object' && record.error !== null ? record.error : record) as Record<string, unknown>;
    const code = typeof inner.code === 'string' ? inner.code : undefined;
    const message = typeof inner.message === 'string' ? inner.message : undefined;
    if (code === undefined && message === undefined) return undefined;
    return [code, message].filter((part) => part !== undefined).join(': ');
  } catch {
    return undefined;
  }
}

export type AasAnswer = HttpAnswer;

/**
 * The one place that turns an AAS answer into success or an AppError. Returns normally for 2xx;
 * the caller then parses the body.
 */
export function raiseForStatus(operation: AasOperation, target: string, answer: AasAnswer, onUnauthorized: () => void): void {
  const { status, headers, body } = answer;
  if (status >= 200 && status < 300) return;
  const rootActivityId = header(headers, 'x-ms-root-activity-id');
  const xmlaError = header(headers, 'x-ms-xmlaerror-extended');
  const bodyMessage = errorBodyMessage(body);
  const details = [xmlaError === undefined ? undefined : `x-ms-xmlaerror-extended: ${clip(xmlaError)}`, bodyMessage === undefined ? undefined : `body: ${clip(bodyMessage)}`]
    .filter((part) => part !== undefined)
    .join('; ');
  const fail = (code: ErrorCode, what: string, retryable: boolean, retryAfterMs?: number): never => {
    const suffix = [details, rootActivityId === undefined ? undefined : `root activity id ${rootActivityId}`].filter((part) => part !== undefined && part !== '').join('; ');
    throw new AppError(code, `AAS ${operation} on ${target}: HTTP ${status} ${what}${suffix === '' ? '' : ` (${suffix})`}`, {
      retryable,
      retryAfterMs,
      httpStatus: status,
      rootActivityId,
    });
  };
  if (status === 409) fail(ErrorCodes.AAS_CONFLICT, 'conflict: another refresh is running on this model', false);
  if (status === 429) fail(ErrorCodes.AAS_THROTTLED, 'throttled', true, parseRetryAfter(header(headers, 'retry-after')));
  if (status >= 500 || status === 408) fail(ErrorCodes.AAS_TRANSIENT, 'server error', true);
  if (status === 401 || status === 403) {
    onUnauthorized();
    fail(ErrorCodes.AAS_UNAUTHORIZED, 'the token was rejected', true);
  }
  if (status === 400 && xmlaError !== undefined && /administrator/i.test(xmlaError)) {
    // AAS gives one answer for both, so the code names both: a typo in the server name must not
    // read as a permission problem.
    fail(ErrorCodes.AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN, 'the server does not exist, or the identity is not one of its administrators (AAS does not say which)', false);
  }
  if (status === 404) fail(ErrorCodes.AAS_NOT_FOUND, 'not found', false);
  if (status >= 400) fail(ErrorCodes.AAS_BAD_REQUEST, 'bad request', false);
  // 1xx/3xx: redirects are never followed (they could carry the token elsewhere).
  fail(ErrorCodes.AAS_BAD_RESPONSE, 'unexpected status', false);
}

/**
 * The last path segment after `marker` in an absolute or relative Location, or its `operationId`
 * query. An unusable Location gives undefined rather than an error: the operation did start, and
 * the caller can find it in the history.
 */
function idFromLocation(location: string | undefined, baseUrl: string, marker: string): string | undefined {
  if (location === undefined || location.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(location.trim(), baseUrl);
  } catch {
    return undefined;
  }
  const fromQuery = [...url.searchParams.entries()].find(([key]) => key.toLowerCase() === 'operationid')?.[1];
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  const markerIndex = segments.map((segment) => segment.toLowerCase()).lastIndexOf(marker);
  const fromPath = markerIndex >= 0 && markerIndex < segments.length - 1 ? segments[segments.length - 1] : undefined;
  const raw = fromQuery ?? fromPath;
  if (raw === undefined) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    id = raw;
  }
  return /^(?!\.+$)[A-Za-z0-9._~-]{1,128}$/.test(id) ? id : undefined;
}

function transportError(operation: AasOperation, target: string, error: unknown): AppError {
  return new AppError(ErrorCodes.AAS_TRANSIENT, `AAS ${operation} on ${target}: no answer (${transportFailure(error)})`, { retryable: true, cause: error });
}

export function createAasClient(options: AasClientOptions): ClosableAasClient {
  const { allowedHosts, tokenProvider, requestTimeoutMs } = options;
  const { dispatcher, close: closeDispatcher } = clientDispatcher(options.dispatcher, requestTimeoutMs);

  interface Call {
    operation: AasOperation;
    model: ModelRef;
    method: 'GET' | 'POST' | 'DELETE';
    /** Relative to the model's base URL. */
    path: string;
    body?: unknown;
  }

  async function call({ operation, model, method, path, body }: Call): Promise<{ answer: AasAnswer; baseUrl: string }> {
    // Allow-list first: a refused server must never cause a token request.
    const server = resolveServer(model.server, allowedHosts);
    const baseUrl = modelBaseUrl(server, model.model);
    const target = `${model.server} model "${model.model}"`;
    const scope = aasTokenScope(server);
    const token = await tokenProvider.getToken(scope);
    let answer: AasAnswer;
    try {
      answer = await callWithBearer({ url: `${baseUrl}${path}`, method, token, body, dispatcher, timeoutMs: requestTimeoutMs });
    } catch (error) {
      const mapped = transportError(operation, target, error);
      throw new AppError(mapped.code, redact(mapped.detail, token), { retryable: true, cause: error });
    }
    try {
      raiseForStatus(operation, target, answer, () => tokenProvider.invalidate(scope));
    } catch (error) {
      if (error instanceof AppError) {
        throw new AppError(error.code, redact(error.detail, token), {
          retryable: error.retryable,
          retryAfterMs: error.retryAfterMs,
          httpStatus: error.httpStatus,
          rootActivityId: error.rootActivityId,
        });
      }
      throw error;
    }
    return { answer, baseUrl };
  }

  function parseBody<T>(operation: AasOperation, answer: AasAnswer, parse: (body: unknown) => T): T {
    try {
      return parse(JSON.parse(answer.body) as unknown);
    } catch (error) {
      const reason = error instanceof ZodError ? error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ') : 'not JSON';
      throw new AppError(ErrorCodes.AAS_BAD_RESPONSE, `AAS ${operation}: the answer does not have the expected shape (${clip(reason, 500)}).`, {
        httpStatus: answer.status,
        rootActivityId: header(answer.headers, 'x-ms-root-activity-id'),
      });
    }
  }

  const rootActivityIdOf = (answer: AasAnswer): string | undefined => header(answer.headers, 'x-ms-root-activity-id');

  return {
    async submitRefresh(model, refresh): Promise<SubmitRefreshResult> {
      validateRefreshRequest(refresh);
      const body = {
        Type: refresh.type,
        CommitMode: refresh.commitMode,
        MaxParallelism: refresh.maxParallelism,
        RetryCount: refresh.retryCount,
        Objects: refresh.objects.map((object) => (object.partition === undefined ? { table: object.table } : { table: object.table, partition: object.partition })),
      };
      const { answer, baseUrl } = await call({ operation: 'submitRefresh', model, method: 'POST', path: 'refreshes', body });
      const refreshId = idFromLocation(header(answer.headers, 'location'), baseUrl, 'refreshes');
      return { refreshId, rootActivityId: rootActivityIdOf(answer) };
    },

    async getRefresh(model, refreshId) {
      const path = `refreshes/${encodeSegment(refreshId, 'refresh id')}`;
      const { answer } = await call({ operation: 'getRefresh', model, method: 'GET', path });
      return parseBody('getRefresh', answer, (body) => parseRefreshDetails(body, refreshId));
    },

    async listRefreshes(model) {
      const { answer } = await call({ operation: 'listRefreshes', model, method: 'GET', path: 'refreshes' });
      return parseBody('listRefreshes', answer, parseRefreshList);
    },

    async cancelRefresh(model, refreshId) {
      const path = `refreshes/${encodeSegment(refreshId, 'refresh id')}`;
      await call({ operation: 'cancelRefresh', model, method: 'DELETE', path });
    },

    async submitSync(model): Promise<SubmitSyncResult> {
      const { answer, baseUrl } = await call({ operation: 'submitSync', model, method: 'POST', path: 'sync', body: {} });
      const operationId = idFromLocation(header(answer.headers, 'location'), baseUrl, 'sync');
      return { operationId, rootActivityId: rootActivityIdOf(answer) };
    },

    async getSync(model, operationId) {
      const path = `sync?operationId=${encodeSegment(operationId, 'sync operation id')}`;
      const { answer } = await call({ operation: 'getSync', model, method: 'GET', path });
      return parseBody('getSync', answer, (body) => parseSyncDetails(body, operationId));
    },

    async close() {
      await closeDispatcher();
    },
  };
}
