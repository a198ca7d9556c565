import * as df from 'durable-functions';
import { getConfig, getServices } from '../app';
import { createScheduleHandler, validateSchedules } from '../api/schedules';

// One timer per REFRESH_SCHEDULES entry; a wrong entry stops start-up with its name.
for (const schedule of validateSchedules(getConfig())) {
  df.app.client.timer(`schedule-${schedule.name}`, { schedule: schedule.schedule, handler: createScheduleHandler(getServices, schedule) });
}
