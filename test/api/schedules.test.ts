import { scheduleProblem, validateSchedules } from '../../src/api/schedules';
import { loadConfig } from '../../src/config/config';

const server = 'asazure://westeurope.asazure.windows.net/myserver';
const configWith = (schedules: unknown[]) => loadConfig({ AUTH_MODE: 'managedIdentity', REFRESH_SCHEDULES: JSON.stringify(schedules) });

describe('REFRESH_SCHEDULES validation', () => {
  it('accepts valid entries and prepares their run requests', () => {
    const [schedule] = validateSchedules(configWith([{ name: 'nightly', schedule: '0 0 2 * * *', request: { server, model: 'Sales', Type: 'Full' } }]));
    expect(schedule?.runRequest).toMatchObject({ server, model: 'Sales', source: 'schedule:nightly', refresh: { type: 'full' } });
  });

  it('stops start-up naming every wrong entry and what is wrong with it', () => {
    const config = configWith([
      { name: 'good', schedule: '0 0 2 * * *', request: { server, model: 'Sales' } },
      { name: 'five-fields', schedule: '0 2 * * *', request: { server, model: 'Sales' } },
      { name: 'bad-request', schedule: '0 0 3 * * *', request: { server: 'asazure://evil.example.com/myserver', model: 'Sales', type: 'add' } },
    ]);
    expect(() => validateSchedules(config)).toThrow(/schedule "five-fields": .*six, seconds first.*\| schedule "bad-request": .*AAS_ALLOWED_HOSTS.*"add"/);
  });

  it.each(['0 0 2 * * *', '0 */5 * * * *', '0 0 8-17 * * MON-FRI', '01:00:00', '0 30 1 1,15 * *'])('accepts %s', (expression) => {
    expect(scheduleProblem(expression)).toBeUndefined();
  });

  it.each(['* * * * *', '0 0 2 * * * *', 'every day', '0 0 2 * * $(x)'])('refuses %s', (expression) => {
    expect(scheduleProblem(expression)).toBeDefined();
  });
});
