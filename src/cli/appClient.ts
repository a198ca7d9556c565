import type { CliRunView as RunView } from './runView';
import { badInput, CliError, ExitCodes } from './errors';

/** What the CLI needs from a refresh service: the deployed app's API, or the service itself (--direct). */
export interface RefreshService {
  start(body: Record<string, unknown>): Promise<{ id: string; accepted: Record<string, unknown> }>;
  /** The run, and how long to wait before asking again (the app's Retry-After), if it said. */
  get(runId: string): Promise<{ view: RunView; retryAfterMs?: number }>;
  /** Asks the run to cancel; `ended` when it had already ended (nothing to cancel). */
  /** `note`: what the cancel did, when it is not "the run is cancelling its refresh" (--direct during the sync). */
  cancel(runId: string): Promise<{ ended: boolean; answer: Record<string, unknown>; note?: string }>;
  /** One page of runs; `continuationToken` when there are more. */
  list(query: Record<string, string>): Promise<{ runs: RunView[]; continuationToken?: string }>;
  history(query: Record<string, string>): Promise<Record<string, unknown>>;
  /**
   * How another command reaches the run again: what goes on without this command (`run <id>`, or
   * with --direct the service's refresh) and the command line of `status` or `cancel` for it.
   * Undefined: nothing goes on (a --direct run that submitted nothing yet).
   */
  reach(runId: string): RunReach | undefined;
  close(): Promise<void>;
}

export interface RunReach {
  what: string;
  command(verb: 'status' | 'cancel'): string;
}

interface ApiError {
  code?: string;
  message?: string;
  problems?: string[];
  activeRunId?: string;
  status?: string;
}

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The deployed app's HTTP API, with the function key in the `x-functions-key` header (never in a
 * URL, so it is not in logs or error messages). Each call is made once: the watch loop is the
 * one place that tries a status read again.
 */
export function appService(apiBase: string, key: string, fetchImpl: typeof fetch = fetch): RefreshService {
  const origin = new URL(apiBase).origin;

  async function call(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown; retryAfter?: string | null }> {
    let response: Response;
    try {
      response = await fetchImpl(`${apiBase}/${route}`, {
        method,
        headers: { 'x-functions-key': key, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        redirect: 'manual',
      });
    } catch (error) {
      throw new CliError(`could not reach the app at ${origin}: ${networkReason(error)}`, ExitCodes.failed, 'APP_UNREACHABLE');
    }
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (response.status === 401 || response.status === 403) {
      throw badInput(`the app at ${origin} refused the function key (HTTP ${response.status}): check ${'AAS_REFRESH_KEY'} or --key`);
    }
    return { status: response.status, body: parsed, retryAfter: response.headers.get('retry-after') };
  }

  function fail(route: string, answer: { status: number; body: unknown }, model = 'this model'): never {
    const error = ((answer.body as { error?: ApiError } | undefined)?.error ?? {}) as ApiError;
    let message = error.message ?? `the app answered HTTP ${answer.status} to ${route}`;
    // The API's hint names its JSON field; say it in the CLI's words.
    if (error.code === 'MODEL_BUSY' && error.activeRunId !== undefined) {
      message = `Run ${error.activeRunId} is already refreshing ${model}: watch it with aas-refresh status ${error.activeRunId} --wait, or pass --on-conflict wait to refresh after it.`;
    }
    // The caller's to fix: a request the app refused, an unknown run.
    const exit = answer.status === 400 || answer.status === 404 || answer.status === 413 || answer.status === 415 ? ExitCodes.badInput : ExitCodes.failed;
    throw new CliError(message, exit, error.code ?? `HTTP_${answer.status}`, error.problems ?? []);
  }

  function isRunView(body: unknown): body is RunView {
    return typeof body === 'object' && body !== null && typeof (body as RunView).id === 'string' && typeof (body as RunView).status === 'string';
  }

  return {
    async start(body) {
      const answer = await call('POST', 'refreshes', body);
      if (answer.status !== 202 || !isRunView(answer.body)) fail('POST /api/refreshes', answer, String(body.model ?? body.semanticModel ?? 'this model'));
      return { id: answer.body.id, accepted: answer.body as unknown as Record<string, unknown> };
    },
    async get(runId) {
      const answer = await call('GET', `refreshes/${encodeURIComponent(runId)}`);
      // A finished run that did not succeed answers 500/504 with the run itself (for ADF).
      if (!isRunView(answer.body)) fail(`GET /api/refreshes/${runId}`, answer);
      const seconds = answer.retryAfter === null || answer.retryAfter === undefined ? Number.NaN : Number(answer.retryAfter);
      return { view: answer.body, ...(Number.isFinite(seconds) ? { retryAfterMs: seconds * 1000 } : {}) };
    },
    async cancel(runId) {
      const answer = await call('DELETE', `refreshes/${encodeURIComponent(runId)}`);
      if (answer.status === 202) return { ended: false, answer: answer.body as Record<string, unknown> };
      const error = (answer.body as { error?: ApiError } | undefined)?.error;
      if (answer.status === 409 && error?.code === 'RUN_ALREADY_ENDED') return { ended: true, answer: answer.body as Record<string, unknown> };
      return fail(`DELETE /api/refreshes/${runId}`, answer);
    },
    async list(query) {
      const answer = await call('GET', `refreshes?${new URLSearchParams(query).toString()}`);
      if (answer.status !== 200) fail('GET /api/refreshes', answer);
      return answer.body as { runs: RunView[]; continuationToken?: string };
    },
    async history(query) {
      const answer = await call('GET', `models/refreshes?${new URLSearchParams(query).toString()}`);
      if (answer.status !== 200) fail('GET /api/models/refreshes', answer);
      return answer.body as Record<string, unknown>;
    },
    reach: (runId) => ({ what: `run ${runId}`, command: (verb) => `aas-refresh ${verb} ${runId}` }),
    async close() {},
  };
}

/** A short reason for a failed connection, without the URL (it is already named). */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  if (cause?.code !== undefined) return cause.code === 'ECONNREFUSED' ? 'connection refused (is the URL right, is the app running?)' : cause.code;
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}
