import { startLocalHost, type LocalHost } from '../../local/durable-host';
import { VirtualClock } from '../../local/clock';
import type { PurgeReport } from '../../src/retention/purge';
import { loadConfig } from '../../src/config/config';
import { retentionNow } from '../../src/retention/purge';

const DAY_MS = 86_400_000;

describe('retention: finished runs older than RUN_RETENTION_DAYS are purged in bounded batches', () => {
  let host: LocalHost;
  let clock: VirtualClock;

  beforeEach(async () => {
    clock = new VirtualClock();
    host = await startLocalHost({ entry: 'test/scale/fixtures/retentionApp.ts', clock, port: 0 });
  });
  afterEach(async () => {
    await host.stop();
  });

  async function purge(query: string): Promise<PurgeReport> {
    const response = await host.fetch(`/api/purge?${query}&now=${new Date(clock.now()).toISOString()}`, { method: 'POST' });
    expect(response.status).toBe(200);
    return (await response.json()) as PurgeReport;
  }

  /** 150 finished runs (some failed) and 2 still running, 31 days ago; then 5 finished today. */
  async function seed(): Promise<void> {
    for (let i = 0; i < 150; i += 1) host.startNew(i % 10 === 0 ? 'FailsAtOnce' : 'EndsAtOnce', undefined, `old-${String(i).padStart(3, '0')}`);
    host.startNew('Waits', undefined, 'old-running-1');
    host.startNew('Waits', undefined, 'old-running-2');
    await host.runUntilIdle({ maxVirtualMs: 0 });
    clock.advanceBy(31 * DAY_MS);
    for (let i = 0; i < 5; i += 1) host.startNew('EndsAtOnce', undefined, `new-${i}`);
    await host.runUntilIdle({ maxVirtualMs: 0 });
  }

  it('purges every finished run past the cut-off, two batches of at most 100, and keeps running and recent ones', async () => {
    await seed();
    const report = await purge('days=30');
    expect(report).toMatchObject({ purged: 150, skipped: 0, batches: 2, more: false, cutoff: new Date(clock.now() - 30 * DAY_MS).toISOString() });
    const left = host.listInstances().map((instance) => instance.instanceId).sort();
    expect(left).toEqual(['new-0', 'new-1', 'new-2', 'new-3', 'new-4', 'old-running-1', 'old-running-2']);
  });

  it('stops after the batch limit and says more are left; the next firing goes on', async () => {
    await seed();
    expect(await purge('days=30&maxBatches=1')).toMatchObject({ purged: 100, batches: 1, more: true });
    expect(await purge('days=30&maxBatches=1')).toMatchObject({ purged: 50, batches: 1, more: false });
    expect(await purge('days=30')).toMatchObject({ purged: 0, batches: 0, more: false });
  });

  it('keeps runs younger than the retention period', async () => {
    await seed();
    expect(await purge('days=40')).toMatchObject({ purged: 0, batches: 0 });
    expect(host.listInstances()).toHaveLength(157);
  });
});

describe('RUN_RETENTION_DAYS', () => {
  const base = { AUTH_MODE: 'managedIdentity' };
  it('defaults to 30 days, takes 0 (keep every run), and refuses a value that is not a whole number of days', () => {
    expect(loadConfig(base).retention).toEqual({ days: 30 });
    expect(loadConfig({ ...base, RUN_RETENTION_DAYS: '0' }).retention).toEqual({ days: 0 });
    expect(() => loadConfig({ ...base, RUN_RETENTION_DAYS: '-1' })).toThrow(/RUN_RETENTION_DAYS/);
    expect(() => loadConfig({ ...base, RUN_RETENTION_DAYS: '1.5' })).toThrow(/RUN_RETENTION_DAYS/);
  });
});

describe('the retention cut-off clock', () => {
  it('is the wall clock, never past the timer\'s next occurrence (a host running timers on its own clock)', () => {
    const wall = Date.UTC(2026, 11, 2);
    expect(retentionNow({ scheduleStatus: { next: '2026-12-02T01:17:00.000Z' } }, wall).getTime()).toBe(wall);
    expect(retentionNow({ scheduleStatus: { next: '2026-01-05T03:17:00.000Z' } }, wall).toISOString()).toBe('2026-01-05T03:17:00.000Z');
    expect(retentionNow(undefined, wall).getTime()).toBe(wall);
  });
});
