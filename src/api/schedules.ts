import type { InvocationContext, Timer } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import type { Config, ScheduleConfig } from '../config/config';
import { AppError, ErrorCodes } from '../errors';
import type { RunRequest } from '../orchestration/contracts';
import type { Services } from '../services';
import { parseRunRequest } from './requestSchema';
import { logEvent } from '../logging';

export interface ValidSchedule extends ScheduleConfig {
  runRequest: RunRequest;
}

// NCRONTAB as Azure Functions reads it: six fields, seconds first; or a TimeSpan such as 01:00:00.
const CRON_FIELD = /^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?)*$/;
const TIME_SPAN = /^(\d+\.)?\d{1,2}:\d{2}:\d{2}$/;

export function scheduleProblem(expression: string): string | undefined {
  const trimmed = expression.trim();
  if (TIME_SPAN.test(trimmed)) return undefined;
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 6) return `"${expression}" has ${fields.length} fields; NCRONTAB needs six, seconds first (e.g. "0 0 2 * * *")`;
  const bad = fields.find((field) => !CRON_FIELD.test(field));
  return bad === undefined ? undefined : `"${expression}" has an invalid field "${bad}"`;
}

/** Validates every REFRESH_SCHEDULES entry at start-up; the error names each wrong entry. */
export function validateSchedules(config: Config): ValidSchedule[] {
  const problems: string[] = [];
  const valid: ValidSchedule[] = [];
  for (const schedule of config.schedules) {
    const scheduleIssue = scheduleProblem(schedule.schedule);
    if (scheduleIssue !== undefined) problems.push(`schedule "${schedule.name}": ${scheduleIssue}`);
    const parsed = parseRunRequest(schedule.request, config, `schedule:${schedule.name}`);
    if (!parsed.ok) problems.push(`schedule "${schedule.name}": ${parsed.problems.join('; ')}`);
    else if (scheduleIssue === undefined) valid.push({ ...schedule, runRequest: parsed.request });
  }
  if (problems.length > 0) throw new AppError(ErrorCodes.CONFIG_INVALID, `Invalid REFRESH_SCHEDULES: ${problems.join(' | ')}`);
  return valid;
}

/** A scheduled run that finds the model busy is skipped and logged (or waits, per its onConflict). */
export function createScheduleHandler(services: () => Promise<Services>, schedule: ValidSchedule) {
  return async (_timer: Timer, client: DurableClient, context: InvocationContext): Promise<void> => {
    const outcome = await (await services()).api.startRun(client, schedule.runRequest);
    if (outcome.kind === 'busy') {
      logEvent(context, 'warn', 'schedule.skipped', { schedule: schedule.name, server: schedule.runRequest.server, model: schedule.runRequest.model, activeRunId: outcome.activeRunId });
      return;
    }
    logEvent(context, 'info', 'run.started', { runId: outcome.runId, server: schedule.runRequest.server, model: schedule.runRequest.model, source: `schedule:${schedule.name}` });
  };
}
