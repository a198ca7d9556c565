import { api, ApiProblem, FINAL_STATUSES, modelLabel, placeLabel, serviceLabel, type Run } from './api';
import { announce, definitionList, formatDuration, formatTime, h, replace, statusClass, svg, viewOpened } from './dom';
import { modelHref, runDurationMs, statusBadge } from './runs';

declare const ERROR_GUIDANCE: Record<string, { meaning: string; todo: string }>;

const PHASE_TEXT: Record<string, string> = {
  pending: 'Starting: reading the model and submitting the refresh.',
  waiting: 'Waiting: another refresh is running on the model.',
  refreshing: 'Refreshing: the service is processing the objects.',
  cancelling: 'Cancelling the refresh.',
  syncing: 'Synchronizing query replicas.',
  succeeded: 'Succeeded.',
  failed: 'Failed.',
  cancelled: 'Cancelled.',
  timedOut: 'Timed out: the run passed its timeout and cancelled the refresh.',
};
// AAS sync states (GET …/sync?operationId=): 0 replicating, 1 rehydrating, 2 completed, 3 failed, 4 finalizing.
const SYNC_STATES = ['replicating', 'rehydrating', 'completed', 'failed', 'finalizing'];
/** Live polling: the app's Retry-After, kept within these bounds so the page stays live. */
const MIN_POLL_MS = 1_000;
const MAX_POLL_MS = 5_000;

/** What this page saw of a run: one sample per change of lastUpdatedAt (one per poll of the service). */
interface Sample {
  at: number;
  statuses: Map<string, string>;
}
const observed = new Map<string, Sample[]>();

const objectKey = (object: { table: string; partition?: string }) => `${object.table}\u0000${object.partition ?? ''}`;
// AAS names a table's single partition after the table: the label then names it once.
const objectLabel = (object: { table: string; partition?: string }) => (object.partition === undefined || object.partition === object.table ? object.table : `${object.table} / ${object.partition}`);

/**
 * Samples also go to this tab's sessionStorage, so that a reload keeps the timeline: the newest
 * runs only (MAX_STORED_RUNS), each with at most MAX_STORED_SAMPLES; a full storage keeps memory only.
 */
const SAMPLES_STORAGE = 'aasRefresh.samples';
const MAX_STORED_RUNS = 5;
const MAX_STORED_SAMPLES = 200;
type StoredSamples = Record<string, { at: number; statuses: [string, string][] }[]>;

function storedSamples(): StoredSamples {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(SAMPLES_STORAGE) ?? '{}') as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as StoredSamples) : {};
  } catch {
    return {};
  }
}

function store(id: string, samples: Sample[]): void {
  const all = storedSamples();
  delete all[id];
  all[id] = samples.slice(-MAX_STORED_SAMPLES).map((sample) => ({ at: sample.at, statuses: [...sample.statuses] }));
  const kept = Object.fromEntries(Object.entries(all).slice(-MAX_STORED_RUNS));
  try {
    sessionStorage.setItem(SAMPLES_STORAGE, JSON.stringify(kept));
  } catch {
    // Storage full: the timeline lives in memory for this page.
  }
}

function record(run: Run): Sample[] {
  let samples = observed.get(run.id);
  if (samples === undefined) {
    const stored = storedSamples()[run.id];
    samples = Array.isArray(stored) ? stored.filter((s) => Number.isFinite(s?.at) && Array.isArray(s.statuses)).map((s) => ({ at: s.at, statuses: new Map(s.statuses) })) : [];
  }
  const at = Date.parse(run.lastUpdatedAt);
  const last = samples[samples.length - 1];
  if (Number.isFinite(at) && (last === undefined || last.at < at)) {
    samples.push({ at, statuses: new Map(run.objects.map((object) => [objectKey(object), object.status])) });
    store(run.id, samples);
  }
  observed.set(run.id, samples);
  return samples;
}

export interface LiveHandle {
  stop(): void;
}

export function renderRun(main: HTMLElement, id: string): LiveHandle {
  let stopped = false;
  let timer: number | undefined;
  const heading = h('h1', { tabindex: '-1' }, 'Run');
  const status = h('section', { 'aria-labelledby': 'run-status-title' });
  const actions = h('div', { class: 'actions' });
  const timeline = h('section', { 'aria-labelledby': 'timeline-title' });
  const messages = h('section', { 'aria-labelledby': 'messages-title' });
  const details = h('section', { 'aria-labelledby': 'details-title' });
  const problem = h('div', { role: 'alert' });
  replace(main, h('p', {}, h('a', { href: '#/runs' }, '← All runs')), heading, problem, status, actions, timeline, messages, details);
  viewOpened(heading);

  const cancelButton = h('button', { type: 'button', class: 'danger', hidden: true }, 'Cancel this refresh…');
  const dialog = cancelDialog();
  actions.append(cancelButton, dialog.element);
  let current: Run | undefined;
  cancelButton.addEventListener('click', () => {
    if (current !== undefined) dialog.open(current);
  });
  dialog.onConfirm(async () => {
    try {
      await api('DELETE', `refreshes/${encodeURIComponent(id)}`);
      announce('Cancellation requested.');
      replace(problem);
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      replace(problem, h('p', { class: 'error' }, error.message));
    }
    await poll();
  });

  let lastStatus: string | undefined;
  async function poll(): Promise<void> {
    if (stopped) return;
    if (timer !== undefined) window.clearTimeout(timer);
    let delayMs = MAX_POLL_MS;
    try {
      const answer = await api<Run>('GET', `refreshes/${encodeURIComponent(id)}`);
      if (stopped) return;
      current = answer.body;
      draw(answer.body);
      if (lastStatus !== undefined && lastStatus !== answer.body.status) announce(`Run status: ${answer.body.status}.`);
      lastStatus = answer.body.status;
      if (FINAL_STATUSES.has(answer.body.status)) return;
      delayMs = Math.min(Math.max((answer.retryAfterSeconds ?? 0) * 1000, MIN_POLL_MS), MAX_POLL_MS);
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      replace(problem, h('p', { class: 'error' }, error.message));
      if (error.status === 404) return;
    }
    if (!stopped) timer = window.setTimeout(() => void poll(), delayMs);
  }

  function draw(run: Run): void {
    const samples = record(run);
    heading.textContent = `Run: ${modelLabel(run)}`;
    const running = !FINAL_STATUSES.has(run.status);
    cancelButton.hidden = !running || run.status === 'cancelling';
    replace(
      status,
      h('h2', { id: 'run-status-title' }, 'Status'),
      h('p', { class: 'phase' }, statusBadge(run.status), ' ', PHASE_TEXT[run.status] ?? '', running ? h('span', { class: 'live' }, ' Live: updates by itself.') : undefined),
      definitionList([
        ['Model', h('a', { href: modelHref(run) }, modelLabel(run))],
        [run.workspace !== undefined ? 'Workspace' : 'Server', run.workspace ?? run.server],
        ['Service', serviceLabel(run)],
        ['Resolved ids', run.workspaceId === undefined ? undefined : `workspace ${run.workspaceId}${run.semanticModelId === undefined ? '' : `, semantic model ${run.semanticModelId}`}`],
        ['Run id', h('code', {}, run.id)],
        ['Started', formatTime(run.startedAt ?? run.createdAt)],
        ['Ended', run.endedAt === undefined ? undefined : formatTime(run.endedAt)],
        ['Duration', `${formatDuration(runDurationMs(run))}${running ? ' so far' : ''}`],
        ['Expected duration', run.expectedDurationSeconds === undefined ? undefined : `${formatDuration(run.expectedDurationSeconds * 1000)} (from the model's recent refreshes; the polling policy plans its polls around it)`],
        ['Deadline', run.deadline === undefined ? undefined : formatTime(run.deadline)],
        ['Service refresh', run.refreshId === undefined ? undefined : `${run.refreshId}${run.adopted === true ? ' (adopted)' : ''}`],
        [`${serviceLabel(run)} status`, run.refreshStatus ?? run.aasStatus],
        ['Status calls', String(run.statusCalls)],
        ['Next poll', run.nextPollAt === undefined ? undefined : formatTime(run.nextPollAt)],
        ['Source', run.source],
      ]),
      run.error === undefined ? undefined : errorBlock('Error', run.error),
      run.lastIssue === undefined || run.error !== undefined ? undefined : errorBlock('Last issue (the run keeps going)', run.lastIssue),
      run.note === undefined ? undefined : h('p', { class: 'note' }, run.note),
    );
    replace(timeline, h('h2', { id: 'timeline-title' }, 'Objects over time'), timelineOf(run, samples));
    replace(
      messages,
      h('h2', { id: 'messages-title' }, `Messages from ${serviceLabel(run)}`),
      run.messages.length === 0 ? h('p', {}, 'No messages.') : h('ul', { class: 'messages' }, ...run.messages.map((m) => h('li', {}, m.type === undefined ? undefined : h('strong', {}, `${m.type}: `), m.code === undefined ? undefined : h('code', {}, m.code), m.code === undefined ? '' : ' ', m.message))),
    );
    replace(details, h('h2', { id: 'details-title' }, 'Request, sync and callback'), requestFacts(run));
  }

  void poll();
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) window.clearTimeout(timer);
      dialog.close();
    },
  };
}

function errorBlock(title: string, error: { code: string; message: string }): HTMLElement {
  const guidance = ERROR_GUIDANCE[error.code];
  return h(
    'div',
    { class: 'error' },
    h('h3', {}, title),
    h('p', {}, h('code', {}, error.code), ' ', error.message),
    guidance === undefined || guidance.todo === '' ? undefined : h('p', {}, h('strong', {}, 'What to do: '), guidance.todo),
  );
}

function requestFacts(run: Run): HTMLElement {
  const request = run.request ?? {};
  const aasState = run.syncState === undefined ? undefined : (SYNC_STATES[run.syncState] ?? String(run.syncState));
  const syncNow = run.syncStatus ?? aasState ?? (run.status === 'syncing' ? 'in progress' : 'asked for, after the refresh');
  const sync = request.sync === true ? `${syncNow}${run.syncStatus !== undefined && aasState !== undefined ? ` (AAS: ${aasState})` : ''}` : 'not asked for';
  const callback =
    request.callback !== true
      ? 'none'
      : run.callback === undefined
        ? 'not sent yet (sent when the run ends)'
        : run.callback.delivered
          ? `delivered${run.callback.httpStatus === undefined ? '' : ` (HTTP ${run.callback.httpStatus})`}`
          : `not delivered${run.callback.error === undefined ? '' : `: ${run.callback.error}`}`;
  return definitionList([
    ['Type', request.type],
    ['Commit mode', request.commitMode],
    ['Max parallelism', request.maxParallelism === undefined ? undefined : String(request.maxParallelism)],
    ['Retry count', request.retryCount === undefined ? undefined : String(request.retryCount)],
    ['Objects asked for', request.objects === undefined || request.objects.length === 0 ? 'the whole model' : request.objects.map(objectLabel).join(', ')],
    ['Timeout', request.timeoutSeconds === undefined ? undefined : formatDuration(request.timeoutSeconds * 1000)],
    ['On conflict', request.onConflict],
    ['Apply refresh policy', request.applyRefreshPolicy === undefined ? undefined : request.applyRefreshPolicy ? 'yes' : 'no'],
    ['Effective date', request.effectiveDate],
    ['Replica sync', sync],
    ['Sync operation', run.syncOperationId],
    ['Sync details', run.syncDetails ?? undefined],
    ['Callback', callback],
  ]);
}

/**
 * One bar per object, split where the polls this page saw found a new status. A run opened after
 * it ended has a single sample: its bars show each object's final status over the refresh.
 */
function timelineOf(run: Run, samples: Sample[]): HTMLElement {
  const objects = run.objects;
  if (objects.length === 0) return h('p', {}, run.objectsTruncated === true ? 'Too many objects to list while running; see the counts above.' : 'The service has not listed the objects yet.');
  const onlyFinal = samples.length <= 1 && FINAL_STATUSES.has(run.status);
  const start = Date.parse(onlyFinal ? (run.refreshStartTime ?? run.startedAt ?? run.createdAt) : (run.startedAt ?? run.createdAt));
  // While running, the status of the latest poll is drawn up to the next poll: until then it is all anyone knows.
  const nextPoll = FINAL_STATUSES.has(run.status) || run.nextPollAt === undefined ? Number.NaN : Date.parse(run.nextPollAt);
  const end = Math.max(Date.parse(onlyFinal ? (run.refreshEndTime ?? run.endedAt ?? run.lastUpdatedAt) : (run.endedAt ?? run.lastUpdatedAt)), ...samples.map((s) => s.at), Number.isFinite(nextPoll) ? nextPoll : 0);
  const span = Math.max(end - start, 1);
  const x = (time: number) => Math.round(((Math.min(Math.max(time, start), end) - start) / span) * 1000);
  const seen = new Set<string>();
  const list = h('ol', { class: 'timeline' });
  for (const object of objects) {
    const key = objectKey(object);
    const segments: { from: number; to: number; status: string }[] = [];
    if (onlyFinal) {
      segments.push({ from: start, to: end, status: object.status });
    } else {
      samples.forEach((sample, index) => {
        const status = sample.statuses.get(key);
        if (status === undefined) return;
        const to = samples[index + 1]?.at ?? end;
        const last = segments[segments.length - 1];
        if (last !== undefined && last.status === status && last.to === sample.at) last.to = to;
        else segments.push({ from: sample.at, to, status });
      });
    }
    for (const segment of segments) seen.add(segment.status);
    const description = segments.map((s) => `${s.status} from ${formatDuration(s.from - start)} to ${formatDuration(s.to - start)}`).join(', then ');
    const bar = svg(
      'svg',
      { viewBox: '0 0 1000 20', preserveAspectRatio: 'none', role: 'img', 'aria-label': `${objectLabel(object)}: ${description === '' ? object.status : description}`, class: 'bar' },
      ...segments.map((s) => svg('rect', { x: x(s.from), y: 0, width: Math.max(x(s.to) - x(s.from), 2), height: 20, class: statusClass(s.status) }, svg('title', {}, `${s.status}: ${formatDuration(s.to - s.from)}`))),
    );
    list.append(h('li', {}, h('span', { class: 'object' }, objectLabel(object)), h('span', { class: 'object-status' }, statusBadge(object.status)), bar));
  }
  const legend = h('p', { class: 'legend' }, 'Key: ', ...[...seen].map((status) => h('span', { class: 'legend-item' }, h('span', { class: `swatch ${statusClass(status)}`, 'aria-hidden': 'true' }), status)));
  const scale = h('p', { class: 'hint' }, `From ${formatTime(new Date(start).toISOString())} to ${formatTime(new Date(end).toISOString())} (${formatDuration(span)}). `, onlyFinal ? 'Opened after the run ended: each bar shows the final status over the refresh.' : "Drawn from the service's answers this page has seen while open; while running, each bar ends with the latest status, up to the next poll.");
  const more = run.objectsTruncated === true ? h('p', { class: 'hint' }, `Showing the first ${objects.length} objects while the run is going; counts: ${Object.entries(run.objectCounts).map(([s, n]) => `${n} ${s}`).join(', ')}.`) : undefined;
  return h('div', {}, scale, legend, list, more);
}

function cancelDialog(): { element: HTMLDialogElement; open(run: Run): void; close(): void; onConfirm(action: () => Promise<void>): void } {
  const text = h('p', { id: 'cancel-text' });
  const confirm = h('button', { type: 'button', class: 'danger' }, 'Yes, cancel the refresh');
  const keep = h('button', { type: 'button' }, 'No, keep it running');
  const element = h('dialog', { 'aria-labelledby': 'cancel-title', 'aria-describedby': 'cancel-text' }, h('h2', { id: 'cancel-title' }, 'Cancel this refresh?'), text, h('div', { class: 'actions' }, keep, confirm));
  let action: (() => Promise<void>) | undefined;
  keep.addEventListener('click', () => element.close());
  confirm.addEventListener('click', () => {
    element.close();
    void action?.();
  });
  return {
    element,
    open(run) {
      text.textContent = `The run asks ${serviceLabel(run)} to cancel the refresh of ${modelLabel(run)} (${placeLabel(run)}). Objects not yet committed are not refreshed.`;
      element.showModal();
      keep.focus();
    },
    close() {
      if (element.open) element.close();
    },
    onConfirm(next) {
      action = next;
    },
  };
}
