/**
 * Behaviours where the local host is as strict as Azure: each test names the real source it
 * follows (see local/durable-host/README.md, "Matches Azure").
 */
import * as path from 'node:path';
import { startLocalHost, type LocalHost } from '../../local/durable-host';
import { MIN_TURN_MS, timerVisibleAt } from '../../local/durable-host/engine';

type StrictFixture = typeof import('./fixtures/strictApp');
const fixtures = path.join(__dirname, 'fixtures');

describe('registration (azure-functions-nodejs-worker src/coreApi/registerFunction.ts)', () => {
  it('refuses a second function with the same name', async () => {
    await expect(startLocalHost({ entry: path.join(fixtures, 'duplicateApp.ts'), clock: 'virtual', port: 0, log: () => undefined })).rejects.toThrow(
      'A function with id "Twice" has already been registered.',
    );
  });

  it('refuses a registration after the app was indexed', async () => {
    const host: LocalHost = await startLocalHost({ entry: path.join(fixtures, 'strictApp.ts'), clock: 'virtual', port: 0, log: () => undefined });
    try {
      const fixture: StrictFixture = await import('./fixtures/strictApp');
      expect(() => fixture.registerLate()).toThrow('A function can only be registered during app startup.');
      expect(host.functions).not.toContain('Late');
    } finally {
      await host.stop();
    }
  });
});

describe('orchestrations held to the extension and DTFx', () => {
  let host: LocalHost;
  beforeAll(async () => {
    host = await startLocalHost({ entry: path.join(fixtures, 'strictApp.ts'), clock: 'virtual', port: 0, log: () => undefined });
  });
  afterAll(async () => {
    await host.stop();
  });

  describe('activity failures (Listener/TaskActivityShim.cs, OutOfProcExceptionHelpers.cs; durable-js TaskOrchestrationExecutor.ts)', () => {
    it('reach the orchestrator as the extension words them, with a serialised .NET exception as details', async () => {
      const inst = await host.waitForInstance(host.startNew('CatchesFailure', 'Throws'));
      const message = String(inst.output);
      // The library joins Reason and Details with " \n "; the friendly message keeps its leading space.
      const [reason, details] = message.split(' \n ');
      expect(reason).toBe("Activity function 'Throws' failed:  kaput");
      const cause = JSON.parse(details ?? '') as { $type: string; Message: string; InnerException: { $type: string; RemoteMessage: string; Message: string } };
      expect(cause.$type).toBe('System.Exception, System.Private.CoreLib');
      expect(cause.Message).toBe(' kaput');
      expect(cause.InnerException.$type).toBe('Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, Microsoft.Azure.WebJobs.Script');
      expect(cause.InnerException.RemoteMessage).toBe('kaput');
      expect(cause.InnerException.Message.startsWith('Result: Failure\nException: kaput\nStack: Error: kaput')).toBe(true);
    });

    it('name an activity that does not exist (Listener/TaskNonexistentActivityShim.cs)', async () => {
      const inst = await host.waitForInstance(host.startNew('CatchesFailure', 'NoSuchActivity'));
      expect(String(inst.output).split(' \n ')[0]).toBe("Activity function 'NoSuchActivity' failed: Activity function 'NoSuchActivity' does not exist.");
    });
  });

  describe('custom status limit (MessagePayloadDataConverter.cs: 16 KB of UTF-16, whole KB rounded down)', () => {
    // JSON of an n-character string is n + 2 UTF-16 units, 2 bytes each: 8,701 characters make
    // 17,406 bytes (16 KB rounded down), 8,702 make 17,408 (17 KB).
    it.each([
      ['8,701 ASCII characters', 'a'.repeat(8701)],
      ['8,701 CJK characters (26 KB in UTF-8, 17,406 bytes in UTF-16)', '漢'.repeat(8701)],
    ])('accepts %s', async (_label, status) => {
      const inst = await host.waitForInstance(host.startNew('SetsStatus', status));
      expect(inst.status).toBe('Completed');
      expect(inst.customStatus).toBe(status);
    });

    it('fails the instance at 17 KB, before scheduling what that replay asked for', async () => {
      const inst = await host.waitForInstance(host.startNew('SetsStatus', 'a'.repeat(8702)));
      expect(inst.status).toBe('Failed');
      expect(inst.output).toBe(
        "Orchestrator function 'SetsStatus' failed: The UTF-16 size of the JSON-serialized payload must not exceed 16 KB. The current payload size is 17 KB.",
      );
      expect(inst.customStatus).toBeNull();
      expect(inst.history[0]?.events.some((e) => e.Name === 'Echo')).toBe(false);
    });
  });

  describe('timers (DurableTask.Core TaskOrchestrationExecutor.cs: no completion while a task is open; OutOfProcOrchestrationShim.cs)', () => {
    it('keeps an instance Running until a timer that lost a Task.any, not cancelled, fires', async () => {
      const id = host.startNew('LeavesTimer');
      const startedAt = host.clock.now();
      await host.runUntilIdle({ maxVirtualMs: 30 * 60_000 });
      expect(host.getInstance(id)?.status).toBe('Running');
      const done = await host.waitForInstance(id);
      expect(done).toMatchObject({ status: 'Completed', output: 'done' });
      // The hour's timer fires up to 1 s early, as on Azure Storage (timers.test.ts).
      expect(host.clock.now() - startedAt).toBeGreaterThan(3600_000 - 1000);
    });

    it('still fires a cancelled timer into a running instance (one more replay)', async () => {
      const id = host.startNew('CancelsTimer');
      await host.runUntilIdle();
      const inst = host.getInstance(id);
      expect(inst?.status).toBe('Running');
      const events = inst?.history[0]?.events ?? [];
      const created = events.find((e) => e.EventType === 10);
      expect(events.filter((e) => e.EventType === 11).map((e) => e.TimerId)).toEqual([created?.EventId]);
      host.raiseEvent(id, 'go', 'went');
      expect(await host.waitForInstance(id)).toMatchObject({ status: 'Completed', output: 'went' });
    });
  });

  describe('retries (DurableTask.Core RetryInterceptor.cs)', () => {
    it('ends with the last failure at once: the timer after the last attempt fires immediately', async () => {
      const inst = await host.waitForInstance(host.startNew('RetriesOut'));
      // The 60 s retry timer fires early (its delay cut to whole seconds from its enqueue, a turn
      // after it was asked for), the one after the last attempt at once (its enqueue), as on Azure
      // Storage (timers.test.ts).
      const retryTimerMs = timerVisibleAt(60_000, MIN_TURN_MS);
      expect(retryTimerMs).toBeLessThan(60_000);
      expect(inst.output).toBe(retryTimerMs + MIN_TURN_MS);
      const timers = (inst.history[0]?.events ?? []).filter((e) => e.EventType === 10);
      expect(timers).toHaveLength(2);
      expect(timers[1]?.FireAt).toBe(timers[1]?.Timestamp);
    });

    it('refuses retryTimeoutInMilliseconds, which hangs a JavaScript orchestration in Azure', async () => {
      const inst = await host.waitForInstance(host.startNew('UsesRetryTimeout'));
      expect(inst.status).toBe('Failed');
      expect(String(inst.output)).toContain('retryTimeoutInMilliseconds is refused');
      expect(inst.history[0]?.events.some((e) => e.EventType === 4)).toBe(false);
    });
  });
});

describe('continueAsNew (DurableTask.Core TaskOrchestrationDispatcher.cs, DurableTask.AzureStorage AzureTableTrackingStore.cs)', () => {
  let host: LocalHost;
  beforeAll(async () => {
    host = await startLocalHost({ entry: path.join(fixtures, 'strictApp.ts'), clock: 'virtual', port: 0, log: () => undefined });
  });
  afterAll(async () => {
    await host.stop();
  });

  it("overwrites the instance's createdTime with each new execution's start", async () => {
    const startedAt = host.clock.now();
    const id = host.startNew('Generations', 0);
    expect(Date.parse(host.getInstance(id)?.createdTime ?? '')).toBe(startedAt);
    const done = await host.waitForInstance(id);
    expect(done.output).toBe(2);
    // Executions start a minute apart (each 1-minute timer fires early, cut to whole seconds from
    // its enqueue, as on Azure Storage: timers.test.ts); the last one's start is the createdTime.
    const thirdStart = startedAt + 2 * timerVisibleAt(60_000, MIN_TURN_MS);
    expect(Date.parse(done.createdTime)).toBe(thirdStart);
    const lastStart = done.history.at(-1)?.events.find((e) => e.EventType === 0);
    expect(Date.parse(lastStart?.Timestamp ?? '')).toBe(thirdStart);
  });

  it('starts the new execution in the same work item, so an event already waiting reaches it', async () => {
    const id = host.startNew('ContinuesOnEvent', 0);
    await host.runUntilIdle();
    // Both events wait in the queue before the host processes the first.
    host.raiseEvent(id, 'next', 'first');
    host.raiseEvent(id, 'next', 'second');
    const done = await host.waitForInstance(id);
    expect(done).toMatchObject({ status: 'Completed', output: 'second' });
    const second = done.history[1]?.events ?? [];
    expect(second.map((e) => e.EventType).slice(0, 2)).toEqual([12, 0]);
    expect(second.some((e) => e.EventType === 15 && e.Input === '"second"')).toBe(true);
  });
});
