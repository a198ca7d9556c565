import { FINAL_RUN_STATUSES, modelLabel, type CliRunView as RunView } from './runView';
import type { RefreshService } from './appClient';
import type { Display } from './display';
import { CliError, ExitCodes, exitCodeOfRun, type ExitCode } from './errors';
import type { Interrupts } from './interrupts';

const FINAL = FINAL_RUN_STATUSES;
/** A status read that fails (network, 5xx) is tried again, backing off, for this long. */
const GIVE_UP_AFTER_MS = 5 * 60 * 1000;
const DEFAULT_INTERVAL_MS = 10_000;

export interface WatchOptions {
  service: RefreshService;
  runId: string;
  display: Display;
  interrupts: Interrupts;
  /** Fixed time between status reads; otherwise the app's Retry-After (at least 1 s). */
  pollIntervalMs?: number;
  /** This command started the run: an interrupt in CI (no terminal) cancels it. */
  startedHere: boolean;
  now?: () => number;
}

export interface WatchResult {
  view?: RunView;
  exitCode: ExitCode;
}

/**
 * Reads the run until it ends and shows each read. Ctrl+C on a terminal asks whether to cancel the
 * refresh (yes: cancel and keep watching until the run ends; no: leave it running and stop
 * watching, exit 130). Without a terminal (CI), SIGINT or SIGTERM (a cancelled pipeline) cancels
 * a run this command started and exits 3 once the app has taken the cancel; otherwise it stops
 * watching (130).
 */
export async function watchRun(options: WatchOptions): Promise<WatchResult> {
  const { service, runId, display, interrupts, now = Date.now } = options;
  let last: RunView | undefined;
  let failingSince: number | undefined;
  let failures = 0;
  let cancelSent = false;
  for (;;) {
    let delayMs: number;
    try {
      const { view, retryAfterMs } = await service.get(runId);
      failingSince = undefined;
      failures = 0;
      last = view;
      if (FINAL.has(view.status)) {
        display.end(view);
        return { view, exitCode: exitCodeOfRun(view.status) };
      }
      display.update(view);
      delayMs = options.pollIntervalMs ?? Math.max(1000, retryAfterMs ?? DEFAULT_INTERVAL_MS);
    } catch (error) {
      // Only what may pass is tried again: a refused key or an unknown run will not.
      if (!(error instanceof CliError) || error.exitCode === ExitCodes.badInput) throw error;
      failingSince ??= now();
      failures += 1;
      if (now() - failingSince > GIVE_UP_AFTER_MS) throw new CliError(`${error.message} (status reads failed for ${Math.round((now() - failingSince) / 60_000)} minutes; the run goes on in the app)`, ExitCodes.failed, error.code);
      delayMs = Math.min(30_000, 1000 * 2 ** Math.min(failures, 5));
      display.note(`status read failed: ${error.message}; trying again in ${Math.round(delayMs / 1000)} s`);
    }

    if (!(await interrupts.sleep(delayMs))) continue;
    const signal = interrupts.take();
    let decision: 'cancel' | 'detach' | 'continue';
    if (interrupts.interactive && signal === 'SIGINT' && !cancelSent) {
      display.pause();
      const answer = await interrupts.ask(`Cancel run ${runId}${last === undefined ? '' : ` (refresh of ${modelLabel(last)})`}? y: cancel the refresh, n: leave it running and stop watching [y/N] `);
      decision = answer === 'yes' ? 'cancel' : 'detach';
    } else if (!interrupts.interactive && options.startedHere && !cancelSent) {
      decision = 'cancel';
    } else {
      decision = signal === undefined ? 'continue' : 'detach';
    }
    if (decision === 'continue') continue;
    if (decision === 'detach') {
      const reach = service.reach(runId);
      display.note(reach === undefined ? `Stopped watching; run ${runId} had submitted no refresh, so nothing goes on.` : `Stopped watching; ${reach.what} goes on. Watch it again with: ${reach.command('status')} --wait`);
      return { view: last, exitCode: ExitCodes.interrupted };
    }
    const cancelled = await service.cancel(runId);
    cancelSent = true;
    if (cancelled.ended) {
      display.note(`Run ${runId} had already ended; nothing to cancel.`);
    } else {
      display.note(cancelled.note ?? `Cancel sent: run ${runId} is cancelling its refresh.`);
      // No terminal: the pipeline is stopping this step; the app finishes the cancel on its own.
      if (!interrupts.interactive) return { view: last, exitCode: ExitCodes.cancelled };
    }
  }
}
