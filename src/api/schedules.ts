import type { InvocationContext, Timer } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import type { Config, ScheduleConfig } from '../config/config';
import { codeOf, detailOf, kindOf } from '../errors';
import { targetOf, type RunRequest } from '../orchestration/contracts';
import { targetAttributes } from '../refresh/target';
import { parseTimerSchedule, type TimerSchedule } from '../schedules/timerSchedule';
import type { Services } from '../services';
import type { StartOutcome } from './handlers';
import { parseRunRequest } from './requestSchema';
import { logEvent, type LogLevel } from '../logging';

/** A REFRESH_SCHEDULES entry that runs: its timer is registered. */
export interface ActiveSchedule {
  state: 'active';
  name: string;
  schedule: string;
  timer: TimerSchedule;
  runRequest: RunRequest;
}

/** An entry that does not run, and why; the other schedules and the API are not affected. */
export interface DisabledSchedule {
  state: 'disabled';
  name: string;
  schedule: string;
  problem: string;
}

export type PreparedSchedule = ActiveSchedule | DisabledSchedule;

/**
 * Checks every REFRESH_SCHEDULES entry at load: its shape, its schedule (NCRONTAB as Azure reads
 * it, TimeSpan only on a dedicated plan, and one that fires at all) and its run request. A wrong
 * entry is disabled with its problem, never thrown: in Azure a module that throws while the app
 * loads stops every function of the app, in-flight runs included.
 */
export function prepareSchedules(config: Config, nowMs: number): PreparedSchedule[] {
  return config.schedules.entries.map((entry) => {
    try {
      return prepareSchedule(entry, config, nowMs);
    } catch (error) {
      // Not expected (every check returns its problem), but a throw here would stop the whole app.
      return { state: 'disabled', name: entry.name, schedule: entry.schedule, problem: `could not be checked: ${detailOf(error)}` };
    }
  });
}

function prepareSchedule(entry: ScheduleConfig, config: Config, nowMs: number): PreparedSchedule {
  const disabled = (problems: string[]): DisabledSchedule => ({ state: 'disabled', name: entry.name, schedule: entry.schedule, problem: problems.join('; ') });
  if (entry.problems.length > 0) return disabled(entry.problems);
  const problems: string[] = [];
  const timer = parseTimerSchedule(entry.schedule, { timeSpanAllowed: config.schedules.timeSpanAllowed });
  if (!timer.ok) problems.push(`schedule: ${timer.problem}`);
  else if (timer.schedule.next(nowMs) === undefined) problems.push(`schedule: "${entry.schedule}" never fires (no such date before the year 10000)`);
  const parsed = parseRunRequest(entry.request, config, `schedule:${entry.name}`);
  if (!parsed.ok) problems.push(`request: ${parsed.problems.join('; ')}`);
  if (problems.length > 0 || !timer.ok || !parsed.ok) return disabled(problems);
  return { state: 'active', name: entry.name, schedule: entry.schedule, timer: timer.schedule, runRequest: parsed.request };
}

/** The function name of a schedule's timer trigger. */
export const scheduleFunctionName = (name: string) => `schedule-${name}`;

/** Logs one `schedule.disabled` error event per disabled entry, naming it and its problem. */
export function logDisabledSchedules(log: Pick<InvocationContext, LogLevel>, schedules: readonly PreparedSchedule[]): void {
  for (const schedule of schedules) {
    if (schedule.state === 'disabled') logEvent(log, 'error', 'schedule.disabled', { schedule: schedule.name, problem: schedule.problem });
  }
}

/** A scheduled run that finds the model busy is skipped and logged (or waits, per its onConflict). */
export function createScheduleHandler(services: () => Promise<Services>, schedule: ActiveSchedule) {
  return async (_timer: Timer, client: DurableClient, context: InvocationContext): Promise<void> => {
    let outcome: StartOutcome;
    try {
      outcome = await (await services()).api.startRun(client, schedule.runRequest);
    } catch (error) {
      // The target could not be resolved (a Power BI name that no longer exists, the service
      // unreachable): this occurrence is lost, the next one tries again. Said once, by name.
      if (kindOf(error) === undefined) throw error;
      logEvent(context, 'error', 'schedule.failed', { schedule: schedule.name, ...targetAttributes(targetOf(schedule.runRequest)), code: codeOf(error), message: detailOf(error) });
      return;
    }
    const target = targetAttributes(targetOf(outcome.request));
    if (outcome.kind === 'busy') {
      logEvent(context, 'warn', 'schedule.skipped', { schedule: schedule.name, ...target, activeRunId: outcome.activeRunId });
      if (outcome.unlistedRunId !== undefined) logEvent(context, 'warn', 'run.unlisted', { runId: outcome.unlistedRunId });
      return;
    }
    logEvent(context, 'info', 'run.started', { runId: outcome.runId, ...target, source: `schedule:${schedule.name}` });
    if (outcome.unlisted === true) logEvent(context, 'warn', 'run.unlisted', { runId: outcome.runId });
  };
}
