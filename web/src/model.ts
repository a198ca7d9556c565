import { api, ApiProblem, FINAL_STATUSES, type Run } from './api';
import { formatDuration, formatTime, h, replace, statusClass, svg, viewOpened } from './dom';
import { runDurationMs, statusBadge } from './runs';

interface HistoryEntry {
  refreshId: string;
  status: string;
  startTime?: string;
  endTime?: string;
}

const CHART_WIDTH = 600;
const CHART_HEIGHT = 200;
const MAX_BARS = 30;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Bar {
  startTime?: string;
  ms: number;
  status: string;
  /** What the polling policy expected for this one (the app's runs). */
  expectedMs?: number;
}

/**
 * A model's recent refreshes as two bar charts, each with the duration the polling policy expects
 * (the newest run's expectedDurationSeconds): this app's finished runs, each with the expectation
 * it ran under, and the service's own history (30 days, including refreshes started elsewhere).
 */
export async function renderModel(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const target = new URLSearchParams();
  for (const name of ['server', 'model', 'workspace', 'semanticModel']) {
    const value = params.get(name);
    if (value !== null) target.set(name, value);
  }
  // The API's key of a Power BI model is made of its ids: given them, both reads go by id, which
  // selects the model's runs in the task hub without a Power BI look-up of the names.
  const apiTarget = new URLSearchParams(target);
  const workspaceId = params.get('workspaceId');
  const semanticModelId = params.get('semanticModelId');
  if (target.has('workspace') && workspaceId !== null && semanticModelId !== null && GUID.test(workspaceId) && GUID.test(semanticModelId)) {
    apiTarget.set('workspace', workspaceId);
    apiTarget.set('semanticModel', semanticModelId);
  }
  const name = params.get('semanticModel') ?? params.get('model') ?? '';
  const place = params.get('workspace') ?? params.get('server') ?? '';
  const heading = h('h1', { tabindex: '-1' }, `Model: ${name}`);
  const runsSection = h('section', { 'aria-labelledby': 'runs-chart-title', id: 'runs-chart' }, h('h2', { id: 'runs-chart-title' }, "This app's recent runs"), h('p', {}, 'Loading…'));
  const historySection = h('section', { 'aria-labelledby': 'history-chart-title', id: 'history-chart' }, h('h2', { id: 'history-chart-title' }, "The service's refresh history"), h('p', {}, 'Loading…'));
  replace(
    main,
    h('p', {}, h('a', { href: '#/runs' }, '← All runs')),
    heading,
    h('p', { class: 'where' }, place),
    runsSection,
    historySection,
    h('p', {}, h('a', { href: `#/runs?${target.toString()}` }, "This model's runs in the list"), ' · ', h('a', { href: `#/start?${target.toString()}` }, 'Start a refresh of this model')),
  );
  viewOpened(heading);

  const runsQuery = new URLSearchParams(apiTarget);
  runsQuery.set('limit', '50');
  const [history, runs] = await Promise.allSettled([api<{ refreshes: HistoryEntry[] }>('GET', 'models/refreshes', apiTarget), api<{ runs: Run[] }>('GET', 'refreshes', runsQuery)]);
  const appRuns = runs.status === 'fulfilled' ? runs.value.body.runs : [];
  const expectedSeconds = appRuns.find((run) => run.expectedDurationSeconds !== undefined)?.expectedDurationSeconds;
  const expectedMs = expectedSeconds === undefined ? undefined : expectedSeconds * 1000;
  const failure = (reason: unknown, what: string) => h('p', { class: 'error', role: 'alert' }, reason instanceof ApiProblem ? reason.message : `${what} could not be read.`);

  if (runs.status === 'rejected') {
    replace(runsSection, h('h2', { id: 'runs-chart-title' }, "This app's recent runs"), failure(runs.reason, "The app's runs"));
  } else {
    const bars = appRuns
      .filter((run) => FINAL_STATUSES.has(run.status))
      .map((run): Bar => {
        // The refresh's own time in the service when known (what the policy learns from), else the run's.
        const refreshMs = Date.parse(run.refreshEndTime ?? '') - Date.parse(run.refreshStartTime ?? '');
        return { startTime: run.createdAt, ms: Number.isFinite(refreshMs) ? refreshMs : (runDurationMs(run) ?? Number.NaN), status: run.status, expectedMs: run.expectedDurationSeconds === undefined ? undefined : run.expectedDurationSeconds * 1000 };
      });
    const list = h(
      'ul',
      { class: 'plain' },
      ...appRuns.slice(0, 10).map((run) => h('li', {}, h('a', { href: `#/runs/${encodeURIComponent(run.id)}` }, formatTime(run.createdAt)), ' ', statusBadge(run.status), ' ', formatDuration(runDurationMs(run)), FINAL_STATUSES.has(run.status) ? '' : ' so far')),
    );
    replace(runsSection, h('h2', { id: 'runs-chart-title' }, "This app's recent runs"), durationChart('runs', bars, expectedMs, 'runs of this app'), appRuns.length === 0 ? undefined : h('h3', {}, 'Newest runs'), appRuns.length === 0 ? undefined : list);
  }
  if (history.status === 'rejected') {
    replace(historySection, h('h2', { id: 'history-chart-title' }, "The service's refresh history"), failure(history.reason, 'The history'));
  } else {
    const bars = history.value.body.refreshes.map((entry): Bar => ({ startTime: entry.startTime, ms: Date.parse(entry.endTime ?? '') - Date.parse(entry.startTime ?? ''), status: entry.status }));
    replace(historySection, h('h2', { id: 'history-chart-title' }, "The service's refresh history"), durationChart('history', bars, expectedMs, 'refreshes in the service (any caller)'));
  }
}

function durationChart(id: string, entries: Bar[], expectedMs: number | undefined, what: string): HTMLElement {
  const done = entries
    .filter((entry) => Number.isFinite(entry.ms) && entry.ms >= 0)
    .sort((a, b) => Date.parse(a.startTime ?? '') - Date.parse(b.startTime ?? ''))
    .slice(-MAX_BARS);
  const expectedText = expectedMs === undefined ? 'No expected duration yet: the polling policy has no finished runs of this model to learn from.' : `Expected duration: ${formatDuration(expectedMs)} (the polling policy's expectation for the newest run).`;
  if (done.length === 0) return h('div', {}, h('p', {}, `No finished ${what}.`), h('p', {}, expectedText));
  const top = Math.max(...done.map((entry) => Math.max(entry.ms, entry.expectedMs ?? 0)), expectedMs ?? 0) * 1.1 || 1;
  const barWidth = CHART_WIDTH / done.length;
  const y = (ms: number) => CHART_HEIGHT - Math.round((ms / top) * CHART_HEIGHT);
  const chart = svg(
    'svg',
    { viewBox: `0 0 ${CHART_WIDTH} ${CHART_HEIGHT + 20}`, class: 'chart', role: 'img', 'aria-labelledby': `${id}-summary` },
    ...done.map((entry, index) =>
      svg('rect', { x: Math.round(index * barWidth + barWidth * 0.1), y: y(entry.ms), width: Math.max(Math.round(barWidth * 0.8), 1), height: CHART_HEIGHT - y(entry.ms), class: statusClass(entry.status) }, svg('title', {}, `${formatTime(entry.startTime)}: ${formatDuration(entry.ms)} (${entry.status})${entry.expectedMs === undefined ? '' : `, expected ${formatDuration(entry.expectedMs)}`}`)),
    ),
    ...done.map((entry, index) => (entry.expectedMs === undefined ? undefined : svg('line', { x1: Math.round(index * barWidth), x2: Math.round((index + 1) * barWidth), y1: y(entry.expectedMs), y2: y(entry.expectedMs), class: 'expected-tick' }))),
    expectedMs === undefined ? undefined : svg('line', { x1: 0, x2: CHART_WIDTH, y1: y(expectedMs), y2: y(expectedMs), class: 'expected' }),
    expectedMs === undefined ? undefined : svg('text', { x: 4, y: Math.max(y(expectedMs) - 4, 12), class: 'expected-label' }, `expected ${formatDuration(expectedMs)}`),
    svg('text', { x: 4, y: CHART_HEIGHT + 16, class: 'axis' }, 'oldest'),
    svg('text', { x: CHART_WIDTH - 4, y: CHART_HEIGHT + 16, class: 'axis end' }, 'newest'),
  );
  const longest = Math.max(...done.map((entry) => entry.ms));
  const summary = h('p', { id: `${id}-summary` }, `${done.length} finished ${what}, oldest to newest; longest ${formatDuration(longest)}. ${expectedText}`);
  const withExpected = done.some((entry) => entry.expectedMs !== undefined);
  const table = h(
    'table',
    { class: 'durations' },
    h('caption', {}, 'Durations, newest first'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Started'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Duration'), withExpected ? h('th', { scope: 'col' }, 'Expected') : undefined)),
    h('tbody', {}, ...[...done].reverse().map((entry) => h('tr', {}, h('td', {}, formatTime(entry.startTime)), h('td', {}, statusBadge(entry.status)), h('td', {}, formatDuration(entry.ms)), withExpected ? h('td', {}, formatDuration(entry.expectedMs)) : undefined))),
  );
  return h('div', {}, summary, chart, h('details', {}, h('summary', {}, 'Durations as a table'), table));
}
