import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { OrchestrationRuntimeStatus, type DurableClient } from 'durable-functions';
import type { Config } from '../config/config';
import { AppError, codeOf, ErrorCodes, kindOf, type ErrorCode } from '../errors';
import { CANCEL_EVENT, FINAL_STATUSES, FunctionNames, isRunOutcome, OUTCOME_HTTP_STATUS, readRunRequest, targetOf, type OrchestrationInput, type RunRequest } from '../orchestration/contracts';
import type { BackendClients } from '../refresh/registry';
import { TIMER_EARLY_BY_MS } from '../orchestration/durableTimer';
import { backendLabel, targetAttributes, type RefreshTarget } from '../refresh/target';
import { duplicateKeys } from './duplicateKeys';
import { MAX_BODY_BYTES, parseHistoryQuery, parseListQuery, parseRunRequest } from './requestSchema';
import { getStatusOrUndefined, modelKey, targetMatches, type TargetFilter } from './runLookup';
import { activeHolder, awaitClaimAnswer } from '../claims/client';
import { claimKey } from '../claims/modelClaim';
import { freeModelAnswer } from '../claims/operatorRoute';
import { decodeContinuationToken, listRunPage, newRunId, RUN_ID_PATTERN } from './runList';
import { signalRunCreated } from './recentRuns';
import { targetFields, toRunView, type RunView } from './runView';
import { logEvent } from '../logging';

/** HTTP status of GET /api/refreshes/{id} for a finished run (the one conversion, contracts.ts). */
export const FINAL_HTTP_STATUS = OUTCOME_HTTP_STATUS;

/** Seconds a poller should wait before asking again when the run has no poll of AAS scheduled. */
export const RETRY_AFTER_SECONDS = 10;

/**
 * Retry-After for a running run: until just after its next poll of the service (nothing can change
 * before it), at least 1 s and at most POLL_MAX_INTERVAL_SECONDS; RETRY_AFTER_SECONDS while it
 * has no poll scheduled (starting, cancelling, between steps).
 */
export function retryAfterSeconds(view: Pick<RunView, 'nextPollAt'>, now: number, maxIntervalMs: number): number {
  const nextPoll = view.nextPollAt === undefined ? Number.NaN : Date.parse(view.nextPollAt);
  if (!Number.isFinite(nextPoll) || nextPoll <= now) return RETRY_AFTER_SECONDS;
  // Two seconds after it: the poll's timer wakes up to 1 s after nextPollAt (timerNotBefore), and
  // its answer should be in the run when the caller looks.
  const seconds = Math.ceil((nextPoll - now) / 1000) + 1 + TIMER_EARLY_BY_MS / 1000;
  return Math.min(Math.max(seconds, 1), Math.max(1, Math.round(maxIntervalMs / 1000)));
}

export interface ApiDependencies {
  config: Config;
  /** The backends' clients: the API resolves targets and reads model histories through the port. */
  backends: BackendClients;
  /** Milliseconds since the epoch, for Retry-After; default Date.now. */
  now?: () => number;
}

/**
 * `unlisted`: the run started but the recent-runs index was not told (the list without a model
 * filter misses it). `unlistedRunId`: a refused run kept in the task hub (it has a callback to
 * send) that the index was not told of.
 */
export type StartOutcome =
  | { kind: 'started'; runId: string; request: RunRequest; unlisted?: true }
  | { kind: 'busy'; activeRunId: string; request: RunRequest; unlistedRunId?: string };

export function createApi({ config, backends, now = Date.now }: ApiDependencies) {
  /**
   * Resolves the target once (Power BI names to ids; AAS as given) and starts the run unless the
   * model is busy. Throws the backend's AppError when the target cannot be resolved.
   *
   * One run per model is the engine's to keep, across every instance of the app: the run claims
   * the model from its modelclaim entity first thing (docs/scale-out.md). Here, with "fail", a
   * live holder answers busy at once (one entity read, one status read); otherwise the run starts
   * and its claim's answer is awaited for a few seconds, so that a run that lost the model to a
   * concurrent request on another instance is answered busy too.
   */
  async function startRun(client: DurableClient, given: RunRequest): Promise<StartOutcome> {
    const target = await backends.forTarget(targetOf(given)).resolveTarget(targetOf(given));
    const request = { ...given, ...target } as RunRequest;
    const key = modelKey(target);
    const claim = { key: claimKey(key), model: key };
    if (request.onConflict === 'fail') {
      const holder = await activeHolder(client, claim.key, new Date(now()));
      if (holder !== undefined) return { kind: 'busy', activeRunId: holder, request };
    }
    const runId = newRunId(key, randomUUID(), now());
    const input: OrchestrationInput = { request, claim };
    await client.startNew(FunctionNames.refreshOrchestrator, { instanceId: runId, input });
    const answer = await awaitClaimAnswer(client, runId);
    if (answer.decided && (answer.view.state === 'busy' || answer.view.state === 'queueFull')) {
      // A refused run that is purged is never listed; one that stays (it has a callback to send) is.
      const unlisted = (await purgeIfEnded(client, runId)) ? false : (await listRun(client, runId)).unlisted === true;
      return { kind: 'busy', activeRunId: answer.view.holder, request, ...(unlisted ? { unlistedRunId: runId } : {}) };
    }
    return { kind: 'started', runId, request, ...(await listRun(client, runId)) };
  }

  /**
   * Adds the run to the recent-runs index, so the list without a model filter shows it newest
   * first. Sent once the claim has answered, so the runs refused and purged at once (a burst of
   * 409s) do not take the index's places. A failed signal does not fail the start (the run is
   * running): it is said, and the run is then listed by its model filter only.
   */
  async function listRun(client: DurableClient, runId: string): Promise<{ unlisted?: true }> {
    try {
      await signalRunCreated(client, runId);
      return {};
    } catch {
      return { unlisted: true };
    }
  }

  /**
   * The model key of a list filter that names a model in full, for the run id prefix. AAS: as
   * given. Power BI: the key is made of the ids, so names are resolved as POST resolves them (GUIDs
   * need no call to the service). A Power BI name that cannot be resolved now (a deleted workspace,
   * the service unreachable) is not an error for a list: the names then refine the page instead.
   */
  async function filterModelKey(filter: TargetFilter, context: InvocationContext): Promise<string | undefined> {
    if (filter.server !== undefined && filter.model !== undefined) return modelKey({ backend: 'aas', server: filter.server, model: filter.model });
    if (filter.workspace === undefined || filter.semanticModel === undefined) return undefined;
    const given: RefreshTarget = { backend: 'powerbi', workspace: filter.workspace, semanticModel: filter.semanticModel };
    try {
      return modelKey(await backends.forTarget(given).resolveTarget(given));
    } catch (error) {
      if (kindOf(error) === undefined) throw error;
      logEvent(context, 'warn', 'list.filterUnresolved', { code: codeOf(error), backend: 'powerbi' });
      return undefined;
    }
  }

  /** A target that could not be resolved (Power BI: no such workspace or model, or it cannot be reached). */
  function unresolved(error: unknown, context: InvocationContext): HttpResponseInit {
    const code = codeOf(error);
    logEvent(context, 'warn', 'run.targetUnresolved', { code });
    const kind = kindOf(error);
    const message = error instanceof AppError ? error.detail : 'The target could not be resolved.';
    return problem(kind === 'notFound' || kind === 'rejected' ? 400 : 502, code, message);
  }

  return {
    startRun,

    /** POST /api/refreshes */
    async start(request: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
      const body = await readJsonBody(request);
      if (!body.ok) return body.response;
      const parsed = parseRunRequest(body.value, config, 'http');
      if (!parsed.ok) return problem(400, ErrorCodes.INVALID_REQUEST, 'The refresh request is not valid.', parsed.problems);
      let outcome: StartOutcome;
      try {
        outcome = await startRun(client, parsed.request);
      } catch (error) {
        if (kindOf(error) === undefined) throw error;
        return unresolved(error, context);
      }
      const target = targetOf(outcome.request);
      if (outcome.kind === 'busy') {
        logEvent(context, 'info', 'run.rejectedBusy', { ...targetAttributes(target), activeRunId: outcome.activeRunId });
        if (outcome.unlistedRunId !== undefined) logEvent(context, 'warn', 'run.unlisted', { runId: outcome.unlistedRunId });
        return problem(409, ErrorCodes.MODEL_BUSY, `Run ${outcome.activeRunId} is already refreshing this model; wait for it, or send "onConflict": "wait".`, undefined, {
          activeRunId: outcome.activeRunId,
          activeRunUrl: runUrl(request, outcome.activeRunId, false),
        });
      }
      logEvent(context, 'info', 'run.started', { runId: outcome.runId, ...targetAttributes(target), source: 'http' });
      if (outcome.unlisted === true) logEvent(context, 'warn', 'run.unlisted', { runId: outcome.runId });
      const statusUrl = runUrl(request, outcome.runId, false);
      return {
        status: 202,
        headers: { location: runUrl(request, outcome.runId, true), 'retry-after': String(RETRY_AFTER_SECONDS), 'content-type': 'application/json' },
        jsonBody: { id: outcome.runId, status: 'pending', ...targetFields(target), statusUrl, cancelUrl: statusUrl },
      };
    },

    /** GET /api/refreshes/{id}: 202 while running, 200 on success, 500/504 otherwise. */
    async get(request: HttpRequest, client: DurableClient): Promise<HttpResponseInit> {
      const view = await loadRun(client, request.params.id ?? '');
      if (view === undefined) return notFound(request.params.id ?? '');
      if (!FINAL_STATUSES.has(view.status)) {
        return { status: 202, headers: { location: runUrl(request, view.id, true), 'retry-after': String(retryAfterSeconds(view, now(), config.polling.maxIntervalMs)) }, jsonBody: view };
      }
      return { status: isRunOutcome(view.status) ? FINAL_HTTP_STATUS[view.status] : 500, jsonBody: view };
    },

    /** DELETE /api/refreshes/{id}: asks the run to cancel its refresh. */
    async cancel(request: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
      const id = request.params.id ?? '';
      const view = await loadRun(client, id);
      if (view === undefined) return notFound(id);
      if (FINAL_STATUSES.has(view.status)) {
        return problem(409, ErrorCodes.RUN_ALREADY_ENDED, `Run ${id} has already ended (${view.status}); there is nothing to cancel.`, undefined, { status: view.status });
      }
      await client.raiseEvent(id, CANCEL_EVENT, { requestedAt: new Date().toISOString() });
      logEvent(context, 'info', 'run.cancelRequested', { runId: id });
      return {
        status: 202,
        headers: { location: runUrl(request, id, true), 'retry-after': String(RETRY_AFTER_SECONDS) },
        jsonBody: { id, status: 'cancelling', statusUrl: runUrl(request, id, false) },
      };
    },

    /**
     * GET /api/refreshes?server=&model=|workspace=&semanticModel=&status=&limit=: this app's runs,
     * one page's work per request, newest first: within one model by its run id prefix, without a
     * model filter by the recent-runs index, past it model by model (the order of the run ids).
     */
    async list(request: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
      const query = parseListQuery(queryOf(request), config);
      if (!query.ok) return problem(400, ErrorCodes.INVALID_REQUEST, 'The query is not valid.', query.problems);
      const { status: wanted, limit, continuationToken, createdFrom, createdTo, ...filter } = query.value;
      // One page's work, whatever the task hub holds (docs/scale-out.md, "Bounded queries"): a
      // model named in full (AAS server + model, Power BI workspace + semantic model) is the run id
      // prefix; the rest refines the page.
      const token = continuationToken === undefined ? undefined : decodeContinuationToken(continuationToken);
      if (continuationToken !== undefined && token === undefined) return problem(400, ErrorCodes.INVALID_REQUEST, 'The query is not valid.', ['continuationToken is not one this API gave out']);
      const filteredModel = await filterModelKey(filter, context);
      const page = await listRunPage(
        client,
        { limit, ...(filteredModel === undefined ? {} : { modelKey: filteredModel }), ...(wanted === undefined ? {} : { status: wanted }), ...(createdFrom === undefined ? {} : { createdFrom }), ...(createdTo === undefined ? {} : { createdTo }), ...(token === undefined ? {} : { continuationToken: token }) },
        (status) => {
          const stored = readRunRequest((status.input as OrchestrationInput | undefined)?.request);
          return stored !== undefined && targetMatches(targetOf(stored), filter) ? toRunView(status as DurableOrchestrationStatusLike) : undefined;
        },
        (view: RunView) => wanted === undefined || view.status === wanted,
      );
      return { status: 200, jsonBody: page };
    },

    /**
     * POST /api/models/claim/free?server=&model= (or ?workspace=&semanticModel=): frees a model
     * whose claim is stuck with a run that cannot release it; the next waiting run starts.
     */
    async freeModel(request: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
      const query = parseHistoryQuery(queryOf(request), config);
      if (!query.ok) return freeModelAnswer(client, { ok: false, problems: query.problems }, new Date(now()));
      let target;
      try {
        target = await backends.forTarget(query.value).resolveTarget(query.value);
      } catch (error) {
        if (kindOf(error) === undefined) throw error;
        return unresolved(error, context);
      }
      const answer = await freeModelAnswer(client, { ok: true, modelKey: modelKey(target), label: modelKey(target) }, new Date(now()));
      logEvent(context, 'info', 'claim.freedByOperator', { ...targetAttributes(target), status: answer.status ?? 0 });
      return answer;
    },

    /** GET /api/models/refreshes?server=&model= or ?workspace=&semanticModel=: the model's own refresh history in its service. */
    async modelHistory(request: HttpRequest, _client: DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
      const query = parseHistoryQuery(queryOf(request), config);
      if (!query.ok) return problem(400, ErrorCodes.INVALID_REQUEST, 'The query is not valid.', query.problems);
      const given = query.value;
      try {
        const client = backends.forTarget(given);
        const target = await client.resolveTarget(given);
        // The service may reject a token the cache still holds (revoked, expired early); the client
        // has dropped it, so one more call goes with a fresh one. No other failure is repeated here.
        const list = () => client.listRefreshes(target);
        const refreshes = await list().catch((error: unknown) => {
          if (kindOf(error) === 'unauthorized') return list();
          throw error;
        });
        return { status: 200, jsonBody: { ...targetFields(target), refreshes } };
      } catch (error) {
        const code = codeOf(error);
        logEvent(context, 'warn', 'aas.historyFailed', { code, backend: given.backend });
        const message = error instanceof AppError ? error.detail : `${backendLabel(given.backend)} could not be reached.`;
        // A model or server the service does not know (or will not show this identity) is the caller's to fix.
        return problem(kindOf(error) === 'notFound' ? 404 : 502, code, message);
      }
    },
  };
}

export type Api = ReturnType<typeof createApi>;

type DurableOrchestrationStatusLike = Parameters<typeof toRunView>[0];

/** A run refused at its claim is purged once it has ended, so a 409 leaves nothing in the list; true when it was. */
async function purgeIfEnded(client: DurableClient, runId: string): Promise<boolean> {
  try {
    const status = await client.getStatus(runId, { showInput: false });
    if (status.runtimeStatus !== OrchestrationRuntimeStatus.Completed) return false;
    await client.purgeInstanceHistory(runId);
    return true;
  } catch {
    // Still delivering its callback, or already gone: it stays as a failed MODEL_BUSY run.
    return false;
  }
}

/**
 * The query as the caller sent it, from the URL: the Functions host hands the worker a map in
 * which a repeated parameter is joined with "," (`model=a&model=b` would read as "a,b") and an
 * empty one is dropped (azure-functions-host RpcMessageConversionExtensions.ToRpcHttp).
 */
function queryOf(request: HttpRequest): URLSearchParams {
  return new URL(request.url).searchParams;
}

async function loadRun(client: DurableClient, id: string): Promise<RunView | undefined> {
  if (!RUN_ID_PATTERN.test(id)) return undefined;
  const status = await getStatusOrUndefined(client, id, true);
  return status?.name === FunctionNames.refreshOrchestrator ? toRunView(status) : undefined;
}

/**
 * Absolute URL of a run. A function key given as `?code=` travels along in the Location header
 * only, so that a poller following it stays authorised; response bodies (which end up in ADF
 * activity output) never carry it.
 */
function runUrl(request: HttpRequest, id: string, withKey: boolean): string {
  const url = new URL(request.url);
  const code = url.searchParams.get('code');
  const target = new URL(`/api/refreshes/${id}`, url.origin);
  if (withKey && code !== null) target.searchParams.set('code', code);
  return target.toString();
}

function notFound(id: string): HttpResponseInit {
  return problem(404, ErrorCodes.RUN_NOT_FOUND, `No refresh run with id "${id.slice(0, 64)}".`);
}

export function problem(status: number, code: ErrorCode, message: string, problems?: string[], extra: Record<string, unknown> = {}): HttpResponseInit {
  return { status, jsonBody: { error: { code, message, ...(problems === undefined ? {} : { problems }), ...extra } } };
}

type JsonBody = { ok: true; value: unknown } | { ok: false; response: HttpResponseInit };

/** Reads a JSON body: JSON content type, at most MAX_BODY_BYTES, well-formed. */
export async function readJsonBody(request: HttpRequest): Promise<JsonBody> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^application\/([a-z.+-]*\+)?json\s*(;|$)/i.test(contentType.trim())) {
    return { ok: false, response: problem(415, ErrorCodes.INVALID_REQUEST, `Content-Type must be application/json (got "${contentType.slice(0, 100)}").`) };
  }
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) return { ok: false, response: tooLarge() };
  const bytes = Buffer.from(await request.arrayBuffer());
  if (bytes.length > MAX_BODY_BYTES) return { ok: false, response: tooLarge() };
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    // The parser's message quotes the body, which may hold anything the caller pasted: not echoed.
    return { ok: false, response: problem(400, ErrorCodes.INVALID_REQUEST, 'The body is not valid JSON.', ['malformed JSON']) };
  }
  // JSON.parse keeps the last of two equal keys; a body that says two things is refused.
  const repeated = duplicateKeys(text);
  if (repeated.length > 0) {
    return { ok: false, response: problem(400, ErrorCodes.INVALID_REQUEST, 'The refresh request is not valid.', repeated.map((path) => `field "${path}" is given twice`)) };
  }
  return { ok: true, value };
}

function tooLarge(): HttpResponseInit {
  return problem(413, ErrorCodes.INVALID_REQUEST, `The body is larger than ${MAX_BODY_BYTES} bytes.`);
}
