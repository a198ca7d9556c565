import type { Dispatcher } from 'undici';
import { ZodError } from 'zod';
import { AppError, ErrorCodes } from '../../errors';
import { callWithBearer, clientDispatcher, header, redact, transportFailure, type HttpAnswer } from '../../http/call';
import { isHostAllowed } from '../../http/hostPolicy';
import type { ScopedTokens } from '../../refresh/port';
import type { PowerBiTarget } from '../../refresh/target';
import type { RefreshRequest, SubmittedRefresh, SubmittedSync, SyncDetails } from '../../refresh/types';
import { parseNamedItems, parseQueryScaleOutStatus, parseRefreshDetails, parseRefreshHistory, type PowerBiRefreshDetails, type PowerBiRefreshSummary, type QueryScaleOutStatus } from './answers';
import { answerError, classifyAnswer, serviceRequestIdOf, type PowerBiOperation } from './errors';
import { toPowerBiRefreshBody } from './refreshBody';
import { groupsByNameQuery, parsePowerBiTarget, pickByName, resolvedIds, unresolvedNameError } from './target';

/** The Entra scope of Power BI REST API tokens (audience https://analysis.windows.net/powerbi/api). */
export const POWERBI_SCOPE = 'https://analysis.windows.net/powerbi/api/.default';

/** The documented default length of the refresh history; asked for explicitly so that a changed default changes nothing here. */
export const HISTORY_ROWS = 60;

export interface PowerBiClientOptions {
  /** `https://api.powerbi.com/v1.0/myorg` (or the local emulator's); its host must be on `allowedHosts`. */
  apiBaseUrl: string;
  /** POWERBI_ALLOWED_HOSTS patterns: the only hosts a token goes to. */
  allowedHosts: readonly string[];
  tokens: ScopedTokens;
  requestTimeoutMs: number;
  dispatcher?: Dispatcher;
}

/** The checked API base: https, no credentials, query or fragment, its host on the allow-list. Pure. */
export function checkApiBaseUrl(apiBaseUrl: string, allowedHosts: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(apiBaseUrl);
  } catch {
    throw new AppError(ErrorCodes.CONFIG_INVALID, 'POWERBI_API_BASE_URL is not a URL.');
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new AppError(ErrorCodes.CONFIG_INVALID, 'POWERBI_API_BASE_URL must be an https URL without credentials, query or fragment, such as https://api.powerbi.com/v1.0/myorg.');
  }
  const port = url.port === '' ? 443 : Number(url.port);
  if (!isHostAllowed({ hostname: url.hostname.toLowerCase(), port }, allowedHosts)) {
    throw new AppError(ErrorCodes.POWERBI_HOST_NOT_ALLOWED, `Power BI host "${url.host}" is not in POWERBI_ALLOWED_HOSTS (${allowedHosts.join(', ')}); no token was sent.`);
  }
  return url.href.replace(/\/+$/, '');
}

/** The sync operation id this adapter makes: Power BI's sync answers at once, with the commit version the replicas must reach. */
const SYNC_OPERATION = /^qso:(\d{1,20})$/;
const SYNC_NOT_APPLICABLE = /^qso-off:([A-Za-z]{1,64})$/;

/** Where a refresh's replicas stand: caught up once the oldest version readers see is the one the sync asked for (or newer). */
export function syncStatusFrom(operationId: string, status: QueryScaleOutStatus): SyncDetails {
  const off = SYNC_NOT_APPLICABLE.exec(operationId);
  if (off !== null) {
    return { operationId, status: 'succeeded', serviceState: `scaleOutStatus ${off[1]}`, details: `Query scale-out is not enabled for this semantic model (scaleOutStatus ${off[1]}): there are no read-only replicas to synchronise.` };
  }
  const match = SYNC_OPERATION.exec(operationId);
  if (match === null) throw new AppError(ErrorCodes.POWERBI_BAD_REQUEST, `"${operationId.slice(0, 64)}" is not a Power BI sync operation id of this app.`);
  const target = BigInt(match[1] as string);
  const read = status.minActiveReadVersion;
  const serviceState = [
    `commitVersion ${status.commitVersion ?? 'unknown'}`,
    `minActiveReadVersion ${read ?? 'unknown'}`,
    status.scaleOutStatus === undefined ? undefined : `scaleOutStatus ${status.scaleOutStatus}`,
    status.triggerReason === undefined ? undefined : `triggerReason ${status.triggerReason}`,
  ]
    .filter((part) => part !== undefined)
    .join(', ');
  // The scale-out docs: in sync when commitVersion == minActiveReadVersion. Comparing with the
  // version the sync was started for also ends when a later commit (another refresh) moved
  // commitVersion on: this run's data has reached the readers by then.
  const caughtUp = read !== undefined && read >= target;
  return { operationId, status: caughtUp ? 'succeeded' : 'running', serviceState };
}

function idFromLocation(location: string | undefined, baseUrl: string): string | undefined {
  if (location === undefined || location.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(location.trim(), `${baseUrl}/`);
  } catch {
    return undefined;
  }
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  const marker = segments.map((segment) => segment.toLowerCase()).lastIndexOf('refreshes');
  if (marker < 0 || marker !== segments.length - 2) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(segments[segments.length - 1] as string);
  } catch {
    return undefined;
  }
  return /^[A-Za-z0-9-]{1,64}$/.test(id) ? id : undefined;
}

function refreshIdSegment(refreshId: string): string {
  if (typeof refreshId !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(refreshId)) {
    throw new AppError(ErrorCodes.POWERBI_BAD_REQUEST, `"${String(refreshId).slice(0, 64)}" is not a Power BI refresh request id.`);
  }
  return refreshId;
}

export interface PowerBiClient {
  resolveTarget(target: PowerBiTarget): Promise<PowerBiTarget>;
  /** `attemptTimeoutMs`: the run's time left, sent as the per-attempt `timeout`. */
  submitRefresh(target: PowerBiTarget, refresh: RefreshRequest, attemptTimeoutMs?: number): Promise<SubmittedRefresh>;
  getRefresh(target: PowerBiTarget, refreshId: string): Promise<PowerBiRefreshDetails>;
  listRefreshes(target: PowerBiTarget): Promise<PowerBiRefreshSummary[]>;
  cancelRefresh(target: PowerBiTarget, refreshId: string): Promise<void>;
  submitSync(target: PowerBiTarget): Promise<SubmittedSync>;
  getSync(target: PowerBiTarget, operationId: string): Promise<SyncDetails>;
  close(): Promise<void>;
}

export function createPowerBiClient(options: PowerBiClientOptions): PowerBiClient {
  const { tokens, requestTimeoutMs } = options;
  const { dispatcher, close: closeDispatcher } = clientDispatcher(options.dispatcher, requestTimeoutMs);

  interface Call {
    operation: PowerBiOperation;
    /** The target in words, for messages. */
    about: string;
    method: 'GET' | 'POST' | 'DELETE';
    /** Relative to the API base, already encoded. */
    path: string;
    body?: unknown;
  }

  async function call({ operation, about, method, path, body }: Call): Promise<{ answer: HttpAnswer; baseUrl: string }> {
    // Allow-list first: a refused host must never cause a token request.
    const baseUrl = checkApiBaseUrl(options.apiBaseUrl, options.allowedHosts);
    const token = await tokens.getToken(POWERBI_SCOPE);
    let answer: HttpAnswer;
    try {
      answer = await callWithBearer({ url: `${baseUrl}/${path}`, method, token, body, dispatcher, timeoutMs: requestTimeoutMs });
    } catch (error) {
      throw new AppError(ErrorCodes.POWERBI_TRANSIENT, redact(`Power BI ${operation} on ${about}: no answer (${transportFailure(error)})`, token), { retryable: true, cause: error });
    }
    const classified = classifyAnswer(operation, answer);
    if (classified !== undefined) {
      if (classified.unauthorized === true) tokens.invalidate(POWERBI_SCOPE);
      const error = answerError(operation, about, answer, classified);
      throw new AppError(error.code, redact(error.detail, token), { retryable: error.retryable, retryAfterMs: error.retryAfterMs, httpStatus: error.httpStatus, rootActivityId: error.rootActivityId });
    }
    return { answer, baseUrl };
  }

  function parseBody<T>(operation: PowerBiOperation, answer: HttpAnswer, parse: (text: string) => T): T {
    try {
      return parse(answer.body);
    } catch (error) {
      const reason = error instanceof ZodError ? error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ') : 'not JSON';
      throw new AppError(ErrorCodes.POWERBI_BAD_RESPONSE, `Power BI ${operation}: the answer does not have the expected shape (${reason.slice(0, 500)}).`, {
        httpStatus: answer.status,
        rootActivityId: serviceRequestIdOf(answer.headers),
      });
    }
  }

  const json = <T>(read: (body: unknown) => T) => (text: string) => read(JSON.parse(text) as unknown);

  function describe(target: PowerBiTarget): string {
    const name = (text: string, id: string | undefined) => (id === undefined || id === text.toLowerCase() ? `"${text}"` : `"${text}" (${id})`);
    return `workspace ${name(target.workspace, target.workspaceId)} semantic model ${name(target.semanticModel, target.semanticModelId)}`;
  }

  function modelPath(target: PowerBiTarget): { path: string; about: string } {
    const ids = resolvedIds(target);
    return { path: `groups/${ids.workspaceId}/datasets/${ids.semanticModelId}`, about: describe(ids) };
  }

  return {
    /**
     * Names become ids with the documented look-ups: `GET /groups?$filter=name eq '…'` for the
     * workspace and `GET /groups/{id}/datasets` for the semantic model (the datasets endpoint
     * takes no filter). GUIDs need no call. The run records the result; nothing is cached here.
     */
    async resolveTarget(input) {
      const target = parsePowerBiTarget(input);
      let { workspaceId, semanticModelId } = target;
      if (workspaceId === undefined) {
        const { answer } = await call({ operation: 'resolveWorkspace', about: `workspace "${target.workspace}"`, method: 'GET', path: groupsByNameQuery(target.workspace) });
        const pick = pickByName(parseBody('resolveWorkspace', answer, json(parseNamedItems)), target.workspace);
        if (pick.kind !== 'found') throw unresolvedNameError('workspace', target.workspace, pick);
        workspaceId = pick.id;
      }
      if (semanticModelId === undefined) {
        const where = `workspace "${target.workspace}"`;
        const { answer } = await call({ operation: 'resolveSemanticModel', about: where, method: 'GET', path: `groups/${workspaceId}/datasets` });
        const pick = pickByName(parseBody('resolveSemanticModel', answer, json(parseNamedItems)), target.semanticModel);
        if (pick.kind !== 'found') throw unresolvedNameError('semantic model', target.semanticModel, pick, where);
        semanticModelId = pick.id;
      }
      return parsePowerBiTarget({ ...target, workspaceId, semanticModelId });
    },

    async submitRefresh(target, refresh, attemptTimeoutMs) {
      // Checked before the token: a refused body never costs a call.
      const body = toPowerBiRefreshBody(refresh, attemptTimeoutMs);
      const { path, about } = modelPath(target);
      const { answer, baseUrl } = await call({ operation: 'submitRefresh', about, method: 'POST', path: `${path}/refreshes`, body });
      const serviceRequestId = serviceRequestIdOf(answer.headers);
      // Without Location the id is not guessed from x-ms-request-id (documented only for enhanced
      // refreshes): the activity finds the new refresh in the history, as for a lost answer.
      const refreshId = idFromLocation(header(answer.headers, 'location'), baseUrl);
      return { ...(refreshId === undefined ? {} : { refreshId }), ...(serviceRequestId === undefined ? {} : { serviceRequestId }) };
    },

    async getRefresh(target, refreshId) {
      const { path, about } = modelPath(target);
      const { answer } = await call({ operation: 'getRefresh', about, method: 'GET', path: `${path}/refreshes/${refreshIdSegment(refreshId)}` });
      return parseBody('getRefresh', answer, json((body) => parseRefreshDetails(body, refreshId)));
    },

    async listRefreshes(target) {
      const { path, about } = modelPath(target);
      const { answer } = await call({ operation: 'listRefreshes', about, method: 'GET', path: `${path}/refreshes?$top=${HISTORY_ROWS}` });
      return parseBody('listRefreshes', answer, json(parseRefreshHistory));
    },

    async cancelRefresh(target, refreshId) {
      const { path, about } = modelPath(target);
      await call({ operation: 'cancelRefresh', about, method: 'DELETE', path: `${path}/refreshes/${refreshIdSegment(refreshId)}` });
    },

    /**
     * `POST …/queryScaleOut/sync` answers 200 at once with the model's versions; the operation id
     * carries the commit version the replicas must reach. A model without read-only replicas
     * (scaleOutStatus not Enabled) has nothing to sync, which its operation id says.
     */
    async submitSync(target) {
      const { path, about } = modelPath(target);
      const { answer } = await call({ operation: 'submitSync', about, method: 'POST', path: `${path}/queryScaleOut/sync` });
      const status = parseBody('submitSync', answer, parseQueryScaleOutStatus);
      const serviceRequestId = serviceRequestIdOf(answer.headers);
      const withId = (operationId: string): SubmittedSync => ({ operationId, ...(serviceRequestId === undefined ? {} : { serviceRequestId }) });
      if (status.scaleOutStatus !== undefined && status.scaleOutStatus.toLowerCase() !== 'enabled' && /^[A-Za-z]{1,64}$/.test(status.scaleOutStatus)) {
        return withId(`qso-off:${status.scaleOutStatus}`);
      }
      if (status.commitVersion === undefined) {
        throw new AppError(ErrorCodes.POWERBI_BAD_RESPONSE, `Power BI submitSync on ${about}: the answer has no commitVersion, so there is nothing to wait for.`, { retryable: true, httpStatus: answer.status });
      }
      return withId(`qso:${status.commitVersion}`);
    },

    async getSync(target, operationId) {
      // A model without replicas, or an id that is not this adapter's: answered without a call.
      if (!SYNC_OPERATION.test(operationId)) return syncStatusFrom(operationId, {});
      const { path, about } = modelPath(target);
      const { answer } = await call({ operation: 'getSync', about, method: 'GET', path: `${path}/queryScaleOut/syncStatus` });
      return syncStatusFrom(operationId, parseBody('getSync', answer, parseQueryScaleOutStatus));
    },

    async close() {
      await closeDispatcher();
    },
  };
}
