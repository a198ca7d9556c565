import type { HttpResponseInit } from '@azure/functions';
import type { AuthMode, Config, HostingPlan } from '../config/config';
import { prepareSchedules } from './schedules';

export type ScheduleHealth =
  | { name: string; schedule: string; state: 'active'; nextOccurrence: string }
  | { name: string; schedule: string; state: 'disabled'; problem: string };

export interface HealthView {
  /** `degraded` when a schedule is disabled (the API and the other schedules still work). */
  status: 'ok' | 'degraded';
  problems: string[];
  runningInAzure: boolean;
  hostingPlan: HostingPlan;
  authMode: AuthMode;
  /** Where a token or a callback may go: AAS_ALLOWED_HOSTS, POWERBI_ALLOWED_HOSTS, CALLBACK_ALLOWED_HOSTS. */
  allowLists: { aasHosts: string[]; powerBiHosts: string[]; callbackHosts: string[] };
  schedules: ScheduleHealth[];
}

/**
 * GET /api/health: what an operator needs to see that the app is set up as meant: each
 * schedule with its next occurrence (UTC) or its problem, the auth mode, the allow-lists.
 * Names and host patterns only, never a secret, tenant or client id. (A wrong setting other
 * than REFRESH_SCHEDULES stops the app at load, so there is always a config here.)
 */
export function healthAnswer(config: Config, nowMs: number): HttpResponseInit {
  const schedules: ScheduleHealth[] = prepareSchedules(config, nowMs).map((schedule) => {
    if (schedule.state === 'disabled') return { name: schedule.name, schedule: schedule.schedule, state: 'disabled', problem: schedule.problem };
    // prepareSchedules disables a schedule that never fires, so there is a next occurrence.
    const next = schedule.timer.next(nowMs) ?? nowMs;
    return { name: schedule.name, schedule: schedule.schedule, state: 'active', nextOccurrence: new Date(next).toISOString() };
  });
  const problems = [
    ...(config.schedules.problem === undefined ? [] : [config.schedules.problem]),
    ...schedules.flatMap((schedule) => (schedule.state === 'disabled' ? [`schedule "${schedule.name}" is disabled: ${schedule.problem}`] : [])),
  ];
  const view: HealthView = {
    status: problems.length > 0 ? 'degraded' : 'ok',
    problems,
    runningInAzure: config.auth.runningInAzure,
    hostingPlan: config.hostingPlan,
    authMode: config.auth.mode,
    allowLists: { aasHosts: config.aas.allowedHosts, powerBiHosts: config.powerbi.allowedHosts, callbackHosts: config.callbackAllowedHosts },
    schedules,
  };
  return { status: 200, jsonBody: view, headers: { 'cache-control': 'no-store' } };
}
