import { FINAL_RUN_STATUSES as FINAL, modelLabel, serviceName, serviceStatus, syncLabel, targetLabel, type CliRunView as RunView } from './runView';

/** Where a command writes: stdout for results, stderr for messages and the Ctrl+C prompt. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Columns and rows of the terminal, when there is one. */
  size(): { columns: number; rows: number };
}

/** Shows a run while it is watched: live (a terminal), plain lines (CI logs) or nothing (--json). */
export interface Display {
  update(view: RunView): void;
  /** A message between frames (a missed status read, a cancel sent). */
  note(text: string): void;
  /** Stops redrawing (before a prompt); the next update draws a new frame below. */
  pause(): void;
  end(view: RunView): void;
}

const OBJECT_DONE = new Set(['succeeded', 'failed', 'cancelled', 'timedOut', 'completed']);

export const objectName = (object: { table: string; partition?: string }) =>
  object.partition === undefined || object.partition === object.table ? object.table : `${object.table} / ${object.partition}`;

/**
 * What the polls tell about each object's time (AAS and Power BI report none per object): how
 * long this CLI has seen it in progress, and, once done, by when in the refresh it was done (the
 * first read that showed it done, from the refresh's start, by the service's clock).
 */
class ObjectTimes {
  private readonly seen = new Map<string, { status: string; seenInProgressAt?: number; doneBySeconds?: number }>();

  constructor(private readonly now: () => number) {}

  /** Records the statuses; returns the objects whose status changed. */
  observe(view: RunView): { name: string; status: string; previous?: string }[] {
    const changed: { name: string; status: string; previous?: string }[] = [];
    const refreshStart = Date.parse(view.refreshStartTime ?? view.startedAt ?? view.createdAt);
    for (const object of view.objects) {
      const name = objectName(object);
      const entry = this.seen.get(name);
      if (entry?.status === object.status) continue;
      const next = { ...entry, status: object.status };
      if (object.status === 'inProgress') next.seenInProgressAt ??= this.now();
      if (OBJECT_DONE.has(object.status) && next.doneBySeconds === undefined && Number.isFinite(refreshStart)) {
        next.doneBySeconds = Math.max(0, Math.round((Date.parse(view.lastUpdatedAt) - refreshStart) / 1000));
      }
      this.seen.set(name, next);
      changed.push({ name, status: object.status, ...(entry === undefined ? {} : { previous: entry.status }) });
    }
    return changed;
  }

  /** "for 12 s" while in progress (as long as this CLI has seen it), "done by +40 s" once done. */
  timing(name: string): string {
    const entry = this.seen.get(name);
    if (entry === undefined) return '';
    if (OBJECT_DONE.has(entry.status)) return entry.doneBySeconds === undefined ? '' : `done by +${formatSeconds(entry.doneBySeconds)}`;
    if (entry.status === 'inProgress' && entry.seenInProgressAt !== undefined) return `for ${formatSeconds(Math.max(0, Math.round((this.now() - entry.seenInProgressAt) / 1000)))}`;
    return '';
  }
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** The run's duration by the app's clock: creation to end (or to its last update while running). */
export function runSeconds(view: RunView): number {
  const end = Date.parse(view.endedAt ?? view.lastUpdatedAt);
  return Math.max(0, Math.round((end - Date.parse(view.createdAt)) / 1000));
}

const target = targetLabel;

function runState(view: RunView): string {
  const parts: string[] = [view.status];
  const service = serviceStatus(view);
  if (service !== undefined && !FINAL.has(view.status)) parts.push(service);
  const sync = syncLabel(view);
  if (sync !== undefined && view.status === 'syncing') parts.push(`replica sync ${sync}`);
  return parts.join(', ');
}

function doneCount(view: RunView): string {
  const counts = view.objectCounts ?? {};
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
  if (total === 0) return '';
  const done = Object.entries(counts).reduce((sum, [status, count]) => sum + (OBJECT_DONE.has(status) ? count : 0), 0);
  return `${done}/${total} objects done`;
}

/** A service's text on one line: a message with line breaks would break the summary's layout. */
const oneLine = (text: string) => text.replace(/\s*[\r\n]+\s*/g, ' ');

/** The lines that end every watch and `status`: the outcome, and on failure what went wrong. */
export function summaryLines(view: RunView): string[] {
  const lines: string[] = [];
  const seconds = formatSeconds(runSeconds(view));
  const objects = `${view.objects.length} object${view.objects.length === 1 ? '' : 's'}`;
  if (!FINAL.has(view.status)) {
    lines.push(`Run ${view.id} (${target(view)}) is ${runState(view)} after ${seconds}${doneCount(view) === '' ? '' : `, ${doneCount(view)}`}.`);
  } else if (view.status === 'succeeded') {
    const sync = view.syncOperationId === undefined ? '' : '; replicas synced';
    lines.push(`Run ${view.id} succeeded in ${seconds}: ${target(view)}, ${serviceName(view)} refresh ${view.refreshId ?? '-'}, ${objects}${sync}.`);
  } else {
    lines.push(`Run ${view.id} ${view.status === 'timedOut' ? 'timed out' : view.status} after ${seconds}: ${target(view)}.`);
  }
  if (view.error !== undefined) lines.push(`  ${view.error.code}: ${oneLine(view.error.message)}`);
  const failed = view.objects.filter((object) => object.status === 'failed').map(objectName);
  if (failed.length > 0) lines.push(`  failed objects: ${failed.join(', ')}`);
  for (const message of (view.messages ?? []).slice(0, 5)) lines.push(`  ${serviceName(view)} ${message.type ?? 'message'}: ${oneLine(message.message)}`);
  if (view.note !== undefined) lines.push(`  note: ${oneLine(view.note)}`);
  if (view.callback !== undefined) lines.push(`  callback: ${view.callback.delivered ? 'delivered' : `not delivered (${view.callback.error ?? 'no answer'})`}`);
  return lines;
}

/** Plain lines for CI logs: a line per change, each with the UTC time. */
export function plainDisplay(output: Output, now: () => number = Date.now, ci: 'github' | 'azureDevOps' | undefined = undefined): Display {
  const times = new ObjectTimes(now);
  let lastRun = '';
  let lastIssue = '';
  const stamp = () => new Date(now()).toISOString().slice(11, 19);
  const line = (text: string) => output.out(`${stamp()} ${text}\n`);
  return {
    update(view) {
      const runLine = `run ${view.id} ${runState(view)}`;
      if (runLine !== lastRun) {
        line(`${runLine}${lastRun === '' ? ` (${target(view)})` : ''}`);
        lastRun = runLine;
      }
      for (const change of times.observe(view)) {
        const timing = OBJECT_DONE.has(change.status) ? times.timing(change.name) : '';
        line(`  ${change.name}: ${change.status}${timing === '' ? '' : ` (${timing})`}`);
      }
      const issue = view.lastIssue === undefined ? '' : `${view.lastIssue.code}: ${view.lastIssue.message}`;
      if (issue !== lastIssue && issue !== '') line(`  last issue: ${issue}`);
      lastIssue = issue;
    },
    note(text) {
      line(text);
    },
    pause() {},
    end(view) {
      this.update(view);
      for (const text of summaryLines(view)) output.out(`${text}\n`);
      // Annotations make the failure show on the pipeline's summary page.
      if (view.status !== 'succeeded' && ci !== undefined) {
        const message = `Refresh of ${modelLabel(view)} ${view.status}${view.error === undefined ? '' : `: ${view.error.code}: ${view.error.message}`}`.replace(/[\r\n]+/g, ' ');
        output.out(ci === 'github' ? `::error title=aas-refresh::${message}\n` : `##vso[task.logissue type=error]${message}\n`);
      }
    },
  };
}

const MARK: Record<string, string> = { notStarted: '·', inProgress: '▸', succeeded: '✓', completed: '✓', failed: '✗', cancelled: '⊘', timedOut: '⌛' };
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A frame redrawn in place on a terminal: the run, then a line per object with how long it has
 * been in progress. Redrawn every second, so that a slow object shows while nothing changes.
 */
export function liveDisplay(output: Output, now: () => number = Date.now, color = true): Display {
  const times = new ObjectTimes(now);
  let drawnLines = 0;
  let current: RunView | undefined;
  let tick = 0;
  let ticker: NodeJS.Timeout | undefined;
  const paint = (code: string, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const statusColor = (status: string) => (status === 'succeeded' || status === 'completed' ? '32' : status === 'failed' || status === 'timedOut' ? '31' : status === 'cancelled' ? '33' : '36');

  function frame(view: RunView): string[] {
    const { columns, rows } = output.size();
    const fit = (text: string) => (text.length > columns - 1 ? `${text.slice(0, Math.max(1, columns - 2))}…` : text);
    const running = !FINAL.has(view.status);
    const header = `${running ? SPINNER[tick % SPINNER.length] : (MARK[view.status] ?? '•')} Run ${view.id.slice(0, 8)} ${target(view)}: ${runState(view)}  ${formatSeconds(runSeconds(view))}${doneCount(view) === '' ? '' : `  ${doneCount(view)}`}`;
    const lines = [paint('1', fit(header))];
    const width = Math.min(48, Math.max(12, ...view.objects.map((object) => objectName(object).length)));
    // Keep the frame shorter than the terminal: a frame that scrolls cannot be redrawn in place.
    const room = Math.max(1, rows - 4);
    const shown = view.objects.length > room ? view.objects.slice(0, room - 1) : view.objects;
    for (const object of shown) {
      const name = objectName(object);
      const text = fit(`  ${MARK[object.status] ?? '•'} ${name.padEnd(width)}  ${object.status.padEnd(11)} ${times.timing(name)}`.trimEnd());
      lines.push(paint(statusColor(object.status), text));
    }
    if (shown.length < view.objects.length) lines.push(`  … ${view.objects.length - shown.length} more objects`);
    if (view.objectsTruncated === true) lines.push('  (the app lists the first objects while the run is going)');
    if (view.lastIssue !== undefined && running) lines.push(paint('33', fit(`  last issue: ${view.lastIssue.code}: ${view.lastIssue.message}`)));
    return lines;
  }

  function draw(): void {
    if (current === undefined) return;
    // Up to the frame's first line, clear to the end of the screen, draw.
    const up = drawnLines > 0 ? `\x1b[${drawnLines}F\x1b[0J` : '';
    const lines = frame(current);
    output.out(`${up}${lines.join('\n')}\n`);
    drawnLines = lines.length;
  }

  return {
    update(view) {
      times.observe(view);
      current = view;
      if (ticker === undefined) {
        output.out('\x1b[?25l');
        ticker = setInterval(() => {
          tick += 1;
          draw();
        }, 1000);
        ticker.unref();
      }
      draw();
    },
    note(text) {
      output.out(`${up(drawnLines)}${text}\n`);
      drawnLines = 0;
      draw();
    },
    pause() {
      if (ticker !== undefined) clearInterval(ticker);
      ticker = undefined;
      output.out('\x1b[?25h');
      drawnLines = 0;
    },
    end(view) {
      // The last frame replaces the live one (unless a prompt came after it), then the summary.
      if (ticker !== undefined) clearInterval(ticker);
      ticker = undefined;
      times.observe(view);
      current = view;
      draw();
      output.out(`\x1b[?25h${summaryLines(view).join('\n')}\n`);
    },
  };
}

function up(lines: number): string {
  return lines > 0 ? `\x1b[${lines}F\x1b[0J` : '';
}

/** --json: nothing while waiting; the command prints the final run. */
export const silentDisplay: Display = { update() {}, note() {}, pause() {}, end() {} };
