import { api, ApiProblem, FINAL_STATUSES, modelLabel, placeLabel, targetQuery, type Run } from './api';
import { formatDuration, formatTime, h, replace, statusClass, viewOpened } from './dom';
import type { LiveHandle } from './run';

export const PAGE_SIZE = 25;
const TIME_WINDOWS: [string, string, number][] = [
  ['', 'Any time', 0],
  ['1h', 'Last hour', 3_600_000],
  ['24h', 'Last 24 hours', 86_400_000],
  ['7d', 'Last 7 days', 7 * 86_400_000],
];

/** Run statuses, the list's largest page and its time filter, from the served API description (fallbacks if it is missing). */
export interface ListLimits {
  statuses: string[];
  maxLimit: number;
  /** The API filters by start time itself (createdFrom, ISO 8601). */
  createdFrom: boolean;
}

export function runDurationMs(run: Run): number | undefined {
  const start = Date.parse(run.startedAt ?? run.createdAt);
  const end = Date.parse(run.endedAt ?? run.lastUpdatedAt);
  return Number.isFinite(start) && Number.isFinite(end) ? end - start : undefined;
}

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `badge ${statusClass(status)}` }, status);
}

/** The model view of a run's model; a Power BI run's resolved ids go along, so the view asks the API by id (no look-up of the names). */
export function modelHref(run: Run): string {
  const query = targetQuery(run);
  if (query.has('workspace') && run.workspaceId !== undefined && run.semanticModelId !== undefined) {
    query.set('workspaceId', run.workspaceId);
    query.set('semanticModelId', run.semanticModelId);
  }
  return `#/model?${query.toString()}`;
}

/** How many pages of the API one view reads at most to fill itself. */
const MAX_PAGES_FOLLOWED = 10;

/** While a listed run is going, the list reads the API again this often (not while the focus is in it). */
export const LIST_REFRESH_MS = 10_000;

export async function renderRuns(main: HTMLElement, params: URLSearchParams, limits: ListLimits): Promise<LiveHandle> {
  // `pages`: a larger limit, 25 more each time; `after`: the API's continuation token, at its largest limit.
  const after = params.get('after') ?? undefined;
  const pages = after === undefined ? Math.max(1, Math.min(Number(params.get('pages') ?? '1') || 1, Math.ceil(limits.maxLimit / PAGE_SIZE))) : Math.ceil(limits.maxLimit / PAGE_SIZE);
  const limit = Math.min(pages * PAGE_SIZE, limits.maxLimit);
  const heading = h('h1', { tabindex: '-1' }, 'Refresh runs');
  const filters = filterForm(params, limits);
  const results = h('div', { 'aria-busy': 'true' }, h('p', {}, 'Loading runs…'));
  replace(main, heading, filters, results);
  viewOpened(heading);

  const query = new URLSearchParams();
  for (const name of ['server', 'model', 'workspace', 'semanticModel', 'status']) {
    const value = params.get(name);
    if (value !== null && value !== '') query.set(name, value);
  }
  query.set('limit', String(limit));
  if (after !== undefined) query.set('continuationToken', after);
  const windowMs = TIME_WINDOWS.find(([value]) => value === params.get('since'))?.[2] ?? 0;
  if (windowMs > 0 && limits.createdFrom) query.set('createdFrom', new Date(Date.now() - windowMs).toISOString());
  let stopped = false;
  let timer: number | undefined;
  const load = async (): Promise<void> => {
    if (stopped) return;
    // Redrawing under the keyboard focus would move it: wait for the next round.
    if (results.contains(document.activeElement) && results.childElementCount > 0 && results.getAttribute('aria-busy') === 'false') {
      timer = window.setTimeout(() => void load(), LIST_REFRESH_MS);
      return;
    }
    const going = await drawRuns(results, query, params, limit, limits);
    if (going && !stopped) timer = window.setTimeout(() => void load(), LIST_REFRESH_MS);
  };
  await load();
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) window.clearTimeout(timer);
    },
  };
}

/** Draws the list; true when a listed run is still going. */
async function drawRuns(results: HTMLElement, query: URLSearchParams, params: URLSearchParams, limit: number, limits: ListLimits): Promise<boolean> {
  const pages = Math.ceil(limit / PAGE_SIZE);
  let runs: Run[] = [];
  let next: string | undefined;
  // What the API says of its pages' order: newest first (one model's, or every model's from its
  // recent-runs index), or model by model past that index. A page with no runs says nothing.
  let newestFirst = true;
  try {
    // A page of the task hub holds any runs; the filters refine it, so a page may hold fewer than
    // asked (or none) and still have more: follow the token, a bounded number of times.
    for (let request = 0; request < MAX_PAGES_FOLLOWED && (request === 0 || (runs.length < limit && next !== undefined)); request++) {
      const pageQuery = new URLSearchParams(query);
      if (request > 0 && next !== undefined) pageQuery.set('continuationToken', next);
      const body = (await api<{ runs: Run[]; order?: unknown; continuationToken?: unknown }>('GET', 'refreshes', pageQuery)).body;
      runs = [...runs, ...body.runs];
      if (body.runs.length > 0 && body.order !== 'newestFirst') newestFirst = false;
      next = typeof body.continuationToken === 'string' && body.continuationToken !== '' ? body.continuationToken : undefined;
    }
    runs.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    // The last page may bring more than asked: show the newest `limit` (the next step asks for more
    // from the start), except at the API's largest limit, where the token goes on after all of them.
    if (runs.length > limit && limit < limits.maxLimit) runs = runs.slice(0, limit);
  } catch (error) {
    if (!(error instanceof ApiProblem)) throw error;
    replace(results, h('div', { class: 'error', role: 'alert' }, h('p', {}, error.message), error.problems.length > 0 ? h('ul', {}, ...error.problems.map((p) => h('li', {}, p))) : undefined));
    results.setAttribute('aria-busy', 'false');
    return false;
  }
  const windowMs = TIME_WINDOWS.find(([value]) => value === params.get('since'))?.[2] ?? 0;
  // Also when the API filtered by time itself: the same window, so both ways show the same runs.
  const shown = windowMs === 0 ? runs : runs.filter((run) => Date.now() - Date.parse(run.createdAt) <= windowMs);
  results.setAttribute('aria-busy', 'false');
  // A larger limit first (one answer, newest first), up to the API's maximum; then the API's
  // continuation token, which it gives when its page of the task hub was not the last.
  const byToken = params.has('after') || (next !== undefined && !(runs.length >= limit && limit < limits.maxLimit));
  const newest = new URLSearchParams(params);
  newest.delete('after');
  newest.delete('pages');
  const paging =
    runs.length >= limit && limit < limits.maxLimit && !params.has('after')
      ? h('p', {}, h('a', { class: 'button', href: `#/runs?${withParam(params, 'pages', String(pages + 1)).toString()}` }, `Show ${PAGE_SIZE} more`))
      : byToken
        ? h(
            'p',
            { class: 'actions' },
            params.has('after') ? h('a', { href: `#/runs?${newest.toString()}` }, 'Back to the newest runs') : undefined,
            next === undefined ? h('span', { class: 'hint' }, 'No more runs.') : h('a', { class: 'button', href: `#/runs?${withParam(newest, 'after', next).toString()}` }, 'Next page'),
          )
          : h('p', { class: 'hint' }, runs.length >= limit ? `The API lists at most ${limits.maxLimit} runs; narrow the filters to see older ones.` : 'All matching runs are shown.');
  if (shown.length === 0) {
    // A page can be empty and still have more after it (the API filters within its pages).
    replace(results, h('p', {}, byToken ? 'No runs match these filters on this page.' : 'No runs match these filters.'), byToken ? paging : undefined);
    return false;
  }
  const table = h(
    'table',
    { class: 'runs' },
    h('caption', {}, `${shown.length} run${shown.length === 1 ? '' : 's'}${byToken ? ' on this page' : ''}, newest first${newestFirst ? '' : ' among those read'}`),
    h('thead', {}, h('tr', {}, ...['Started', 'Model', 'Where', 'Status', 'Duration', 'Objects', 'Source', 'Run'].map((title) => h('th', { scope: 'col' }, title)))),
  );
  const body = h('tbody');
  for (const run of shown) {
    const counts = Object.entries(run.objectCounts ?? {}).map(([status, count]) => `${count} ${status}`).join(', ');
    body.append(
      h(
        'tr',
        {},
        h('td', {}, formatTime(run.createdAt)),
        h('td', {}, h('a', { href: modelHref(run) }, modelLabel(run))),
        h('td', { class: 'where' }, placeLabel(run)),
        h('td', {}, statusBadge(run.status)),
        h('td', {}, formatDuration(runDurationMs(run)), FINAL_STATUSES.has(run.status) ? '' : ' so far'),
        h('td', {}, counts === '' ? '—' : counts),
        h('td', {}, run.source ?? ''),
        h('td', {}, h('a', { href: `#/runs/${encodeURIComponent(run.id)}`, 'aria-label': `Open run of ${modelLabel(run)} started ${formatTime(run.createdAt)}` }, 'Open')),
      ),
    );
  }
  table.append(body);
  // Past its recent-runs index the API reads the task hub in run id order, and run ids begin with
  // the model's key: it lists model by model (it answers order "byModel"), so those rows are not
  // the newest runs of all models.
  const order = newestFirst
    ? undefined
    : h('p', { class: 'hint', id: 'runs-order' }, 'Past the newest runs of all models (the 300 it keeps an index of), the API lists older runs model by model (newest first within each model), so these need not be the newest runs of all. Filter on a server and model (or a workspace and semantic model) to see that model\'s runs newest first.');
  replace(results, order, table, paging);
  return shown.some((run) => !FINAL_STATUSES.has(run.status));
}

function withParam(params: URLSearchParams, name: string, value: string): URLSearchParams {
  const next = new URLSearchParams(params);
  next.set(name, value);
  return next;
}

function filterForm(params: URLSearchParams, limits: ListLimits): HTMLFormElement {
  const input = (name: string, label: string, hint?: string) =>
    h('div', { class: 'field inline' }, h('label', { for: `filter-${name}` }, label), h('input', { id: `filter-${name}`, name, type: 'text', value: params.get(name) ?? '', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': hint === undefined ? undefined : `filter-${name}-hint` }), hint === undefined ? undefined : h('p', { class: 'hint', id: `filter-${name}-hint` }, hint));
  const select = (name: string, label: string, options: [string, string][]) =>
    h('div', { class: 'field inline' }, h('label', { for: `filter-${name}` }, label), h('select', { id: `filter-${name}`, name }, ...options.map(([value, text]) => h('option', { value, selected: (params.get(name) ?? '') === value }, text))));
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter runs' },
    input('model', 'Model'),
    input('server', 'Server', 'asazure://…, as in a request'),
    select('status', 'Status', [['', 'Any status'], ...limits.statuses.map((s): [string, string] => [s, s])]),
    select('since', 'Started within', TIME_WINDOWS.map(([value, text]): [string, string] => [value, text])),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Show runs')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of new FormData(form).entries()) if (typeof value === 'string' && value.trim() !== '') next.set(name, value.trim());
    location.hash = `#/runs?${next.toString()}`;
  });
  return form;
}
