import type { InvocationContext, Timer } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { createScheduleHandler, prepareSchedules } from '../../src/api/schedules';
import { AppError, ErrorCodes } from '../../src/errors';
import type { Services } from '../../src/services';
import { loadConfig } from '../../src/config/config';

const server = 'asazure://westeurope.asazure.windows.net/myserver';
const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const configWith = (schedules: unknown, settings: Record<string, string> = {}) =>
  loadConfig({ AUTH_MODE: 'managedIdentity', REFRESH_SCHEDULES: typeof schedules === 'string' ? schedules : JSON.stringify(schedules), ...settings });

describe('REFRESH_SCHEDULES at load', () => {
  it('prepares a valid entry: its timer and its run request', () => {
    const [schedule] = prepareSchedules(configWith([{ name: 'nightly', schedule: '0 0 2 * * *', request: { server, model: 'Sales', Type: 'Full' } }]), NOW);
    expect(schedule).toMatchObject({ state: 'active', name: 'nightly', runRequest: { server, model: 'Sales', source: 'schedule:nightly', refresh: { type: 'full' } } });
    expect(schedule?.state === 'active' && new Date(schedule.timer.next(NOW) ?? 0).toISOString()).toBe('2026-01-06T02:00:00.000Z');
  });

  it('disables each wrong entry with its problem and keeps the others', () => {
    const prepared = prepareSchedules(
      configWith([
        { name: 'good', schedule: '0 0 2 * * *', request: { server, model: 'Sales' } },
        { name: 'five-fields', schedule: '0 2 * * *', request: { server, model: 'Sales' } },
        { name: 'bad-request', schedule: '0 0 3 * * *', request: { server: 'asazure://evil.example.com/myserver', model: 'Sales', type: 'add' } },
        { name: 'sunday-as-seven', schedule: '0 0 3 * * 7', request: { server, model: 'Sales' } },
        { name: 'timespan', schedule: '03:00:00', request: { server, model: 'Sales' } },
        { name: 'february-31', schedule: '0 0 0 31 2 *', request: { server, model: 'Sales' } },
        { name: 'good', schedule: '0 0 4 * * *', request: { server, model: 'Sales' } },
      ]),
      NOW,
    );
    expect(prepared.map((schedule) => [schedule.name, schedule.state])).toEqual([
      ['good', 'active'],
      ['five-fields', 'disabled'],
      ['bad-request', 'disabled'],
      ['sunday-as-seven', 'disabled'],
      ['timespan', 'disabled'],
      ['february-31', 'disabled'],
      ['good', 'disabled'],
    ]);
    const problem = (index: number) => {
      const schedule = prepared[index];
      return schedule?.state === 'disabled' ? schedule.problem : '';
    };
    expect(problem(1)).toMatch(/^schedule: .*has 5 fields.*six/);
    expect(problem(2)).toMatch(/^request: .*AAS_ALLOWED_HOSTS.*"add"/);
    expect(problem(3)).toContain('7 is outside 0-6');
    expect(problem(4)).toContain('only on a dedicated App Service plan');
    expect(problem(5)).toContain('never fires');
    expect(problem(6)).toContain('used twice');
  });

  it('runs a TimeSpan entry on a dedicated plan', () => {
    const [schedule] = prepareSchedules(configWith([{ name: 'every-three-hours', schedule: '03:00:00', request: { server, model: 'Sales' } }], { HOSTING_PLAN: 'dedicated' }), NOW);
    expect(schedule?.state === 'active' && schedule.timer.next(NOW)).toBe(NOW + 3 * 3600 * 1000);
  });

  it('runs no schedule when the setting is not a JSON array, and says so', () => {
    const config = configWith('{"name":"x"}');
    expect(prepareSchedules(config, NOW)).toEqual([]);
    expect(config.schedules.problem).toContain('must be a JSON array');
  });
});

describe('a scheduled run whose target cannot be resolved', () => {
  it('logs schedule.failed naming the schedule, the target and the code, and the timer does not fail', async () => {
    const [schedule] = prepareSchedules(configWith([{ name: 'finance', schedule: '0 0 2 * * *', request: { workspace: 'Finance', semanticModel: 'Sales' } }]), NOW);
    if (schedule?.state !== 'active') throw new Error(`expected an active schedule, got ${JSON.stringify(schedule)}`);
    const lines: string[] = [];
    const context = { error: (line: string) => lines.push(`error ${line}`), warn: (line: string) => lines.push(`warn ${line}`), info: (line: string) => lines.push(`info ${line}`) };
    const services = async () =>
      ({
        api: {
          startRun: async () => {
            throw new AppError(ErrorCodes.POWERBI_NOT_FOUND, 'No workspace named "Finance" is visible to this app.');
          },
        },
      }) as unknown as Services;
    await createScheduleHandler(services, schedule)({} as Timer, {} as DurableClient, context as unknown as InvocationContext);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error schedule\.failed /);
    expect(JSON.parse((lines[0] ?? '').replace(/^error schedule\.failed /, ''))).toEqual({
      schedule: 'finance',
      backend: 'powerbi',
      workspace: 'Finance',
      semanticModel: 'Sales',
      code: 'POWERBI_NOT_FOUND',
      message: 'No workspace named "Finance" is visible to this app.',
    });
  });
});
