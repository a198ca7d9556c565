/**
 * The history of `GET instances/{id}?showHistory=true` as the Durable extension writes it. The
 * store keeps the raw DTFx events (numeric EventType, OrchestratorStarted/Completed, TaskScheduled,
 * EventId, IsPlayed...), which replay needs; the status API converts them here, as
 * WebJobs.Extensions.DurableTask ContextImplementations/DurableClient.cs
 * GetDurableOrchestrationStatusAsync does with the Azure Storage provider's history
 * (DurableTask.AzureStorage AzureStorageOrchestrationService.GetOrchestrationHistoryAsync: the
 * events of the current execution serialized by Json.NET, read back without parsing dates):
 * - EventType is the enum's name; OrchestratorStarted/OrchestratorCompleted are left out;
 *   EventId and IsPlayed are dropped from every event.
 * - TaskScheduled / SubOrchestrationInstanceCreated are folded into their completion, which gains
 *   ScheduledTime (the scheduling event's Timestamp read back as a local DateTime, so with the
 *   offset `+00:00` on a UTC machine), FunctionName, InstanceId (sub-orchestrations) and Input;
 *   TaskScheduledId is dropped. The Input is null: the extension stores activity and
 *   sub-orchestration inputs in history only with `storeInputsInOrchestrationHistory`, off by default.
 * - ExecutionStarted: Name becomes FunctionName; OrchestrationInstance, ParentInstance, Version and
 *   Tags are dropped; Generation is 0 for an instance a client started, null otherwise.
 * - Result (TaskCompleted, SubOrchestrationInstanceCompleted, ExecutionCompleted) only with
 *   showHistoryOutput, and then as JSON (ParseToJToken: text that is not JSON stays a string);
 *   every Input is dropped with showInput=false.
 * - TimerFired loses TimerId; its Timestamp is its TimerCreated's: DTFx's dispatcher creates the
 *   TimerFired event when it schedules the timer (TaskOrchestrationDispatcher), not when it fires.
 * - Fields Json.NET writes as null on the real events (FailureDetails, Correlation,
 *   ParentTraceContext, ScheduledStartTime) are written as null here too, in the extension's order.
 * - Times are .NET round-trip times: up to 7 fraction digits with trailing zeros cut (none when
 *   the fraction is zero), so `…:52.8Z` where JavaScript writes `…:52.800Z`.
 * Checked against the real extension 3.19 over Azurite (local/real-engine) with
 * test/durable-host/fixtures/historyApp.ts: test/durable-host/historyFormat.test.ts holds what it wrote.
 */
import type { HistoryEvent } from './engine';

/** DurableTask.Core History/EventType.cs (durable-functions HistoryEventType.js). */
const EVENT_TYPE_NAMES = [
  'ExecutionStarted',
  'ExecutionCompleted',
  'ExecutionFailed',
  'ExecutionTerminated',
  'TaskScheduled',
  'TaskCompleted',
  'TaskFailed',
  'SubOrchestrationInstanceCreated',
  'SubOrchestrationInstanceCompleted',
  'SubOrchestrationInstanceFailed',
  'TimerCreated',
  'TimerFired',
  'OrchestratorStarted',
  'OrchestratorCompleted',
  'EventSent',
  'EventRaised',
  'ContinueAsNew',
  'GenericEvent',
  'HistoryState',
  'ExecutionSuspended',
  'ExecutionResumed',
  'ExecutionRewound',
] as const;

export type StatusHistoryEvent = Record<string, unknown> & { EventType: string };

export interface StatusHistoryOptions {
  /** `showHistoryOutput=true`: Result fields are kept (as JSON). */
  showHistoryOutput: boolean;
  /** `showInput` (default true): Input fields are kept. */
  showInput: boolean;
  /** ExecutionStarted's Generation: 0 for an instance a client started, null for a sub-orchestration or a continued execution. */
  generation: 0 | null;
}

/** A time as Json.NET writes a UTC DateTime ('o' with trailing fraction zeros cut); `offset` for a local one. */
export function dotnetTime(iso: unknown, offset: 'Z' | '+00:00' = 'Z'): unknown {
  if (typeof iso !== 'string') return iso;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const [whole, fraction = ''] = new Date(ms).toISOString().slice(0, -1).split('.');
  const cut = fraction.replace(/0+$/, '');
  return `${whole}${cut ? `.${cut}` : ''}${offset}`;
}

/** DurableClient.cs ParseToJToken: null stays null, blank text is "", JSON is parsed, anything else stays text. */
function parseToJToken(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text.length === 0) return '';
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function typeName(type: number): string {
  return EVENT_TYPE_NAMES[type] ?? String(type);
}

/** Converts one execution's raw events (in store order) to the status API's history. */
export function statusHistory(events: readonly HistoryEvent[], opts: StatusHistoryOptions): StatusHistoryEvent[] {
  const scheduled = new Map<string, HistoryEvent>();
  const timerCreatedAt = new Map<unknown, string>();
  for (const e of events) {
    if (e.EventType === 4 || e.EventType === 7) scheduled.set(`${e.EventType}:${e.EventId}`, e);
    if (e.EventType === 10) timerCreatedAt.set(e.EventId, e.Timestamp);
  }
  const input = (value: unknown): Record<string, unknown> => (opts.showInput ? { Input: value ?? null } : {});
  const result = (value: unknown): Record<string, unknown> => (opts.showHistoryOutput ? { Result: parseToJToken(value) } : {});
  const time = (e: HistoryEvent): string => dotnetTime(e.Timestamp) as string;
  /** What the completion of a scheduled task gains from its TaskScheduled / SubOrchestrationInstanceCreated. */
  const origin = (e: HistoryEvent, scheduledType: 4 | 7): Record<string, unknown> => {
    const from = scheduled.get(`${scheduledType}:${String(e.TaskScheduledId)}`);
    if (!from) return {};
    return {
      ScheduledTime: dotnetTime(from.Timestamp, '+00:00'),
      FunctionName: from.Name,
      ...(scheduledType === 7 ? { InstanceId: from.InstanceId } : {}),
      // storeInputsInOrchestrationHistory is off: the scheduling event kept no input.
      ...input(null),
    };
  };

  const out: StatusHistoryEvent[] = [];
  for (const e of events) {
    const EventType = typeName(e.EventType);
    switch (EventType) {
      case 'OrchestratorStarted':
      case 'OrchestratorCompleted':
      case 'TaskScheduled':
      case 'SubOrchestrationInstanceCreated':
        break;
      case 'ExecutionStarted':
        out.push({
          EventType,
          ...input(e.Input),
          Correlation: null,
          ParentTraceContext: null,
          ScheduledStartTime: null,
          Generation: opts.generation,
          GenerateNewTrace: false,
          Timestamp: time(e),
          FunctionName: e.Name,
        });
        break;
      case 'ExecutionCompleted':
        out.push({ EventType, OrchestrationStatus: e.OrchestrationStatus, ...result(e.Result), FailureDetails: null, Timestamp: time(e) });
        break;
      case 'TaskCompleted':
        out.push({ EventType, ...result(e.Result), Timestamp: time(e), ...origin(e, 4) });
        break;
      case 'TaskFailed':
        out.push({ EventType, Reason: e.Reason, Details: e.Details, FailureDetails: null, Timestamp: time(e), ...origin(e, 4) });
        break;
      case 'SubOrchestrationInstanceCompleted':
        out.push({ EventType, ...result(e.Result), Timestamp: time(e), ...origin(e, 7) });
        break;
      case 'SubOrchestrationInstanceFailed':
        out.push({ EventType, Reason: e.Reason, Details: e.Details, FailureDetails: null, Timestamp: time(e), ...origin(e, 7) });
        break;
      case 'TimerCreated':
        out.push({ EventType, FireAt: dotnetTime(e.FireAt), Timestamp: time(e) });
        break;
      case 'TimerFired':
        out.push({ EventType, FireAt: dotnetTime(e.FireAt), Timestamp: dotnetTime(timerCreatedAt.get(e.TimerId) ?? e.Timestamp) });
        break;
      case 'EventRaised':
        out.push({ EventType, Name: e.Name, ...input(e.Input), ParentTraceContext: null, Timestamp: time(e) });
        break;
      case 'EventSent':
        out.push({ EventType, InstanceId: e.InstanceId, Name: e.Name, ...input(e.Input), Timestamp: time(e) });
        break;
      case 'ExecutionTerminated':
        out.push({ EventType, ...input(e.Input), Timestamp: time(e) });
        break;
      case 'ExecutionSuspended':
      case 'ExecutionResumed':
        out.push({ EventType, Reason: e.Reason ?? null, Timestamp: time(e) });
        break;
      default: {
        // Any other event: its own fields, without the ones the extension drops from every event.
        const { EventType: _type, EventId: _id, IsPlayed: _played, Timestamp: _time, ...rest } = e;
        if (!opts.showInput) delete rest.Input;
        out.push({ EventType, ...rest, Timestamp: time(e) });
      }
    }
  }
  return out;
}
