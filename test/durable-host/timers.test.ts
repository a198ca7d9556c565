import * as path from 'node:path';
import { startLocalHost, type LocalHost } from '../../local/durable-host';
import { EventType } from '../../local/durable-host/engine';
import { untilTrue } from '../support/virtualTime';

// Durable timers as the Azure Storage provider delivers them (local/durable-host/README.md,
// "Timers"): a TimerFired message is made visible after the whole seconds of FireAt minus its
// enqueue time, so a timer fires up to 1 s before its FireAt, and one under 1 s away at once.
// On the virtual clock a turn enqueues its timers 100 ms after its start (engine.ts MIN_TURN_MS).

const entry = path.join(__dirname, 'fixtures', 'timerApp.ts');
const DAY_MS = 86400_000;

describe('durable timers on the virtual clock', () => {
  let host: LocalHost;
  beforeAll(async () => {
    host = await startLocalHost({ entry, clock: 'virtual', port: 0, log: () => undefined });
  });
  afterAll(async () => {
    await host.stop();
  });

  async function wokeAfter(ms: number): Promise<{ woke: number; fired: Record<string, unknown>[] }> {
    const inst = await host.waitForInstance(host.startNew('WaitFor', ms));
    const events = (inst.history[0]?.events ?? []) as unknown as Record<string, unknown>[];
    return { woke: inst.output as number, fired: events.filter((e) => e.EventType === EventType.TimerFired) };
  }

  it.each([
    // asked, woke: 100 ms (the enqueue) + the whole seconds of what was left then
    [2000, 1100],
    [1500, 1100],
    [1000, 100],
    [500, 100],
    [6 * 3600_000, 6 * 3600_000 - 900],
  ])('a %i ms timer wakes the orchestrator after %i ms', async (asked, woke) => {
    const result = await wokeAfter(asked);
    expect(result.woke).toBe(woke);
    // The event still carries the FireAt that was asked for, later than when it was delivered.
    expect(result.fired).toHaveLength(1);
    const [fired] = result.fired;
    expect(Date.parse(String(fired?.FireAt)) - Date.parse(String(fired?.Timestamp))).toBe(asked - woke);
  });

  it('waits out a long timer whose last segment fired early, in a few more turns', async () => {
    const result = await wokeAfter(10 * DAY_MS);
    // durable-js LongTimerTask waits again for what is left until its clock reaches the FireAt.
    expect(result.woke).toBeGreaterThanOrEqual(10 * DAY_MS);
    expect(result.woke).toBeLessThan(10 * DAY_MS + 1000);
    // Segments of 3 days (3 + 3 + 4), then one turn per 100 ms of the last second at most.
    expect(result.fired.length).toBeGreaterThan(3);
    expect(result.fired.length).toBeLessThanOrEqual(3 + 10);
  });
});

describe('durable timers on the real clock', () => {
  let host: LocalHost;
  beforeAll(async () => {
    host = await startLocalHost({ entry, clock: 'real', port: 0, log: () => undefined });
  });
  afterAll(async () => {
    await host.stop();
  });

  it('delivers a timer before its FireAt, by less than 1 s', async () => {
    const id = host.startNew('WaitFor', 60_000);
    const created = (): Record<string, unknown> | undefined =>
      (host.engine.historyOf(id)[0]?.events as unknown as Record<string, unknown>[] | undefined)?.find((e) => e.EventType === EventType.TimerCreated);
    await untilTrue(() => created() !== undefined, 'the TimerCreated event');
    const fireAt = Date.parse(String(created()?.FireAt));
    const deliverAt = host.engine.nextTimerAt() ?? Infinity;
    expect(deliverAt).toBeLessThan(fireAt);
    expect(deliverAt).toBeGreaterThan(fireAt - 1000);
    host.engine.terminate(id, 'done');
    await host.waitForInstance(id);
  });
});
