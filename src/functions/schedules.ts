import * as df from 'durable-functions';
import { getServices } from '../app';
import { createScheduleHandler, validateSchedules } from '../api/schedules';

const services = getServices();

// One timer per REFRESH_SCHEDULES entry; a wrong entry stops start-up with its name.
for (const schedule of validateSchedules(services.config)) {
  df.app.client.timer(`schedule-${schedule.name}`, { schedule: schedule.schedule, handler: createScheduleHandler(services.api, schedule) });
}
