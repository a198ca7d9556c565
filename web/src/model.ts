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

/** The model's recent refreshes (the service's own history) as a bar chart, with the duration the polling policy expects. */
export async function renderModel(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const target = new URLSearchParams();
  for (const name of ['server', 'model', 'workspace', 'semanticModel']) {
    const value = params.get(name);
    if (value !== null) target.set(name, value);
  }
  const name = params.get('semanticModel') ?? params.get('model') ?? '';
  const place = params.get('workspace') ?? params.get('server') ?? '';
  const heading = h('h1', { tabindex: '-1' }, `Model: ${name}`);
  const chart = h('section', { 'aria-labelledby': 'chart-title' }, h('h2', { id: 'chart-title' }, 'Recent refresh durations'), h('p', {}, 'Loading…'));
  const runsSection = h('section', { 'aria-labelledby': 'model-runs-title' });
  const listLink = new URLSearchParams(target);
  replace(main, h('p', {}, h('a', { href: '#/runs' }, '← All runs')), heading, h('p', { class: 'where' }, place), chart, runsSection, h('p', {}, h('a', { href: `#/runs?${listLink.toString()}` }, "This model's runs in the list"), ' · ', h('a', { href: `#/start?${target.toString()}` }, 'Start a refresh of this model')));
  viewOpened(heading);

  const runsQuery = new URLSearchParams(target);
  runsQuery.set('limit', '20');
  const [history, runs] = await Promise.allSettled([api<{ refreshes: HistoryEntry[] }>('GET', 'models/refreshes', target), api<{ runs: Run[] }>('GET', 'refreshes', runsQuery)]);
  const appRuns = runs.status === 'fulfilled' ? runs.value.body.runs : [];
  const expectedSeconds = appRuns.find((run) => run.expectedDurationSeconds !== undefined)?.expectedDurationSeconds;

  if (history.status === 'rejected') {
    const error = history.reason;
    replace(chart, h('h2', { id: 'chart-title' }, 'Recent refresh durations'), h('p', { class: 'error', role: 'alert' }, error instanceof ApiProblem ? error.message : 'The history could not be read.'));
  } else {
    replace(chart, h('h2', { id: 'chart-title' }, 'Recent refresh durations'), durationChart(history.value.body.refreshes, expectedSeconds));
  }
  replace(
    runsSection,
    h('h2', { id: 'model-runs-title' }, "This app's recent runs of the model"),
    appRuns.length === 0
      ? h('p', {}, runs.status === 'rejected' && runs.reason instanceof ApiProblem ? runs.reason.message : 'No runs.')
      : h(
          'ul',
          { class: 'plain' },
          ...appRuns.map((run) => h('li', {}, h('a', { href: `#/runs/${encodeURIComponent(run.id)}` }, formatTime(run.createdAt)), ' ', statusBadge(run.status), ' ', formatDuration(runDurationMs(run)), FINAL_STATUSES.has(run.status) ? '' : ' so far')),
        ),
  );
}

function durationChart(entries: HistoryEntry[], expectedSeconds: number | undefined): HTMLElement {
  const done = entries
    .map((entry) => ({ ...entry, ms: Date.parse(entry.endTime ?? '') - Date.parse(entry.startTime ?? '') }))
    .filter((entry) => Number.isFinite(entry.ms) && entry.ms >= 0)
    .sort((a, b) => Date.parse(a.startTime ?? '') - Date.parse(b.startTime ?? ''))
    .slice(-MAX_BARS);
  const expectedMs = expectedSeconds === undefined ? undefined : expectedSeconds * 1000;
  const expectedText = expectedMs === undefined ? 'No expected duration yet: the polling policy has no runs of this model to learn from.' : `Expected duration: ${formatDuration(expectedMs)}, from the newest run's polling policy.`;
  if (done.length === 0) return h('div', {}, h('p', {}, 'The service lists no finished refreshes of this model.'), h('p', {}, expectedText));
  const top = Math.max(...done.map((entry) => entry.ms), expectedMs ?? 0) * 1.1 || 1;
  const barWidth = CHART_WIDTH / done.length;
  const y = (ms: number) => CHART_HEIGHT - Math.round((ms / top) * CHART_HEIGHT);
  const chart = svg(
    'svg',
    { viewBox: `0 0 ${CHART_WIDTH} ${CHART_HEIGHT + 20}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-summary' },
    ...done.map((entry, index) =>
      svg('rect', { x: Math.round(index * barWidth + barWidth * 0.1), y: y(entry.ms), width: Math.max(Math.round(barWidth * 0.8), 1), height: CHART_HEIGHT - y(entry.ms), class: statusClass(entry.status) }, svg('title', {}, `${formatTime(entry.startTime)}: ${formatDuration(entry.ms)} (${entry.status})`)),
    ),
    expectedMs === undefined ? undefined : svg('line', { x1: 0, x2: CHART_WIDTH, y1: y(expectedMs), y2: y(expectedMs), class: 'expected' }),
    expectedMs === undefined ? undefined : svg('text', { x: 4, y: Math.max(y(expectedMs) - 4, 12), class: 'expected-label' }, `expected ${formatDuration(expectedMs)}`),
    svg('text', { x: 4, y: CHART_HEIGHT + 16, class: 'axis' }, 'oldest'),
    svg('text', { x: CHART_WIDTH - 4, y: CHART_HEIGHT + 16, class: 'axis end' }, 'newest'),
  );
  const longest = Math.max(...done.map((entry) => entry.ms));
  const summary = h('p', { id: 'chart-summary' }, `${done.length} refreshes, oldest to newest; longest ${formatDuration(longest)}. ${expectedText}`);
  const table = h(
    'table',
    { class: 'durations' },
    h('caption', {}, 'Durations, newest first'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Started'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Duration'))),
    h('tbody', {}, ...[...done].reverse().map((entry) => h('tr', {}, h('td', {}, formatTime(entry.startTime)), h('td', {}, statusBadge(entry.status)), h('td', {}, formatDuration(entry.ms))))),
  );
  return h('div', {}, summary, chart, h('details', {}, h('summary', {}, 'Durations as a table'), table));
}
