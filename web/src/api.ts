// The page's only way to the app: the public HTTP API under /api, the function key in the
// x-functions-key header. The key is kept in this tab's sessionStorage (gone when the tab
// closes) and never put into a URL.

const KEY_STORAGE = 'aasRefresh.functionKey';

export function functionKey(): string | undefined {
  return sessionStorage.getItem(KEY_STORAGE) ?? undefined;
}

export function setFunctionKey(key: string | undefined): void {
  if (key === undefined) sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  retryAfterSeconds?: number;
}

/** The app refused the key (401): the page asks for it again. */
export class KeyRefused extends Error {}

/** The app's own error text (code, message, problems), or a fixed sentence when there is none. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    readonly problems: string[] = [],
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, query?: URLSearchParams, body?: unknown): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = functionKey();
  if (key !== undefined) headers['x-functions-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const search = query !== undefined && [...query.keys()].length > 0 ? `?${query.toString()}` : '';
  let response: Response;
  try {
    response = await fetch(`/api/${path}${search}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit', redirect: 'error' });
  } catch {
    throw new ApiProblem(0, 'The app could not be reached. Check the connection and try again.');
  }
  if (response.status === 401) throw new KeyRefused('The app refused the function key.');
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new ApiProblem(response.status, `The app answered ${response.status} with something that is not JSON.`);
  }
  // A run that ended failed answers 500/504 with the run itself (its own `error` field): that is data.
  if (response.status >= 400 && !isRun(parsed)) {
    const error = errorOf(parsed);
    if (error !== undefined) throw new ApiProblem(response.status, error.message, error.code, error.problems, error.extra);
    throw new ApiProblem(response.status, `The app answered ${response.status}.`);
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  return { status: response.status, body: parsed as T, retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined };
}

function errorOf(body: unknown): { message: string; code?: string; problems: string[]; extra: Record<string, unknown> } | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = (body as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { message, code, problems, ...extra } = error as Record<string, unknown>;
  return {
    message: typeof message === 'string' ? message : 'The app refused the request.',
    code: typeof code === 'string' ? code : undefined,
    problems: Array.isArray(problems) ? problems.filter((p): p is string => typeof p === 'string') : [],
    extra,
  };
}

function isRun(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'id' in body && 'status' in body;
}

export interface ObjectStatus {
  table: string;
  partition?: string;
  status: string;
}

/** A run as GET /api/refreshes/{id} shows it (src/api/runView.ts); Power BI runs name a workspace and semantic model. */
export interface Run {
  id: string;
  status: string;
  server?: string;
  model?: string;
  workspace?: string;
  semanticModel?: string;
  workspaceId?: string;
  semanticModelId?: string;
  backend?: string;
  source?: string;
  request?: { type?: string; commitMode?: string; maxParallelism?: number; retryCount?: number; objects?: { table: string; partition?: string }[]; sync?: boolean; timeoutSeconds?: number; onConflict?: string; callback?: boolean; applyRefreshPolicy?: boolean; effectiveDate?: string };
  createdAt: string;
  lastUpdatedAt: string;
  startedAt?: string;
  endedAt?: string;
  deadline?: string;
  refreshId?: string;
  adopted?: boolean;
  aasStatus?: string;
  refreshStatus?: string;
  refreshStartTime?: string;
  refreshEndTime?: string;
  objects: ObjectStatus[];
  objectCounts: Record<string, number>;
  objectsTruncated?: boolean;
  messages: { code?: string; message: string; type?: string }[];
  committedObjects?: ObjectStatus[];
  syncOperationId?: string;
  /** running, succeeded or failed (both backends); syncState is AAS's own number. */
  syncStatus?: string;
  syncState?: number;
  syncDetails?: string | null;
  statusCalls: number;
  expectedDurationSeconds?: number;
  nextPollAt?: string;
  lastIssue?: { code: string; message: string };
  note?: string;
  error?: { code: string; message: string };
  callback?: { delivered: boolean; httpStatus?: number; error?: string };
}

export const FINAL_STATUSES = new Set(['succeeded', 'failed', 'cancelled', 'timedOut']);

/** The model a run refreshes, as query parameters of the API (server+model, or workspace+semanticModel). */
export function targetQuery(run: Pick<Run, 'server' | 'model' | 'workspace' | 'semanticModel'>): URLSearchParams {
  const query = new URLSearchParams();
  if (run.workspace !== undefined && run.semanticModel !== undefined) {
    query.set('workspace', run.workspace);
    query.set('semanticModel', run.semanticModel);
  } else {
    if (run.server !== undefined) query.set('server', run.server);
    if (run.model !== undefined) query.set('model', run.model);
  }
  return query;
}

export function modelLabel(run: Pick<Run, 'model' | 'semanticModel'>): string {
  return run.semanticModel ?? run.model ?? '(unnamed model)';
}

/** The service a run talks to, in words. */
export function serviceLabel(run: Pick<Run, 'backend' | 'workspace'>): string {
  return run.backend === 'powerbi' || run.workspace !== undefined ? 'Power BI' : 'Azure Analysis Services';
}

export function placeLabel(run: Pick<Run, 'server' | 'workspace'>): string {
  if (run.workspace !== undefined) return `Power BI workspace ${run.workspace}`;
  return run.server ?? '';
}
