import * as df from 'durable-functions';
import { getConfig, getServices } from '../app';
import { createScheduleHandler, logDisabledSchedules, prepareSchedules, scheduleFunctionName, type PreparedSchedule } from '../api/schedules';
import { logEvent } from '../logging';

// One timer per valid REFRESH_SCHEDULES entry. A wrong entry must not throw: in Azure a module
// that throws while the app loads stops every function, in-flight runs included. It is disabled,
// an error event names it, and GET /api/health shows it. (Any other wrong setting still stops
// the app at start-up, naming it, as documented.) There is no invocation context at load:
// console goes to the worker's log, which the host records.
function loadSchedules(): PreparedSchedule[] {
  const config = getConfig();
  if (config.schedules.problem !== undefined) logEvent(console, 'error', 'schedules.disabled', { problem: config.schedules.problem });
  return prepareSchedules(config, Date.now());
}

const schedules = loadSchedules();
logDisabledSchedules(console, schedules);
for (const schedule of schedules) {
  if (schedule.state !== 'active') continue;
  df.app.client.timer(scheduleFunctionName(schedule.name), { schedule: schedule.schedule, handler: createScheduleHandler(getServices, schedule) });
}
