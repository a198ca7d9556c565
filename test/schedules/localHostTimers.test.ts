import path from 'node:path';
import { VirtualClock } from '../../local/clock';
import { startLocalHost, type LocalHost } from '../../local/durable-host';

/** The local host reads and fires timer schedules as Azure does (NCrontab, Flex Consumption's rules). */
const entry = path.join(__dirname, 'fixtures', 'timerApp.ts');
const MONDAY_0200 = Date.UTC(2026, 0, 5, 2, 0, 0);
const DAY = 24 * 3600 * 1000;

let host: LocalHost | undefined;
// What the fixture's timers recorded; the module is loaded by the host (registering outside it throws).
let fires: { name: string; at: string }[] = [];
afterEach(async () => {
  await host?.stop();
  host = undefined;
  delete process.env.HOSTING_PLAN;
  fires.length = 0;
});

async function start(logs: string[]): Promise<LocalHost> {
  host = await startLocalHost({ entry, clock: new VirtualClock(MONDAY_0200), port: 0, log: (line) => logs.push(line), fireSchedulesInVirtualTime: true });
  fires = (await import('./fixtures/timerApp')).fires;
  return host;
}

describe('local host timer triggers, as on Flex Consumption', () => {
  it('puts a function whose schedule NCrontab refuses in error, says why, and runs the others', async () => {
    const logs: string[] = [];
    await start(logs);
    const inError = (name: string) => logs.find((line) => line.includes(`The '${name}' function is in error`));
    expect(inError('sundayAsSeven')).toContain('7 is outside 0-6');
    expect(inError('questionMark')).toContain('NCrontab has no ?');
    expect(inError('hourlyTimeSpan')).toContain('only on a dedicated App Service plan');
    expect(inError('friday13')).toBeUndefined();
    expect(inError('daily')).toBeUndefined();
  });

  it('fires a schedule with both day fields only when both match, and never a refused one', async () => {
    const local = await start([]);
    await local.runUntilIdle({ maxVirtualMs: 55 * DAY });
    const firedAt = (name: string) => fires.filter((fire) => fire.name === name).map((fire) => fire.at);
    expect(firedAt('friday13')).toEqual(['2026-02-13T12:00:00Z']);
    expect(firedAt('daily')).toHaveLength(55);
    expect(firedAt('daily')[0]).toBe('2026-01-05T03:30:00Z');
    expect(firedAt('sundayAsSeven')).toEqual([]);
    expect(firedAt('questionMark')).toEqual([]);
    expect(firedAt('hourlyTimeSpan')).toEqual([]);
  });

  it('fires a TimeSpan every interval when HOSTING_PLAN says the plan is dedicated', async () => {
    process.env.HOSTING_PLAN = 'dedicated';
    const local = await start([]);
    await local.runUntilIdle({ maxVirtualMs: 3 * 3600 * 1000 + 1000 });
    expect(fires.filter((fire) => fire.name === 'hourlyTimeSpan').map((fire) => fire.at)).toEqual(['2026-01-05T03:00:00Z', '2026-01-05T04:00:00Z', '2026-01-05T05:00:00Z']);
  });
});
