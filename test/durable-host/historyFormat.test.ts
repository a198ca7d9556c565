/**
 * The status API's history (`GET instances/{id}?showHistory=true`) in the Durable extension's
 * format, not the store's raw events. The expected events are what the real extension 3.19 over
 * Azurite wrote for the same app (test/durable-host/fixtures/historyApp.ts on local/real-engine),
 * fields in the same order; only the times differ between engines, so times are checked by their
 * .NET format and by how they relate (a completion's ScheduledTime is its scheduling turn, a
 * TimerFired carries its TimerCreated's time, a timer's FireAt is one second after its turn).
 */
import * as path from 'node:path';
import { startLocalHost, type LocalHost } from '../../local/durable-host';
import { dotnetTime } from '../../local/durable-host/statusHistory';

const entry = path.join(__dirname, 'fixtures', 'historyApp.ts');
const API = '/runtime/webhooks/durabletask';

type Event = Record<string, unknown> & { EventType: string };
interface Status {
  runtimeStatus: string;
  input: unknown;
  output: unknown;
  parentInstanceId?: string;
  historyEvents?: Event[];
}

/** A UTC time as Json.NET writes it: no trailing zeros in the fraction, none at all when zero. */
const UTC = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?Z$/);
/** A DateTime read back as local time on a UTC machine (ScheduledTime). */
const LOCAL = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?\+00:00$/);

const started = (name: string, input: string, generation: 0 | null): Event => ({
  EventType: 'ExecutionStarted',
  Input: input,
  Correlation: null,
  ParentTraceContext: null,
  ScheduledStartTime: null,
  Generation: generation,
  GenerateNewTrace: false,
  Timestamp: UTC,
  FunctionName: name,
});

describe('status API history in the Durable extension format (DurableClient.cs GetDurableOrchestrationStatusAsync)', () => {
  let host: LocalHost;
  beforeAll(async () => {
    host = await startLocalHost({ entry, clock: 'virtual', port: 0, log: () => undefined });
  });
  afterAll(async () => {
    await host.stop();
  });

  const status = async (id: string, query = 'showHistory=true'): Promise<{ code: number; headers: Headers; body: Status }> => {
    const res = await host.fetch(`${API}/instances/${id}?${query}&code=${host.systemKey}`);
    return { code: res.status, headers: res.headers, body: (await res.json()) as Status };
  };

  /** Runs Tour (activity, timer, external event, failed activity, two sub-orchestrations) to its end. */
  const tour = async (id: string): Promise<void> => {
    host.startNew('Tour', { hello: 1 }, id);
    await host.runUntilIdle();
    host.raiseEvent(id, 'go', { go: true });
    expect((await host.waitForInstance(id)).status).toBe('Completed');
  };

  it('writes each kind of event as the extension does, TaskScheduled and sub-orchestration starts folded into their completions', async () => {
    await tour('tour-1');
    const { code, body } = await status('tour-1');
    expect(code).toBe(200);
    const events = body.historyEvents ?? [];
    const expected: Event[] = [
      started('Tour', '{"hello":1}', 0),
      { EventType: 'TaskCompleted', Timestamp: UTC, ScheduledTime: LOCAL, FunctionName: 'Echo', Input: null },
      { EventType: 'TimerCreated', FireAt: UTC, Timestamp: UTC },
      { EventType: 'TimerFired', FireAt: UTC, Timestamp: UTC },
      { EventType: 'EventRaised', Name: 'go', Input: '{"go":true}', ParentTraceContext: null, Timestamp: UTC },
      {
        EventType: 'TaskFailed',
        Reason: "Activity function 'Refuses' failed:  the activity refused",
        Details: expect.stringContaining('the activity refused') as unknown,
        FailureDetails: null,
        Timestamp: UTC,
        ScheduledTime: LOCAL,
        FunctionName: 'Refuses',
        Input: null,
      },
      { EventType: 'SubOrchestrationInstanceCompleted', Timestamp: UTC, ScheduledTime: LOCAL, FunctionName: 'Child', InstanceId: 'tour-1-child', Input: null },
      {
        EventType: 'SubOrchestrationInstanceFailed',
        Reason: "Orchestrator function 'Child' failed: the child refused",
        Details: expect.any(String) as unknown,
        FailureDetails: null,
        Timestamp: UTC,
        ScheduledTime: LOCAL,
        FunctionName: 'Child',
        InstanceId: 'tour-1-failing',
        Input: null,
      },
      { EventType: 'ExecutionCompleted', OrchestrationStatus: 'Completed', FailureDetails: null, Timestamp: UTC },
    ];
    expect(events).toEqual(expected);
    // Json.NET's field order, as the real extension writes it.
    expect(events.map((e) => Object.keys(e))).toEqual(expected.map((e) => Object.keys(e)));

    const [start, echo, timerCreated, timerFired] = events as [Event, Event, Event, Event];
    // Echo was scheduled in the first turn: its ScheduledTime is that turn's time, read back as local time.
    expect(echo.ScheduledTime).toBe((start.Timestamp as string).replace(/Z$/, '+00:00'));
    // DTFx creates TimerFired when it schedules the timer: both carry the TimerCreated time.
    expect(timerFired.Timestamp).toBe(timerCreated.Timestamp);
    expect(timerFired.FireAt).toBe(timerCreated.FireAt);
    expect(Date.parse(timerCreated.FireAt as string) - Date.parse(timerCreated.Timestamp as string)).toBe(1000);
  });

  it('adds Result (as JSON) only with showHistoryOutput, and drops every Input with showInput=false', async () => {
    await tour('tour-2');
    const withOutput = (await status('tour-2', 'showHistory=true&showHistoryOutput=true')).body.historyEvents ?? [];
    const results = withOutput.filter((e) => 'Result' in e).map((e) => [e.EventType, e.Result]);
    expect(results).toEqual([
      ['TaskCompleted', { echoed: 'a' }],
      ['SubOrchestrationInstanceCompleted', 'child got c'],
      ['ExecutionCompleted', { first: { echoed: 'a' }, raised: { go: true }, caught: 'refused', child: 'child got c', childFailed: true }],
    ]);
    // Result sits after EventType (or OrchestrationStatus), where Json.NET writes it.
    expect(Object.keys(withOutput.find((e) => e.EventType === 'TaskCompleted') ?? {})).toEqual(['EventType', 'Result', 'Timestamp', 'ScheduledTime', 'FunctionName', 'Input']);

    // bool.TryParse: the flags are read in any case.
    const noInput = (await status('tour-2', 'showHistory=True&showInput=FALSE')).body;
    expect(noInput.input).toBeNull();
    expect(noInput.historyEvents?.map((e) => e.EventType)).toEqual(withOutput.map((e) => e.EventType));
    expect(noInput.historyEvents?.filter((e) => 'Input' in e || 'Result' in e)).toEqual([]);
    const { Input: _input, ...startedWithoutInput } = started('Tour', '', 0);
    expect(noInput.historyEvents?.[0]).toStrictEqual(startedWithoutInput);
  });

  it('gives durable-functions getStatus no history, as in Azure (the client reads `history`, the API writes `historyEvents`: durable-js #620)', async () => {
    await tour('tour-3');
    const viaClient = (await (await host.fetch('/api/history/tour-3')).json()) as { runtimeStatus: string; history: unknown };
    expect(viaClient).toEqual({ runtimeStatus: 'Completed', history: null });
    expect((await status('tour-3')).body.historyEvents?.[0]?.EventType).toBe('ExecutionStarted');
  });

  it('lists a sub-orchestration with its parent and a generation of null', async () => {
    await tour('tour-4');
    const child = (await status('tour-4-child', 'showHistory=true&showHistoryOutput=true')).body;
    expect(child.parentInstanceId).toBe('tour-4');
    expect(child.historyEvents).toEqual([
      started('Child', '"c"', null),
      { EventType: 'ExecutionCompleted', OrchestrationStatus: 'Completed', Result: 'child got c', FailureDetails: null, Timestamp: UTC },
    ]);
    const failing = await status('tour-4-failing', 'showHistory=true&showHistoryOutput=true');
    expect(failing.code).toBe(200);
    // A failed orchestration's Result is its failure text (not JSON: kept as a string).
    expect(failing.body.historyEvents?.at(-1)).toEqual({
      EventType: 'ExecutionCompleted',
      OrchestrationStatus: 'Failed',
      Result: "Orchestrator function 'Child' failed: the child refused",
      FailureDetails: null,
      Timestamp: UTC,
    });
    expect((await status('tour-4-failing', 'returnInternalServerErrorOnFailure=true')).code).toBe(500);
    expect((await status('tour-4', 'returnInternalServerErrorOnFailure=true')).code).toBe(200);
    expect((await status('tour-4')).body.parentInstanceId).toBeUndefined();
  });

  it('shows only the current execution after continueAsNew', async () => {
    host.startNew('Again', 0, 'again-1');
    expect((await host.waitForInstance('again-1')).status).toBe('Completed');
    const body = (await status('again-1', 'showHistory=true&showHistoryOutput=true')).body;
    expect(body.historyEvents).toEqual([
      started('Again', '1', null),
      { EventType: 'TaskCompleted', Result: { echoed: 1 }, Timestamp: UTC, ScheduledTime: LOCAL, FunctionName: 'Echo', Input: null },
      { EventType: 'ExecutionCompleted', OrchestrationStatus: 'Completed', Result: { echoed: 1 }, FailureDetails: null, Timestamp: UTC },
    ]);
  });

  it('answers a running instance 202 with its own URL as Location and Retry-After 5; suspend, resume and terminate read as the extension writes them', async () => {
    host.startNew('Waits', 'x', 'waits-1');
    await host.runUntilIdle();
    const url = `${host.baseUrl}${API}/instances/waits-1?showHistory=true&code=${host.systemKey}`;
    const running = await fetch(url);
    expect(running.status).toBe(202);
    expect(running.headers.get('location')).toBe(url);
    expect(running.headers.get('retry-after')).toBe('5');

    const post = (action: string): Promise<Response> => host.fetch(`${API}/instances/waits-1/${action}&code=${host.systemKey}`, { method: 'POST' });
    // Azure Storage's tracking store shows the suspend or resume reason as the instance's output.
    expect((await post('suspend?reason=pause')).status).toBe(202);
    await host.runUntilIdle();
    expect((await status('waits-1', 'showHistory=false')).body).toMatchObject({ runtimeStatus: 'Suspended', output: 'pause' });
    expect((await post('resume?reason=go%20on')).status).toBe(202);
    await host.runUntilIdle();
    expect((await status('waits-1', 'showHistory=false')).body).toMatchObject({ runtimeStatus: 'Running', output: 'go on' });
    expect((await post('terminate?reason=stop%20now')).status).toBe(202);
    expect((await host.waitForInstance('waits-1')).status).toBe('Terminated');
    const { code, body } = await status('waits-1', 'showHistory=true&showHistoryOutput=true');
    expect(code).toBe(200);
    expect(body.historyEvents).toEqual([
      started('Waits', '"x"', 0),
      { EventType: 'ExecutionSuspended', Reason: 'pause', Timestamp: UTC },
      { EventType: 'ExecutionResumed', Reason: 'go on', Timestamp: UTC },
      { EventType: 'ExecutionTerminated', Input: 'stop now', Timestamp: UTC },
      { EventType: 'ExecutionCompleted', OrchestrationStatus: 'Terminated', Result: 'stop now', FailureDetails: null, Timestamp: UTC },
    ]);
  });

  it('writes times as .NET round-trip times (trailing fraction zeros cut)', () => {
    expect(dotnetTime('2026-01-05T02:00:00.120Z')).toBe('2026-01-05T02:00:00.12Z');
    expect(dotnetTime('2026-01-05T02:00:00.000Z')).toBe('2026-01-05T02:00:00Z');
    expect(dotnetTime('2026-01-05T02:00:00Z', '+00:00')).toBe('2026-01-05T02:00:00+00:00');
    expect(dotnetTime('2026-01-05T02:00:00.007Z')).toBe('2026-01-05T02:00:00.007Z');
  });
});
