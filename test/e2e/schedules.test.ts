import { startAppStack, modelName, type AppStack } from '../support/appStack';

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({
    fireSchedulesInVirtualTime: true,
    settings: (emulators) => ({
      REFRESH_SCHEDULES: JSON.stringify([
        // Every two hours: the 2-hour refresh it starts is still running at the next occurrence.
        { name: 'every-two-hours', schedule: '0 0 */2 * * *', request: { server: emulators.aas.serverName('myserver'), model: modelName(1), sync: false } },
        { name: 'nightly-wait', schedule: '0 30 3 * * *', request: { server: emulators.aas.serverName('myserver'), model: modelName(2), type: 'full', onConflict: 'wait' } },
        // A TimeSpan schedule, as Functions also accepts: every three hours.
        { name: 'every-three-hours', schedule: '03:00:00', request: { server: emulators.aas.serverName('myserver'), model: modelName(3), sync: false } },
      ]),
    }),
  });
});
afterAll(async () => {
  await stack?.stop();
});

describe('schedules (REFRESH_SCHEDULES)', () => {
  it('registers one timer trigger per entry', () => {
    expect(stack.host.functions).toEqual(expect.arrayContaining(['schedule-every-two-hours', 'schedule-nightly-wait', 'schedule-every-three-hours']));
  });

  it('starts runs on schedule, and skips a run while the model is still busy', async () => {
    const aas = stack.emulators.aas;
    // Model01's refresh takes longer than the two hours between occurrences.
    aas.setTable('myserver', modelName(1), 'FactSales', { durationMs: 150 * 60_000 });
    await stack.host.runUntilIdle({ maxVirtualMs: 9 * 3_600_000 });
    const runs = (await stack.request('GET', `refreshes?model=${modelName(1)}`)).body as { runs: { status: string; source: string }[] };
    expect(runs.runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.runs.every((run) => run.source === 'schedule:every-two-hours')).toBe(true);
    // Newest first: the last one may still be running when the nine hours are up.
    const [newest, ...older] = runs.runs;
    expect(older.map((run) => run.status)).toEqual(older.map(() => 'succeeded'));
    expect(['succeeded', 'refreshing', 'pending']).toContain(newest?.status);
    // Never two refreshes at once: each submit came after the previous refresh ended.
    const refreshes = aas.refreshes('myserver', modelName(1));
    expect(refreshes.length).toBe(runs.runs.length);
    expect(stack.logs.some((line) => line.includes('schedule.skipped'))).toBe(true);
    const nightly = (await stack.request('GET', `refreshes?model=${modelName(2)}`)).body as { runs: { status: string }[] };
    expect(nightly.runs.length).toBeGreaterThanOrEqual(1);
    const everyThreeHours = (await stack.request('GET', `refreshes?model=${modelName(3)}`)).body as { runs: { source: string }[] };
    expect(everyThreeHours.runs.map((run) => run.source)).toEqual(['schedule:every-three-hours', 'schedule:every-three-hours', 'schedule:every-three-hours']);
  });
});
