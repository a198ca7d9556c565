import type { HealthView } from '../../src/api/health';
import { startAppStack, modelName, type AppStack } from '../support/appStack';

// The app logs load-time events with console.error (no invocation context yet), which the
// Functions host records from the worker's output.
const loadErrors: string[] = [];
const consoleError = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void loadErrors.push(args.map(String).join(' ')));

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({
    fireSchedulesInVirtualTime: true,
    settings: (emulators) => ({
      REFRESH_SCHEDULES: JSON.stringify([
        // Every two hours: the 2-hour refresh it starts is still running at the next occurrence.
        { name: 'every-two-hours', schedule: '0 0 */2 * * *', request: { server: emulators.aas.serverName('myserver'), model: modelName(1), sync: false } },
        { name: 'nightly-wait', schedule: '0 30 3 * * *', request: { server: emulators.aas.serverName('myserver'), model: modelName(2), type: 'full', onConflict: 'wait' } },
        // Wrong entries: each disables itself only.
        { name: 'every-three-hours', schedule: '03:00:00', request: { server: emulators.aas.serverName('myserver'), model: modelName(3), sync: false } },
        { name: 'sunday-as-seven', schedule: '0 0 3 * * 7', request: { server: emulators.aas.serverName('myserver'), model: modelName(4) } },
        { name: 'foreign-server', schedule: '0 0 4 * * *', request: { server: 'asazure://westeurope.asazure.windows.net/other', model: modelName(5) } },
        { schedule: '0 0 5 * * *', request: { server: emulators.aas.serverName('myserver'), model: modelName(6) } },
      ]),
    }),
  });
});
afterAll(async () => {
  consoleError.mockRestore();
  await stack?.stop();
});

const disabledEvent = (name: string) => loadErrors.find((line) => line.startsWith('schedule.disabled ') && line.includes(`"schedule":"${name}"`));

describe('schedules (REFRESH_SCHEDULES)', () => {
  it('registers one timer trigger per valid entry only', () => {
    const timers = stack.host.functions.filter((name) => name.startsWith('schedule-'));
    expect(timers.sort()).toEqual(['schedule-every-two-hours', 'schedule-nightly-wait']);
  });

  it('logs an error event naming each disabled schedule and its problem', () => {
    expect(disabledEvent('every-three-hours')).toContain('only on a dedicated App Service plan');
    expect(disabledEvent('sunday-as-seven')).toContain('7 is outside 0-6');
    expect(disabledEvent('foreign-server')).toContain('AAS_ALLOWED_HOSTS');
    expect(disabledEvent('REFRESH_SCHEDULES[5]')).toContain('name');
    expect(disabledEvent('every-two-hours')).toBeUndefined();
  });

  it('GET /api/health lists each schedule with its next occurrence or its problem, the auth mode and the allow-lists', async () => {
    expect((await stack.request('GET', 'health', { key: null })).status).toBe(401);
    const answer = await stack.request('GET', 'health');
    expect(answer.status).toBe(200);
    const health = answer.body as HealthView;
    expect(health).toMatchObject({
      status: 'degraded',
      runningInAzure: false,
      hostingPlan: 'flexConsumption',
      authMode: 'keyVault',
      allowLists: { aasHosts: [expect.stringMatching(/^127\.0\.0\.1:\d+$/)], callbackHosts: [expect.stringMatching(/^127\.0\.0\.1:\d+$/)] },
    });
    const byName = Object.fromEntries((health.schedules ?? []).map((schedule) => [schedule.name, schedule]));
    expect(Object.keys(byName)).toEqual(['every-two-hours', 'nightly-wait', 'every-three-hours', 'sunday-as-seven', 'foreign-server', 'REFRESH_SCHEDULES[5]']);
    // The next even hour from now (the health answer uses the real clock, as in Azure).
    const next = byName['every-two-hours'];
    expect(next?.state).toBe('active');
    const nextAt = new Date(next?.state === 'active' ? next.nextOccurrence : '');
    expect(nextAt.getUTCHours() % 2).toBe(0);
    expect([nextAt.getUTCMinutes(), nextAt.getUTCSeconds()]).toEqual([0, 0]);
    expect(nextAt.getTime() - Date.now()).toBeGreaterThan(0);
    expect(nextAt.getTime() - Date.now()).toBeLessThanOrEqual(2 * 3600 * 1000);
    expect(byName['sunday-as-seven']).toEqual({ name: 'sunday-as-seven', schedule: '0 0 3 * * 7', state: 'disabled', problem: expect.stringContaining('7 is outside 0-6') });
    expect(health.problems).toEqual(expect.arrayContaining([expect.stringContaining('schedule "every-three-hours" is disabled')]));
    // No secret, tenant or client id in the answer.
    expect(answer.text).not.toMatch(/AAS_CLIENT|tenant|secret/i);
  });

  it('keeps the refresh API working beside disabled schedules', async () => {
    const id = await stack.start({ server: stack.server, model: modelName(7), sync: false });
    // Half an hour of virtual time: the refresh takes minutes, and no schedule is due before 03:30.
    const run = await stack.finish(id, 30 * 60_000);
    expect([run.status, run.body.status]).toEqual([200, 'succeeded']);
  });

  it('starts runs on schedule, and skips a run while the model is still busy', async () => {
    const aas = stack.emulators.aas;
    // Model01's refresh takes longer than the two hours between occurrences.
    aas.setTable('myserver', modelName(1), 'FactSales', { durationMs: 150 * 60_000 });
    await stack.host.runUntilIdle({ maxVirtualMs: 9 * 3_600_000 });
    // Virtual time starts at 02:00Z and the earlier tests used half an hour of it, so
    // 'every-two-hours' fired at 04:00, 06:00, 08:00 and 10:00: a run at 04:00 (its refresh
    // ends 06:30), skipped at 06:00, a run at 08:00 (ends 10:30), skipped at 10:00.
    const at = (time: string) => `2026-01-05T${time}:00.000Z`;
    type Listed = { id: string; status: string; source: string; createdAt: string; refreshStartTime?: string; refreshEndTime?: string };
    const runs = ((await stack.request('GET', `refreshes?model=${modelName(1)}`)).body as { runs: Listed[] }).runs;
    expect(runs.map((run) => [run.createdAt, run.source, run.status])).toEqual([
      [at('08:00'), 'schedule:every-two-hours', 'succeeded'],
      [at('04:00'), 'schedule:every-two-hours', 'succeeded'],
    ]);
    const [second, first] = runs as [Listed, Listed];
    // Each skip named the run that was still refreshing the model.
    const skipped = stack.logs.filter((line) => line.includes('schedule.skipped')).map((line) => (JSON.parse(line.slice(line.indexOf('{'))) as { schedule: string; activeRunId: string }));
    expect(skipped.map((entry) => [entry.schedule, entry.activeRunId])).toEqual([
      ['every-two-hours', first.id],
      ['every-two-hours', second.id],
    ]);
    // Never two refreshes at once: the second submit came after the first refresh ended.
    const refreshes = aas.refreshes('myserver', modelName(1)).reverse();
    expect(refreshes.map((refresh) => refresh.status)).toEqual(['succeeded', 'succeeded']);
    expect(refreshes[1]?.startTime).toBeGreaterThanOrEqual(refreshes[0]?.endTime ?? Number.POSITIVE_INFINITY);
    // 'nightly-wait' fired once, at 03:30, and its run succeeded.
    const nightly = ((await stack.request('GET', `refreshes?model=${modelName(2)}`)).body as { runs: Listed[] }).runs;
    expect(nightly.map((run) => [run.createdAt, run.source, run.status])).toEqual([[at('03:30'), 'schedule:nightly-wait', 'succeeded']]);
    // The disabled schedules started nothing.
    for (const model of [modelName(3), modelName(4), modelName(6)]) {
      expect(((await stack.request('GET', `refreshes?model=${model}`)).body as { runs: unknown[] }).runs).toEqual([]);
    }
  });
});
