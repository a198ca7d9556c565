/**
 * The durable engine: what the Durable Task extension does for an out-of-process JavaScript app.
 * Per instance it keeps the history of the current execution, delivers one new event per
 * orchestrator replay (so the library's task ids stay aligned), reads the cumulative actions the
 * library returns, and executes the new ones: activities (with retry), timers (short, long,
 * cancelled), external events, sub-orchestrations and continueAsNew. All state is written
 * through to SQLite (see store.ts) so a killed process resumes where it stopped.
 */
import { InvocationContext } from '@azure/functions';
import type { Clock } from '../clock';
import type { RegisteredFunction } from './coreModule';
import { formatTimeSpan, isoTime } from './durations';
import { type InstanceQuery, partitionOf, Store } from './store';

export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'Failed' | 'Terminated' | 'Suspended';
const terminal: ReadonlySet<RuntimeStatus> = new Set(['Completed', 'Failed', 'Terminated']);

export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  // DTFx DurableTask.Core History/EventType.cs: 2 is ExecutionFailed.
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;

const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
} as const;

export type HistoryEvent = Record<string, unknown> & { EventType: number; EventId: number; Timestamp: string };

interface RetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

interface Action {
  actionType: number;
  functionName?: string;
  input?: unknown;
  retryOptions?: RetryOptions;
  fireAt?: string | Date;
  isCanceled?: boolean;
  externalEventName?: string;
  instanceId?: string;
  /** Entity actions: the operation name. */
  operation?: string;
  compoundActions?: Action[];
}

/** What the engine remembers about a task id of the current execution. */
interface TaskInfo {
  kind: 'activity' | 'subOrchestration' | 'timer' | 'retryTimer';
  actionIndex: number;
  /** For attempts and retry timers: the id of the first attempt, which holds the retry state. */
  rootId: number;
  name?: string;
  input?: unknown;
  retry?: RetryOptions;
  failures?: number;
  firstAttemptAt?: number;
  /** Long timers: the final fire time (the library waits on a chain of sub-timers). */
  finalFireAt?: number;
  /** A timer the orchestrator cancelled: it still fires (the extension cancels only its own wait). */
  canceled?: boolean;
  workId?: number;
}

export interface InstanceRecord {
  id: string;
  name: string;
  status: RuntimeStatus;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: number;
  lastUpdatedTime: number;
  execution: number;
  parent?: { instanceId: string; taskId: number; execution: number };
  /** Flattened signatures of the actions dispatched in this execution, in order. */
  dispatched: { type: number; name?: string; canceled?: boolean }[];
  nextId: number;
  tasks: Record<string, TaskInfo>;
  historyLength: number;
  /** Entities only: whether the entity exists, and its state as the JSON text the library wrote. */
  entity?: { exists: boolean; state: string | null };
}

/**
 * An operation message to an entity, as the extension's RequestMessage serialises it
 * (EntityScheduler/RequestMessage.cs: op, signal, input, id, parent, parentExecution).
 */
export interface EntityRequest {
  op: string;
  signal?: boolean;
  /** The operation input as JSON text (RequestMessage.SetInput), absent when there is none. */
  input?: string;
  id: string;
  parent?: string;
  parentExecution?: string;
}

type InboxMessage =
  | { type: 'start' }
  | { type: 'completion'; execution: number; taskId: number; event: Record<string, unknown> }
  | { type: 'raise'; name: string; input: string | undefined }
  | { type: 'entityOp'; request: EntityRequest }
  | { type: 'terminate'; reason: string }
  | { type: 'suspend'; reason: string }
  | { type: 'resume'; reason: string };

type WorkItem =
  | { kind: 'activity'; execution: number; taskId: number; name: string; input: unknown }
  /**
   * `fireAt` is the FireAt the orchestrator asked for (TimerFired carries it); `visibleAt` is when
   * the message is delivered (see timerVisibleAt). State written before `visibleAt` existed fires at `fireAt`.
   */
  | { kind: 'timer'; execution: number; taskId: number; fireAt: number; visibleAt?: number };

/**
 * When a timer message becomes visible, as on the Azure Storage provider: DTFx delays a TimerFired
 * message by FireAt minus the time it is enqueued (DurableTask.AzureStorage
 * Messaging/TaskHubQueue.cs GetVisibilityDelay, 0 when FireAt has passed) and the Azure SDK sends
 * that delay in whole seconds, cut down (Azure.Storage.Queues QueueClient.SendMessage:
 * `(int?)visibilityTimeout?.TotalSeconds`); nothing checks FireAt on delivery. So a timer fires
 * up to 1 s before its FireAt, and one less than 1 s away fires at once.
 */
export function timerVisibleAt(fireAt: number, enqueuedAt: number): number {
  return enqueuedAt + Math.floor(Math.max(0, fireAt - enqueuedAt) / 1000) * 1000;
}

/**
 * How long a turn takes before its timer messages are enqueued, at least: in Azure the enqueue
 * comes after the orchestrator has run, never at the OrchestratorStarted time it read as now. On
 * the virtual clock, which stands still during a turn, a timer asked for whole seconds ahead would
 * otherwise lose nothing to the truncation. 100 ms is what a turn took on the real engine over
 * Azurite (local/real-engine/README.md: 1 s timers fired ~0.1 s after they were created). It also
 * spaces the turns of a long timer whose last segment fired early: durable-js LongTimerTask waits
 * again for what is left, and such a wait (under 1 s) is delivered at once, turn after turn.
 */
export const MIN_TURN_MS = 100;

function deliveryAt(timer: { fireAt: number; visibleAt?: number }): number {
  return timer.visibleAt ?? timer.fireAt;
}

interface QueuedWork {
  id: number;
  instanceId: string;
  item: WorkItem;
  running?: boolean;
}

/**
 * Several workers on one store, as Functions instances share a task hub on Azure Storage
 * (DTFx.AzureStorage Partitioning/TablePartitionManager.cs, the default since UseTablePartitionManagement: each control-queue partition is a leased row of a partitions table,
 * AzureStorageOrchestrationServiceSettings.cs LeaseInterval 30 s renewed every 10 s; activities
 * are work-item queue messages any worker takes, hidden for a visibility timeout it renews while
 * the activity runs, TaskHubQueue/WorkItemQueue.cs). Here: orchestrations and entities of a
 * partition run only on the worker holding its lease; every commit checks the lease inside its
 * transaction, so a worker that lost it commits nothing; activities are claimed row by row with
 * an expiry. A worker killed with SIGKILL stops renewing: once its leases expire another worker
 * takes the partitions and resumes from the store, and its claimed activities run again.
 */
export interface SharedStoreOptions {
  workerId: string;
  /** Lease length (ms); renewed every `renewMs`. */
  leaseMs: number;
  renewMs: number;
  /** How often the worker looks for new messages and free partitions (ms). */
  pollMs: number;
  /** An activity claim's visibility timeout (ms), renewed every `renewMs` while it runs. */
  activityVisibilityMs: number;
}

export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(readonly partition: number) {
    super(`this worker no longer holds the lease of partition ${partition}`);
  }
}

export interface EngineOptions {
  store: Store;
  clock: Clock;
  functions: RegisteredFunction[];
  activityConcurrency: number;
  log: (line: string) => void;
  /** The extension's defaults for Azure Storage: timers over 6 days wait in 3-day steps. */
  maximumShortTimerMs?: number;
  longRunningTimerIntervalMs?: number;
  onChange?: () => void;
  /** Binding data for activities that take a durable client input (`df.input.durableClient()`). */
  durableClientData?: () => unknown;
  /** Run as one of several workers on the store (see SharedStoreOptions); one process owns everything otherwise. */
  shared?: SharedStoreOptions;
}

export class NondeterminismError extends Error {
  readonly code = 'DURABLE_HOST_NONDETERMINISM';
  override readonly name = 'NondeterminismError';
}

function flatten(actions: Action[], out: Action[] = []): Action[] {
  for (const a of actions) {
    if (a.actionType === ActionType.WhenAll || a.actionType === ActionType.WhenAny) flatten(a.compoundActions ?? [], out);
    else out.push(a);
  }
  return out;
}

/** Inputs of callActivity/continueAsNew that are strings arrive JSON-stringified by the library. */
function actionInput(input: unknown): unknown {
  if (typeof input === 'string') {
    try {
      return JSON.parse(input) as unknown;
    } catch {
      return input;
    }
  }
  return input;
}

function errorParts(err: unknown): { message: string; details: string } {
  if (err instanceof Error) return { message: err.message, details: err.stack ?? '' };
  return { message: String(err), details: '' };
}

/** The message the Node worker reports for a thrown value (azure-functions-nodejs-worker src/errors.ts ensureErrorType). */
function workerErrorMessage(err: unknown): { message: string; stack: string } {
  if (err instanceof Error) return { message: err.message, stack: err.stack ?? '' };
  if (err === undefined || err === null) return { message: 'Unknown error', stack: '' };
  if (typeof err === 'string') return { message: err, stack: '' };
  return { message: typeof err === 'object' ? JSON.stringify(err) : String(err), stack: '' };
}

const HRESULT_COR_E_EXCEPTION = -2146233088;

/** A .NET exception as the extension's ErrorDataConverter (Json.NET, type names on) serialises it. */
function dotNetException(typeName: string, assembly: string, message: string, inner: Record<string, unknown> | null, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    $type: `${typeName}, ${assembly}`,
    ...extra,
    ClassName: typeName,
    Message: message,
    Data: null,
    InnerException: inner,
    HelpURL: null,
    StackTraceString: null,
    RemoteStackTraceString: null,
    RemoteStackIndex: 0,
    ExceptionMethod: null,
    HResult: HRESULT_COR_E_EXCEPTION,
    Source: null,
    WatsonBuckets: null,
  };
}

/**
 * The TaskFailed event of an activity that threw, as Azure writes it: the Functions host wraps the
 * worker's failure in an RpcException ("Result: Failure\nException: <message>\nStack: <stack>",
 * azure-functions-host src/WebJobs.Script/Workers/Rpc/RpcException.cs); the extension takes the
 * text between "\nException:" and "\nStack:" (leading space included) as a friendly message
 * (OutOfProcExceptionHelpers.cs) and fails the task with "Activity function '<name>' failed:
 * <friendly>" and the serialised exception as details (Listener/TaskActivityShim.cs).
 */
export function activityFailure(name: string, err: unknown): { Reason: string; Details: string } {
  const { message, stack } = workerErrorMessage(err);
  const rpc = dotNetException('Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException', 'Microsoft.Azure.WebJobs.Script', `Result: Failure\nException: ${message}\nStack: ${stack}`, null, {
    IsUserException: false,
    RemoteStackTrace: stack,
    RemoteMessage: message,
    RemoteTypeName: null,
  });
  const friendly = ` ${message}`;
  return { Reason: `Activity function '${name}' failed: ${friendly}`, Details: JSON.stringify(dotNetException('System.Exception', 'System.Private.CoreLib', friendly, rpc)) };
}

/** An activity name no function answers to (Listener/TaskNonexistentActivityShim.cs). */
function missingActivityFailure(name: string): { Reason: string; Details: string } {
  const message = `Activity function '${name}' does not exist.`;
  return { Reason: `Activity function '${name}' failed: ${message}`, Details: JSON.stringify(dotNetException('Microsoft.Azure.WebJobs.FunctionFailedException', 'Microsoft.Azure.WebJobs.Extensions.DurableTask', message, null)) };
}

/** The extension's RequestMessageEventName: entity operations travel as events named "op". */
const ENTITY_OPERATION_EVENT = 'op';
/**
 * Operations per entity batch: the extension's MaxEntityOperationBatchSize default on
 * consumption plans (DurableTaskOptions.cs; 5000 on dedicated plans).
 */
export const ENTITY_BATCH_SIZE = 50;
/** An entity batch whose function failed as a whole is retried after this long (the work item is abandoned). */
const ENTITY_BATCH_RETRY_MS = 1000;

/** `@name@key` (EntityId.GetSchedulerIdFromEntityId): the name lower-cased, the key as given. */
export function entitySchedulerId(name: string, key: string): string {
  return `@${name.toLowerCase()}@${key}`;
}

/** Name and key of a scheduler id (EntityId.GetEntityIdFromSchedulerId), or undefined for an orchestration id. */
export function parseEntitySchedulerId(id: string): { name: string; key: string } | undefined {
  if (!id.startsWith('@')) return undefined;
  const at = id.indexOf('@', 1);
  if (at < 0) return undefined;
  return { name: id.slice(1, at), key: id.slice(at + 1) };
}

/**
 * DurableClient.cs SignalEntityAsyncInternal refuses these key characters with
 * `new ArgumentException(nameof(entityKey), "...")`: the arguments are swapped, so the
 * exception's Message is the parameter name followed by the text as the parameter.
 */
export const INVALID_ENTITY_KEY_MESSAGE = "entityKey (Parameter 'Entity keys must not contain /, \\, #, ?, or control characters.')";

export function entityKeyInvalid(key: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what DurableClient.cs refuses
  return /[/\\?#\u0000-\u001f\u007f-\u009f]/.test(key);
}

/** The extension's text for a name no entity function answers to (DurableTaskExtension.cs GetInvalidEntityFunctionMessage). */
export function unknownEntityMessage(name: string, knownEntities: string[], knownOrchestrators: string[]): string {
  // The extension tests the orchestrator list but prints the entity list: copied as it is.
  const info = knownOrchestrators.length > 0 ? `The following are the known entity functions: '${knownEntities.join("', '")}'.` : 'No entity functions are currently registered!';
  return `The function '${name}' doesn't exist, is disabled, or is not an entity function. Additional info: ${info}`;
}

/** What durable-functions' entity handler returns (entities/EntityState.js), as TaskEntityShim.cs OutOfProcResult reads it. */
interface EntityBatchResult {
  entityExists: boolean;
  entityState?: string | null;
  results: { isError: boolean; result?: string; duration?: number }[];
  signals: { target: { name: string; key: string }; name: string; input?: string }[];
}

function isEntityBatchResult(value: unknown, batchSize: number): value is EntityBatchResult {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.entityExists === 'boolean' && Array.isArray(v.results) && v.results.length === batchSize && Array.isArray(v.signals);
}

const OUT_OF_PROC = '$OutOfProcData$:';

export const RETRY_TIMEOUT_REFUSED =
  'retryTimeoutInMilliseconds is refused: in Azure a JavaScript orchestration whose retry timeout expires never resumes; bound retries with maxNumberOfAttempts';

/** The extension's custom status limit, in KB of UTF-16 (ContextImplementations/DurableOrchestrationContext.cs). */
const MAX_CUSTOM_STATUS_KB = 16;

/**
 * The extension serialises custom status and refuses it when the UTF-16 size, in whole KB
 * rounded down, exceeds 16 (MessagePayloadDataConverter.cs); the ArgumentException fails the
 * orchestration. Returns that message, or undefined when the status fits.
 */
export function customStatusTooLarge(customStatus: unknown): string | undefined {
  if (customStatus === undefined || customStatus === null) return undefined;
  const json = JSON.stringify(customStatus) ?? '';
  const sizeKb = Math.floor((json.length * 2) / 1024);
  if (sizeKb <= MAX_CUSTOM_STATUS_KB) return undefined;
  return `The UTF-16 size of the JSON-serialized payload must not exceed ${MAX_CUSTOM_STATUS_KB.toLocaleString('en-US')} KB. The current payload size is ${sizeKb.toLocaleString('en-US')} KB.`;
}

export class Engine {
  private readonly instances = new Map<string, InstanceRecord>();
  private readonly histories = new Map<string, HistoryEvent[]>();
  private readonly inbox: { seq: number; instanceId: string; msg: InboxMessage }[] = [];
  private readonly work = new Map<number, QueuedWork>();
  private readonly orchestrators = new Map<string, RegisteredFunction>();
  private readonly activities = new Map<string, RegisteredFunction>();
  /** Entity functions by lower-cased name: the extension's FunctionName compares ignoring case. */
  private readonly entities = new Map<string, RegisteredFunction>();
  /** Entities whose last batch failed as a whole: not retried before this time (wall clock). */
  private readonly entityRetryAt = new Map<string, number>();
  private entityRetryTimer: NodeJS.Timeout | undefined;
  private pendingEntityMessages: { target: string; request: EntityRequest }[] = [];
  // Several workers on one store (opts.shared): the partitions this worker holds, the last
  // message sequence number it looked at, and the sequence numbers already in memory.
  private readonly owned = new Set<number>();
  private lastPolledSeq = 0;
  private readonly knownSeqs = new Set<number>();
  private pollTimer: NodeJS.Timeout | undefined;
  /** The instance whose step is running: its partition is not handed over mid-step. */
  private busyInstance: string | undefined;
  private readonly duplicateNext = new Map<string, number>();
  private inFlight = 0;
  private running = false;
  private again = false;
  private scheduled = false;
  private stopped = false;
  private realTimer: NodeJS.Timeout | undefined;
  private invocationCounter = 0;
  readonly replayCosts: { historyLength: number; ms: number }[] = [];
  recordReplayCosts = false;

  constructor(private readonly opts: EngineOptions) {
    for (const f of opts.functions) {
      const trigger = Object.values(f.metadata.bindings).find((b) => b.direction === 'in' && /Trigger$/.test(b.type));
      if (trigger?.type === 'orchestrationTrigger') this.orchestrators.set(f.metadata.name, f);
      if (trigger?.type === 'activityTrigger') this.activities.set(f.metadata.name, f);
      if (trigger?.type === 'entityTrigger') this.entities.set(f.metadata.name.toLowerCase(), f);
    }
    this.load();
  }

  private get store(): Store {
    return this.opts.store;
  }

  private load(): void {
    if (this.opts.shared) {
      // Partitions are loaded as their leases are taken (tick).
      this.lastPolledSeq = this.store.inboxAfter(0).reduce((max, row) => Math.max(max, row.seq), 0);
      this.tick();
      return;
    }
    for (const row of this.store.allInstances()) this.instances.set(row.id, row.data as unknown as InstanceRecord);
    for (const row of this.store.allInbox()) {
      this.inbox.push({ seq: row.seq, instanceId: row.instance_id, msg: JSON.parse(row.msg) as InboxMessage });
    }
    for (const row of this.store.allWork()) {
      // Activities that were scheduled but not recorded as finished run again: at least once.
      this.work.set(row.id, { id: row.id, instanceId: row.instance_id, item: JSON.parse(row.data) as WorkItem });
    }
  }

  // ---------------------------------------------------------------- public operations

  hasOrchestrator(name: string): boolean {
    return this.orchestrators.has(name);
  }

  orchestratorNames(): string[] {
    return [...this.orchestrators.keys()];
  }

  hasEntity(name: string): boolean {
    return this.entities.has(name.toLowerCase());
  }

  entityNames(): string[] {
    return [...this.entities.values()].map((f) => f.metadata.name);
  }

  /**
   * A one-way operation from a client (DurableClient.cs SignalEntityAsyncInternal): refused for
   * a bad key or a name no entity function answers to (ArgumentException, 400 over HTTP).
   * `input` is the operation input as JSON text, or undefined for none.
   */
  signalEntity(name: string, key: string, operation: string, input: string | undefined): void {
    if (entityKeyInvalid(key)) throw new HostError('DURABLE_HOST_BAD_ENTITY_KEY', INVALID_ENTITY_KEY_MESSAGE);
    if (!this.hasEntity(name)) throw new HostError('DURABLE_HOST_UNKNOWN_ENTITY', unknownEntityMessage(name.toLowerCase(), this.entityNames(), this.orchestratorNames()));
    const request: EntityRequest = { op: operation, signal: true, id: crypto.randomUUID() };
    if (input !== undefined) request.input = input;
    this.store.tx(() => this.sendToEntity(entitySchedulerId(name, key), request));
    this.kick();
  }

  /** An entity's state (readEntityState): undefined when it does not exist (404 over HTTP). */
  readEntity(name: string, key: string): { state: unknown } | undefined {
    const inst = this.getInstance(entitySchedulerId(name, key));
    if (!inst?.entity?.exists) return undefined;
    const text = inst.entity.state;
    return { state: text === null || text === undefined ? null : (JSON.parse(text) as unknown) };
  }

  /** An instance's input read back from the store, as a status read fetches a large one. */
  storedInput(id: string): unknown {
    const inst = this.getInstance(id);
    return this.store.largeInput(id) ?? inst?.input ?? null;
  }

  /**
   * An instance as last committed. One process reads its memory (the same, written through);
   * with several workers the store, which also reflects a purge or a start through another worker.
   */
  getInstance(id: string): InstanceRecord | undefined {
    if (!this.opts.shared) return this.instances.get(id);
    return this.store.getInstance(id) as InstanceRecord | undefined;
  }

  listInstances(): InstanceRecord[] {
    if (this.opts.shared) return this.store.allInstances().map((row) => row.data as unknown as InstanceRecord);
    return [...this.instances.values()];
  }

  /** One page of a status query, read from the store (every worker's instances). */
  queryInstances(q: InstanceQuery): { rows: InstanceRecord[]; next?: string } {
    const { rows, next } = this.store.queryInstances(q);
    return { rows: rows.map((r) => r.data as unknown as InstanceRecord), next };
  }

  /** True when this worker runs the instance's partition (always, for a single process). */
  owns(instanceId: string): boolean {
    return !this.opts.shared || this.owned.has(partitionOf(instanceId, this.store.partitionCount));
  }

  ownsPartition(partition: number): boolean {
    return !this.opts.shared || this.owned.has(partition);
  }

  ownedPartitions(): number[] {
    return this.opts.shared ? [...this.owned].sort((a, b) => a - b) : Array.from({ length: this.store.partitionCount }, (_, i) => i);
  }

  /** All executions' history, oldest first. */
  historyOf(id: string): { execution: number; events: HistoryEvent[] }[] {
    const byExecution = new Map<number, HistoryEvent[]>();
    for (const row of this.store.history(id)) {
      const list = byExecution.get(row.execution) ?? [];
      list.push(row.event as HistoryEvent);
      byExecution.set(row.execution, list);
    }
    return [...byExecution.entries()].map(([execution, events]) => ({ execution, events }));
  }

  /**
   * Starts an orchestration. Like the extension's default (overridable states = non-running),
   * an id that is Pending/Running/Suspended is refused; a finished one is replaced.
   */
  startNew(name: string, input: unknown, instanceId?: string, parent?: InstanceRecord['parent']): InstanceRecord {
    if (!this.orchestrators.has(name)) throw new HostError('DURABLE_HOST_UNKNOWN_ORCHESTRATOR', `No orchestrator function named '${name}' is registered.`);
    const id = instanceId ?? crypto.randomUUID().replace(/-/g, '');
    const refuseRunning = (existing: InstanceRecord | undefined): void => {
      if (existing && !terminal.has(existing.status)) {
        throw new HostError('DURABLE_HOST_INSTANCE_EXISTS', `An orchestration instance with id '${id}' is already ${existing.status}.`);
      }
    };
    const existing = this.getInstance(id);
    refuseRunning(existing);
    const now = this.opts.clock.now();
    const record: InstanceRecord = {
      id,
      name,
      status: 'Pending',
      input: input === undefined ? null : input,
      output: null,
      customStatus: null,
      createdTime: now,
      lastUpdatedTime: now,
      execution: 0,
      parent,
      dispatched: [],
      nextId: 0,
      tasks: {},
      historyLength: 0,
    };
    this.store.tx(() => {
      // Another worker may have started it since: checked again inside the (immediate) transaction.
      if (this.opts.shared) refuseRunning(this.store.getInstance(id) as InstanceRecord | undefined);
      if (existing) this.store.deleteInstance(id);
      if (this.owns(id)) {
        this.inbox.splice(0, this.inbox.length, ...this.inbox.filter((m) => m.instanceId !== id));
        for (const w of [...this.work.values()]) if (w.instanceId === id) this.work.delete(w.id);
        this.histories.set(id, []);
        this.instances.set(id, record);
      }
      this.store.putInstance(id, record);
      this.enqueue(id, { type: 'start' });
    });
    this.kick();
    return record;
  }

  raiseEvent(id: string, name: string, input: string | undefined): 'accepted' | 'gone' | 'missing' {
    return this.control(id, { type: 'raise', name, input });
  }

  terminate(id: string, reason: string): 'accepted' | 'gone' | 'missing' {
    return this.control(id, { type: 'terminate', reason });
  }

  suspend(id: string, reason: string): 'accepted' | 'gone' | 'missing' {
    return this.control(id, { type: 'suspend', reason });
  }

  resume(id: string, reason: string): 'accepted' | 'gone' | 'missing' {
    return this.control(id, { type: 'resume', reason });
  }

  purge(id: string): boolean {
    if (!this.getInstance(id)) return false;
    this.store.tx(() => this.store.deleteInstance(id));
    this.instances.delete(id);
    this.histories.delete(id);
    for (let i = this.inbox.length - 1; i >= 0; i--) if (this.inbox[i]?.instanceId === id) this.inbox.splice(i, 1);
    for (const w of [...this.work.values()]) if (w.instanceId === id) this.work.delete(w.id);
    return true;
  }

  duplicateNextActivity(name: string): void {
    this.duplicateNext.set(name, (this.duplicateNext.get(name) ?? 0) + 1);
  }

  /** True when no orchestrator step, activity or deliverable message is pending. */
  isIdle(): boolean {
    if (this.running || this.scheduled || this.inFlight > 0) return false;
    if (this.inbox.some((m) => this.deliverable(m.instanceId, m.msg))) return false;
    for (const w of this.work.values()) if (w.item.kind === 'activity') return false;
    return true;
  }

  /** Earliest pending durable timer, if any. */
  nextTimerAt(): number | undefined {
    let next: number | undefined;
    for (const w of this.work.values()) {
      if (w.item.kind === 'timer' && (next === undefined || deliveryAt(w.item) < next)) next = deliveryAt(w.item);
    }
    return next;
  }

  stop(): void {
    this.stopped = true;
    if (this.realTimer) clearTimeout(this.realTimer);
    if (this.entityRetryTimer) clearTimeout(this.entityRetryTimer);
    if (this.pollTimer) clearTimeout(this.pollTimer);
    const shared = this.opts.shared;
    if (shared) {
      // A clean stop hands the partitions over at once (a killed worker's expire instead).
      this.store.tx(() => {
        for (const p of this.owned) this.store.releaseLease(p, shared.workerId);
        this.store.removeWorker(shared.workerId);
      });
      this.owned.clear();
    }
  }

  /**
   * One round of a worker on a shared store: renew its leases, hand over partitions above its
   * share (never the one whose step is running), take free or expired ones up to its share
   * (partitions / live workers, rounded up), then pull the messages other workers committed for
   * its partitions.
   */
  private tick(): void {
    const shared = this.opts.shared;
    if (!shared || this.stopped) return;
    const now = Date.now();
    const lost: number[] = [];
    const acquired: number[] = [];
    try {
      this.store.tx(() => {
        const live = Math.max(1, this.store.heartbeat(shared.workerId, now, now + shared.leaseMs));
        const share = Math.ceil(this.store.partitionCount / live);
        for (const p of this.owned) if (!this.store.renewLease(p, shared.workerId, now, now + shared.leaseMs)) lost.push(p);
        let held = this.owned.size - lost.length;
        const busy = this.busyInstance === undefined ? -1 : partitionOf(this.busyInstance, this.store.partitionCount);
        for (const p of [...this.owned].sort((a, b) => b - a)) {
          if (held <= share) break;
          if (lost.includes(p) || p === busy) continue;
          this.store.releaseLease(p, shared.workerId);
          lost.push(p);
          held--;
        }
        for (const lease of this.store.leases()) {
          if (held >= share) break;
          if (this.owned.has(lease.partition) && !lost.includes(lease.partition)) continue;
          if (lease.owner !== null && lease.owner !== shared.workerId && lease.expires_at > now) continue;
          if (this.store.acquireLease(lease.partition, shared.workerId, now, now + shared.leaseMs)) {
            acquired.push(lease.partition);
            held++;
          }
        }
      });
    } catch (err) {
      this.opts.log(`[durable-host] lease round failed: ${errorParts(err).message}`);
    }
    for (const p of lost) this.losePartition(p);
    for (const p of acquired) this.takePartition(p);
    this.pullMessages();
    this.kick();
    this.pollTimer = setTimeout(() => this.tick(), shared.pollMs);
  }

  private pullMessages(): void {
    let added = false;
    for (const row of this.store.inboxAfter(this.lastPolledSeq)) {
      this.lastPolledSeq = Math.max(this.lastPolledSeq, row.seq);
      if (!this.owned.has(row.partition) || this.knownSeqs.has(row.seq)) continue;
      const msg = JSON.parse(row.msg) as InboxMessage;
      // Another worker started (or replaced) the instance, or created the entity: read it as committed.
      if (msg.type === 'start' || !this.instances.has(row.instance_id)) this.reloadInstance(row.instance_id);
      this.inbox.push({ seq: row.seq, instanceId: row.instance_id, msg });
      added = true;
    }
    for (const seq of this.knownSeqs) if (seq <= this.lastPolledSeq) this.knownSeqs.delete(seq);
    if (added) this.inbox.sort((a, b) => a.seq - b.seq);
  }

  private reloadInstance(id: string): void {
    const data = this.store.getInstance(id) as InstanceRecord | undefined;
    this.histories.delete(id);
    if (data) this.instances.set(id, data);
    else this.instances.delete(id);
  }

  /** A partition just leased: its instances, waiting messages and timers, as committed. */
  private takePartition(partition: number): void {
    this.owned.add(partition);
    for (const row of this.store.instancesOfPartition(partition)) {
      this.instances.set(row.id, row.data as unknown as InstanceRecord);
      this.histories.delete(row.id);
    }
    for (const row of this.store.inboxOfPartition(partition)) {
      if (this.inbox.some((m) => m.seq === row.seq)) continue;
      this.inbox.push({ seq: row.seq, instanceId: row.instance_id, msg: JSON.parse(row.msg) as InboxMessage });
      if (row.seq > this.lastPolledSeq) this.knownSeqs.add(row.seq);
    }
    this.inbox.sort((a, b) => a.seq - b.seq);
    for (const row of this.store.timersOfPartition(partition)) this.work.set(row.id, { id: row.id, instanceId: row.instance_id, item: JSON.parse(row.data) as WorkItem });
    this.opts.log(`[durable-host] worker ${this.opts.shared?.workerId ?? ''} took partition ${partition}`);
    this.kick();
  }

  /** A partition handed over or lost: forget what memory holds of it (the store keeps it all). */
  private losePartition(partition: number): void {
    if (!this.owned.delete(partition)) return;
    const mine = (id: string): boolean => partitionOf(id, this.store.partitionCount) === partition;
    for (const id of [...this.instances.keys()]) {
      if (!mine(id)) continue;
      this.instances.delete(id);
      this.histories.delete(id);
      this.entityRetryAt.delete(id);
    }
    for (let i = this.inbox.length - 1; i >= 0; i--) if (mine(this.inbox[i]?.instanceId ?? '')) this.inbox.splice(i, 1);
    for (const w of [...this.work.values()]) if (mine(w.instanceId)) this.work.delete(w.id);
    this.opts.log(`[durable-host] worker ${this.opts.shared?.workerId ?? ''} gave up partition ${partition}`);
  }

  kick(): void {
    if (this.stopped || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.pump();
    });
  }

  // ---------------------------------------------------------------- scheduler

  private control(id: string, msg: InboxMessage): 'accepted' | 'gone' | 'missing' {
    const inst = this.getInstance(id);
    if (!inst) return 'missing';
    if (terminal.has(inst.status)) return 'gone';
    this.store.tx(() => this.enqueue(id, msg));
    this.kick();
    return 'accepted';
  }

  /** Inside a transaction: a message for an instance; in memory too when this worker runs its partition. */
  private enqueue(instanceId: string, msg: InboxMessage): void {
    const seq = this.store.addInbox(instanceId, msg);
    if (!this.owns(instanceId)) return;
    this.inbox.push({ seq, instanceId, msg });
    if (this.opts.shared) this.knownSeqs.add(seq);
  }

  /** A transaction for a step of an instance this worker runs: refused once its partition's lease is lost. */
  private ownedTx<T>(instanceId: string, fn: () => T): T {
    return this.store.tx(() => {
      const shared = this.opts.shared;
      if (shared) {
        const partition = partitionOf(instanceId, this.store.partitionCount);
        if (!this.owned.has(partition) || !this.store.holdsLease(partition, shared.workerId, Date.now())) throw new LeaseLostError(partition);
      }
      return fn();
    });
  }

  /**
   * The next message to process. An instance with a pending start (a new execution after
   * continueAsNew, also after a crash) takes that start before any other of its messages.
   */
  private nextDeliverable(): number {
    const index = this.inbox.findIndex((m) => this.deliverable(m.instanceId, m.msg));
    const chosen = this.inbox[index];
    if (!chosen || chosen.msg.type === 'start') return index;
    const start = this.inbox.findIndex((m) => m.instanceId === chosen.instanceId && m.msg.type === 'start');
    return start >= 0 ? start : index;
  }

  private deliverable(instanceId: string, msg: InboxMessage): boolean {
    const inst = this.instances.get(instanceId);
    if (!inst) return false;
    if (inst.status === 'Suspended') return msg.type === 'resume' || msg.type === 'terminate';
    if (msg.type === 'entityOp') return (this.entityRetryAt.get(instanceId) ?? 0) <= Date.now();
    return true;
  }

  private async pump(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        this.fireDueTimers();
        for (;;) {
          const index = this.nextDeliverable();
          if (index < 0 || this.stopped) break;
          const [entry] = this.inbox.splice(index, 1);
          if (!entry) continue;
          this.busyInstance = entry.instanceId;
          try {
            if (entry.msg.type === 'entityOp') await this.entityBatch(entry);
            else await this.step(entry);
          } catch (err) {
            if (!(err instanceof LeaseLostError)) throw err;
            this.losePartition(err.partition);
          } finally {
            this.busyInstance = undefined;
          }
          this.fireDueTimers();
        }
        this.dispatchActivities();
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
    this.armRealTimer();
    this.opts.onChange?.();
  }

  private armRealTimer(): void {
    // Virtual clocks are advanced by the host's runUntilIdle; only the real clock needs a timeout.
    if (this.stopped || 'advanceTo' in this.opts.clock) return;
    const next = this.nextTimerAt();
    if (this.realTimer) clearTimeout(this.realTimer);
    this.realTimer = undefined;
    if (next === undefined) return;
    const delay = Math.max(0, Math.min(next - this.opts.clock.now(), 2 ** 31 - 1));
    this.realTimer = setTimeout(() => this.kick(), delay);
  }

  private fireDueTimers(): void {
    const now = this.opts.clock.now();
    const due = [...this.work.values()].filter((w) => w.item.kind === 'timer' && deliveryAt(w.item) <= now);
    due.sort((a, b) => (a.item.kind === 'timer' && b.item.kind === 'timer' ? deliveryAt(a.item) - deliveryAt(b.item) || a.id - b.id : 0));
    for (const w of due) {
      if (w.item.kind !== 'timer' || !this.work.has(w.id)) continue;
      const item = w.item;
      try {
        this.ownedTx(w.instanceId, () => {
          this.store.deleteWork(w.id);
          this.work.delete(w.id);
          this.enqueue(w.instanceId, {
            type: 'completion',
            execution: item.execution,
            taskId: item.taskId,
            event: { EventType: EventType.TimerFired, TimerId: item.taskId, FireAt: isoTime(item.fireAt) },
          });
        });
      } catch (err) {
        if (!(err instanceof LeaseLostError)) throw err;
        this.losePartition(err.partition);
      }
    }
  }

  private dispatchActivities(): void {
    const shared = this.opts.shared;
    if (shared) {
      if (this.stopped) return;
      const free = this.opts.activityConcurrency - this.inFlight;
      if (free <= 0) return;
      const now = Date.now();
      for (const row of this.store.claimActivities(shared.workerId, now, now + shared.activityVisibilityMs, free)) {
        const w: QueuedWork = { id: row.id, instanceId: row.instance_id, item: JSON.parse(row.data) as WorkItem, running: true };
        this.inFlight++;
        // The claim stays hidden from other workers while this one is alive (a renewed visibility timeout).
        const renew = setInterval(() => {
          if (!this.stopped) this.store.renewActivity(w.id, shared.workerId, Date.now() + shared.activityVisibilityMs);
        }, shared.renewMs);
        void this.runActivity(w).finally(() => {
          clearInterval(renew);
          this.inFlight--;
          this.kick();
        });
      }
      return;
    }
    for (const w of this.work.values()) {
      if (this.inFlight >= this.opts.activityConcurrency) return;
      if (w.item.kind !== 'activity' || w.running) continue;
      w.running = true;
      this.inFlight++;
      void this.runActivity(w).finally(() => {
        this.inFlight--;
        this.kick();
      });
    }
  }

  private async runActivity(w: QueuedWork): Promise<void> {
    if (w.item.kind !== 'activity') return;
    const item = w.item;
    const fn = this.activities.get(item.name);
    let event: Record<string, unknown>;
    if (!fn) {
      event = { EventType: EventType.TaskFailed, TaskScheduledId: item.taskId, ...missingActivityFailure(item.name) };
    } else {
      const duplicates = this.duplicateNext.get(item.name) ?? 0;
      if (duplicates > 0) this.duplicateNext.set(item.name, duplicates - 1);
      try {
        const first = await this.invoke(fn, item.input);
        if (duplicates > 0) await this.invoke(fn, item.input); // the at-least-once case: a second delivery
        event = { EventType: EventType.TaskCompleted, TaskScheduledId: item.taskId, Result: JSON.stringify(first ?? null) ?? 'null' };
      } catch (err) {
        event = { EventType: EventType.TaskFailed, TaskScheduledId: item.taskId, ...activityFailure(item.name, err) };
      }
    }
    const shared = this.opts.shared;
    if (shared) {
      if (this.stopped) return;
      this.store.tx(() => {
        // A claim that expired (this worker stalled) went to another worker, whose result counts.
        if (!this.store.completeActivity(w.id, shared.workerId)) {
          this.opts.log(`[durable-host] activity ${item.name} of ${w.instanceId}: claim lost, result dropped`);
          return;
        }
        this.enqueue(w.instanceId, { type: 'completion', execution: item.execution, taskId: item.taskId, event });
      });
      return;
    }
    if (this.stopped || !this.work.has(w.id)) return;
    this.store.tx(() => {
      this.store.deleteWork(w.id);
      this.work.delete(w.id);
      this.enqueue(w.instanceId, { type: 'completion', execution: item.execution, taskId: item.taskId, event });
    });
  }

  private async invoke(fn: RegisteredFunction, triggerInput: unknown, extra?: (ctx: InvocationContext) => void): Promise<unknown> {
    const trigger = Object.values(fn.metadata.bindings).find((b) => b.direction === 'in' && /Trigger$/.test(b.type));
    // Activities may take a durable client as an extra input, as they can in Azure.
    const extraInputs = Object.entries(fn.metadata.bindings)
      .filter(([, b]) => b.direction === 'in' && b !== trigger)
      .map(([name, b]) => ({ ...b, name }));
    const ctx = new InvocationContext({
      invocationId: `local-${++this.invocationCounter}`,
      functionName: fn.metadata.name,
      options: { trigger: { ...(trigger ?? { type: 'unknown' }), name: trigger?.name ?? 'trigger' } as never, extraInputs: extraInputs as never },
      logHandler: (level, ...args) => this.opts.log(`[${fn.metadata.name}] ${level}: ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`),
    });
    for (const input of extraInputs) {
      if ((input.type === 'durableClient' || input.type === 'orchestrationClient') && this.opts.durableClientData) ctx.extraInputs.set(input.name, this.opts.durableClientData());
    }
    extra?.(ctx);
    return await fn.handler(triggerInput, ctx);
  }

  // ---------------------------------------------------------------- orchestration steps

  private history(id: string): HistoryEvent[] {
    let h = this.histories.get(id);
    if (!h) {
      const inst = this.instances.get(id);
      h = this.store
        .history(id)
        .filter((r) => r.execution === inst?.execution)
        .map((r) => r.event as HistoryEvent);
      this.histories.set(id, h);
    }
    return h;
  }

  private async step(entry: { seq: number; instanceId: string; msg: InboxMessage }): Promise<void> {
    const inst = this.instances.get(entry.instanceId);
    const msg = entry.msg;
    // An entity takes only operations (entityBatch); an event raised at its id finds no orchestration.
    if (!inst || inst.entity || terminal.has(inst.status) || (msg.type === 'completion' && msg.execution !== inst.execution)) {
      this.ownedTx(entry.instanceId, () => this.store.deleteInbox(entry.seq));
      return;
    }
    const now = this.opts.clock.now();
    const timestamp = isoTime(now);
    const newEvents: HistoryEvent[] = [];
    const ev = (e: Record<string, unknown>): HistoryEvent => ({ EventId: -1, IsPlayed: false, Timestamp: timestamp, ...e }) as unknown as HistoryEvent;

    if (msg.type === 'terminate') {
      this.finish(inst, entry.seq, 'Terminated', msg.reason, [ev({ EventType: EventType.ExecutionTerminated, Input: msg.reason })]);
      return;
    }
    if (msg.type === 'suspend' || msg.type === 'resume') {
      const suspend = msg.type === 'suspend';
      if (suspend === (inst.status === 'Suspended')) {
        this.ownedTx(inst.id, () => this.store.deleteInbox(entry.seq));
        return;
      }
      inst.status = suspend ? 'Suspended' : 'Running';
      inst.lastUpdatedTime = now;
      // The Azure Storage tracking store writes the reason as the instance's output
      // (DurableTask.AzureStorage Tracking/AzureTableTrackingStore.cs, ExecutionSuspended/Resumed).
      inst.output = msg.reason;
      this.commit(inst, entry.seq, [ev({ EventType: suspend ? EventType.ExecutionSuspended : EventType.ExecutionResumed, Reason: msg.reason })], []);
      return;
    }

    newEvents.push(ev({ EventType: EventType.OrchestratorStarted }));
    if (msg.type === 'start') {
      newEvents.push(
        ev({ EventType: EventType.ExecutionStarted, Name: inst.name, Input: JSON.stringify(inst.input), Version: '', OrchestrationInstance: { InstanceId: inst.id, ExecutionId: `${inst.id}:${inst.execution}` } }),
      );
      inst.status = 'Running';
    } else if (msg.type === 'raise') {
      newEvents.push(ev({ EventType: EventType.EventRaised, Name: msg.name, Input: msg.input }));
    } else if (msg.type === 'completion') {
      newEvents.push(ev(msg.event));
    }

    const history = this.history(inst.id);
    const payload = {
      history: [...history.map((e) => ({ ...e, IsPlayed: true })), ...newEvents],
      instanceId: inst.id,
      parentInstanceId: inst.parent?.instanceId,
      isReplaying: history.length > 0,
      // A fresh copy per replay, as the worker deserialises it each time: orchestrator code that
      // changes its input must not see the change in the next replay.
      input: inst.input === undefined ? undefined : (JSON.parse(JSON.stringify(inst.input)) as unknown),
      upperSchemaVersion: 1,
      upperSchemaVersionNew: 2,
      longRunningTimerIntervalDuration: formatTimeSpan(this.longIntervalMs),
      maximumShortTimerDuration: formatTimeSpan(this.maxShortMs),
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    };
    const fn = this.orchestrators.get(inst.name);
    if (!fn) {
      this.finish(inst, entry.seq, 'Failed', `No orchestrator function named '${inst.name}' is registered.`, newEvents);
      return;
    }

    let state: { isDone?: boolean; actions?: Action[][]; output?: unknown; customStatus?: unknown; error?: string };
    const started = performance.now();
    try {
      state = (await this.invoke(fn, payload)) as typeof state;
    } catch (err) {
      const { message } = errorParts(err);
      const at = message.indexOf(OUT_OF_PROC);
      let reason = message;
      if (at >= 0) {
        try {
          const failed = JSON.parse(message.slice(at + OUT_OF_PROC.length)) as { error?: string; customStatus?: unknown };
          reason = failed.error ?? message.slice(0, at).trim();
          const tooLarge = customStatusTooLarge(failed.customStatus);
          if (tooLarge) reason = tooLarge;
          else if (failed.customStatus !== undefined) inst.customStatus = failed.customStatus;
        } catch {
          reason = message.slice(0, at).trim();
        }
      }
      // The delivered event completed its task before the orchestrator code failed.
      if (msg.type === 'completion') delete inst.tasks[msg.taskId];
      if (this.hasOpenTask(inst)) {
        // Failed by user code, but DTFx waits for the open tasks first (see hasOpenTask).
        this.commit(inst, entry.seq, [...newEvents, ev({ EventType: EventType.OrchestratorCompleted })], []);
        return;
      }
      this.finish(inst, entry.seq, 'Failed', `Orchestrator function '${inst.name}' failed: ${reason}`, newEvents);
      return;
    }
    if (this.recordReplayCosts) this.replayCosts.push({ historyLength: history.length + newEvents.length, ms: performance.now() - started });
    const statusTooLarge = customStatusTooLarge(state.customStatus);
    if (statusTooLarge) {
      // Nothing this replay asked for is scheduled: the extension throws before replaying actions.
      this.finish(inst, entry.seq, 'Failed', `Orchestrator function '${inst.name}' failed: ${statusTooLarge}`, newEvents);
      return;
    }
    if (state.customStatus !== undefined) inst.customStatus = state.customStatus;

    const actions = flatten(state.actions?.[0] ?? []);
    // Nondeterminism: the replay must reproduce every action already dispatched, in order.
    for (let i = 0; i < inst.dispatched.length; i++) {
      const before = inst.dispatched[i];
      const now2 = actions[i];
      if (!before) continue;
      const nowName = now2?.functionName ?? now2?.externalEventName;
      if (!now2 || now2.actionType !== before.type || nowName !== before.name) {
        const what = now2 ? `action type ${now2.actionType}${nowName ? ` '${nowName}'` : ''}` : 'no action';
        const error = new NondeterminismError(
          `Non-deterministic workflow detected: nondeterministic orchestrator '${inst.name}': at action #${i} the history has action type ${before.type}${before.name ? ` '${before.name}'` : ''} but the replay produced ${what}.`,
        );
        this.finish(inst, entry.seq, 'Failed', `Orchestrator function '${inst.name}' failed: ${error.message}`, newEvents);
        return;
      }
    }

    const scheduled: HistoryEvent[] = [];
    const workToAdd: { instanceId: string; item: WorkItem }[] = [];
    const workToDelete: number[] = [];

    // Ids the library allocated while processing the delivered event (retry timers, re-attempts,
    // long-timer segments) come before the ids of the new actions.
    if (msg.type === 'completion') this.afterCompletion(inst, msg, now, scheduled, workToAdd, ev);

    // A timer the orchestrator cancelled stays scheduled: the extension creates every timer in
    // DTFx and cancels only its own wait on it (Listener/OutOfProcOrchestrationShim.cs), so the
    // TimerFired message still arrives and replays the orchestrator once more, for nothing.
    for (let i = 0; i < inst.dispatched.length; i++) {
      const a = actions[i];
      const d = inst.dispatched[i];
      if (a?.actionType === ActionType.CreateTimer && a.isCanceled && d && !d.canceled) {
        d.canceled = true;
        for (const t of Object.values(inst.tasks)) if (t.kind === 'timer' && t.actionIndex === i) t.canceled = true;
      }
    }

    let continueAsNew: Action | undefined;
    /** An action the extension cannot schedule: it and the actions after it are never scheduled. */
    let stalled = false;
    for (let i = inst.dispatched.length; i < actions.length && !stalled; i++) {
      const a = actions[i];
      if (!a) continue;
      if (a.retryOptions?.retryTimeoutInMilliseconds !== undefined) {
        // When the timeout ends a retry, DTFx's RetryInterceptor.cs stops without the timer the
        // durable-functions library waits for, so in Azure the orchestration waits forever.
        this.finish(inst, entry.seq, 'Failed', `Orchestrator function '${inst.name}' failed: ${RETRY_TIMEOUT_REFUSED} (${a.functionName ?? 'call'}).`, newEvents);
        return;
      }
      inst.dispatched.push({ type: a.actionType, name: a.functionName ?? a.externalEventName });
      switch (a.actionType) {
        case ActionType.CallActivity:
        case ActionType.CallActivityWithRetry:
        case ActionType.CallSubOrchestrator:
        case ActionType.CallSubOrchestratorWithRetry: {
          const id = inst.nextId++;
          const isActivity = a.actionType === ActionType.CallActivity || a.actionType === ActionType.CallActivityWithRetry;
          const input = isActivity ? actionInput(a.input) : a.input;
          inst.tasks[id] = {
            kind: isActivity ? 'activity' : 'subOrchestration',
            actionIndex: i,
            rootId: id,
            name: a.functionName,
            input,
            retry: a.retryOptions,
            failures: 0,
            firstAttemptAt: now,
          };
          this.scheduleAttempt(inst, id, id, a.instanceId, scheduled, workToAdd, ev);
          break;
        }
        case ActionType.CreateTimer: {
          const id = inst.nextId++;
          const finalFireAt = new Date(a.fireAt ?? timestamp).getTime();
          // Only a long timer (durable-js LongTimerTask) waits again when a segment fires before
          // its final time; a short one (DFTimerTask) completes on its TimerFired, even an early one.
          const long = finalFireAt - now > this.maxShortMs;
          const fireAt = long ? now + this.longIntervalMs : finalFireAt;
          inst.tasks[id] = { kind: 'timer', actionIndex: i, rootId: id, ...(long ? { finalFireAt } : {}), canceled: a.isCanceled === true };
          this.scheduleTimer(inst, id, fireAt, now, scheduled, workToAdd, ev);
          if (a.isCanceled) inst.dispatched[i] = { type: a.actionType, canceled: true };
          break;
        }
        case ActionType.WaitForExternalEvent:
          break; // no id, no work: the event arrives through raiseEvent
        case ActionType.CallEntity:
        case ActionType.SignalEntity: {
          // OutOfProcOrchestrationShim.cs hands both to DurableOrchestrationContext.cs
          // CallDurableTaskFunctionAsync: the entity function must exist (ThrowIfFunctionDoesNotExist),
          // the operation goes out as an "op" event (EventSent, which takes the next task id) and
          // a call then waits for an event named after the request id (WaitForEntityResponse).
          const target = a.instanceId ?? '';
          const entityId = parseEntitySchedulerId(target);
          if (!entityId || !this.hasEntity(entityId.name)) {
            // The extension throws this ArgumentException while it replays the actions; on the
            // real extension (3.19, conformance suite) the orchestration then neither fails nor
            // goes on: nothing of this or any later action is scheduled and it stays Running.
            const message = unknownEntityMessage(entityId?.name ?? target, this.entityNames(), this.orchestratorNames());
            this.opts.log(`[durable-host] instance ${inst.id} (${inst.name}) is stuck: ${message}`);
            inst.dispatched.pop();
            stalled = true;
            break;
          }
          const id = inst.nextId++;
          const request: EntityRequest = {
            op: a.operation ?? '',
            ...(a.actionType === ActionType.SignalEntity ? { signal: true } : {}),
            ...(a.input !== undefined && a.input !== null ? { input: JSON.stringify(a.input) } : {}),
            id: crypto.randomUUID(),
            parent: inst.id,
            parentExecution: `${inst.id}:${inst.execution}`,
          };
          scheduled.push(ev({ EventType: EventType.EventSent, EventId: id, Name: ENTITY_OPERATION_EVENT, InstanceId: target, Input: JSON.stringify(request) }));
          this.pendingEntityMessages.push({ target, request });
          break;
        }
        case ActionType.ContinueAsNew:
          continueAsNew = a;
          break;
        default: {
          this.finish(inst, entry.seq, 'Failed', `Orchestrator function '${inst.name}' failed: action type ${a.actionType} (entity locks, callHttp) is not supported by the local durable host.`, newEvents);
          return;
        }
      }
    }
    inst.lastUpdatedTime = now;
    if (stalled) {
      newEvents.push(...scheduled, ev({ EventType: EventType.OrchestratorCompleted }));
      this.commit(inst, entry.seq, newEvents, workToAdd, workToDelete);
      return;
    }
    if (state.isDone && this.hasOpenTask(inst)) {
      newEvents.push(...scheduled, ev({ EventType: EventType.OrchestratorCompleted }));
      this.commit(inst, entry.seq, newEvents, workToAdd, workToDelete);
      return;
    }
    if (state.isDone && continueAsNew) {
      this.continueAsNew(inst, entry.seq, actionInput(continueAsNew.input), [...newEvents, ...scheduled], workToDelete);
      // DTFx runs the new execution in the same work item (TaskOrchestrationDispatcher.cs loops
      // `while (continuedAsNew)`): its start comes before any event already waiting.
      const startIndex = this.inbox.findIndex((m) => m.instanceId === inst.id && m.msg.type === 'start');
      const [startEntry] = startIndex >= 0 ? this.inbox.splice(startIndex, 1) : [];
      if (startEntry) await this.step(startEntry);
      return;
    }
    if (state.isDone) {
      this.finish(inst, entry.seq, 'Completed', state.output === undefined ? null : state.output, [...newEvents, ...scheduled]);
      return;
    }
    newEvents.push(...scheduled, ev({ EventType: EventType.OrchestratorCompleted }));
    this.commit(inst, entry.seq, newEvents, workToAdd, workToDelete);
  }

  /**
   * DTFx completes (or fails, or continues) an orchestration only once it has no open task
   * (DurableTask.Core TaskOrchestrationExecutor.cs, `HasOpenTasks`): an activity,
   * sub-orchestration, retry or timer still pending (a timer that lost a Task.any and was not
   * cancelled, say) keeps the instance Running until it ends. A cancelled timer is not open.
   */
  private hasOpenTask(inst: InstanceRecord): boolean {
    return Object.values(inst.tasks).some((t) => !t.canceled);
  }

  private get maxShortMs(): number {
    return this.opts.maximumShortTimerMs ?? 6 * 86400_000;
  }

  private get longIntervalMs(): number {
    return this.opts.longRunningTimerIntervalMs ?? 3 * 86400_000;
  }

  private scheduleAttempt(
    inst: InstanceRecord,
    id: number,
    rootId: number,
    requestedChildId: string | undefined,
    scheduled: HistoryEvent[],
    workToAdd: { instanceId: string; item: WorkItem }[],
    ev: (e: Record<string, unknown>) => HistoryEvent,
  ): void {
    const root = inst.tasks[rootId];
    if (!root) return;
    if (id !== rootId) inst.tasks[id] = { kind: root.kind, actionIndex: root.actionIndex, rootId };
    const input = root.input;
    if (root.kind === 'activity') {
      scheduled.push(ev({ EventType: EventType.TaskScheduled, EventId: id, Name: root.name, Input: JSON.stringify(input ?? null) }));
      workToAdd.push({ instanceId: inst.id, item: { kind: 'activity', execution: inst.execution, taskId: id, name: root.name ?? '', input } });
    } else {
      const childId = (id === rootId ? requestedChildId : undefined) ?? `${inst.id}:${id}`;
      scheduled.push(ev({ EventType: EventType.SubOrchestrationInstanceCreated, EventId: id, Name: root.name, InstanceId: childId, Input: JSON.stringify(input ?? null) }));
      // Started after the parent's step commits (see commit()).
      this.pendingChildren.push({ name: root.name ?? '', input, childId, parent: { instanceId: inst.id, taskId: id, execution: inst.execution } });
    }
  }

  private pendingChildren: { name: string; input: unknown; childId: string; parent: NonNullable<InstanceRecord['parent']> }[] = [];

  /** `turnAt`: the time of the turn that creates the timer (its OrchestratorStarted). */
  private scheduleTimer(
    inst: InstanceRecord,
    id: number,
    fireAt: number,
    turnAt: number,
    scheduled: HistoryEvent[],
    workToAdd: { instanceId: string; item: WorkItem }[],
    ev: (e: Record<string, unknown>) => HistoryEvent,
  ): void {
    scheduled.push(ev({ EventType: EventType.TimerCreated, EventId: id, FireAt: isoTime(fireAt) }));
    const visibleAt = timerVisibleAt(fireAt, Math.max(this.opts.clock.now(), turnAt + MIN_TURN_MS));
    workToAdd.push({ instanceId: inst.id, item: { kind: 'timer', execution: inst.execution, taskId: id, fireAt, visibleAt } });
  }

  /** Mirrors the library's id bookkeeping for retries and long timers. */
  private afterCompletion(
    inst: InstanceRecord,
    msg: Extract<InboxMessage, { type: 'completion' }>,
    now: number,
    scheduled: HistoryEvent[],
    workToAdd: { instanceId: string; item: WorkItem }[],
    ev: (e: Record<string, unknown>) => HistoryEvent,
  ): void {
    const task = inst.tasks[msg.taskId];
    if (!task) return;
    delete inst.tasks[msg.taskId];
    const root = inst.tasks[task.rootId] ?? (task.rootId === msg.taskId ? task : undefined);
    const type = msg.event.EventType;
    if (task.kind === 'timer' && task.finalFireAt !== undefined && task.finalFireAt > now) {
      // A long timer: the library waits on the next segment, which takes the next id. Once
      // cancelled, the extension schedules no further segment (DurableOrchestrationContext.cs
      // CreateTimer stops its loop on cancellation), though the library still takes the id.
      const id = inst.nextId++;
      if (task.canceled) return;
      const fireAt = task.finalFireAt - now > this.maxShortMs ? now + this.longIntervalMs : task.finalFireAt;
      inst.tasks[id] = { ...task, rootId: id };
      this.scheduleTimer(inst, id, fireAt, now, scheduled, workToAdd, ev);
      return;
    }
    if (!root?.retry) return;
    if (type === EventType.TaskFailed || type === EventType.SubOrchestrationInstanceFailed) {
      // Every failure, even the last, is followed by a retry timer with its own id. After the last
      // attempt DTFx's RetryInterceptor.cs schedules that timer for "now" (a back-compat dummy), so
      // the failure surfaces at once rather than after another backoff interval.
      root.failures = (root.failures ?? 0) + 1;
      const r = root.retry;
      let delay = r.firstRetryIntervalInMilliseconds * Math.pow(r.backoffCoefficient ?? 1, root.failures - 1);
      if (r.maxRetryIntervalInMilliseconds !== undefined) delay = Math.min(delay, r.maxRetryIntervalInMilliseconds);
      if (root.failures >= r.maxNumberOfAttempts) delay = 0;
      const id = inst.nextId++;
      inst.tasks[id] = { kind: 'retryTimer', actionIndex: root.actionIndex, rootId: task.rootId };
      if (task.rootId === msg.taskId) inst.tasks[task.rootId] = root;
      this.scheduleTimer(inst, id, now + delay, now, scheduled, workToAdd, ev);
    } else if (task.kind === 'retryTimer') {
      if ((root.failures ?? 0) < root.retry.maxNumberOfAttempts) {
        const id = inst.nextId++;
        this.scheduleAttempt(inst, id, task.rootId, undefined, scheduled, workToAdd, ev);
      } else {
        delete inst.tasks[task.rootId];
      }
    } else if (task.rootId !== msg.taskId) {
      // a re-attempt succeeded
      delete inst.tasks[task.rootId];
    }
  }

  /** Inside a transaction: the entity operations the step just recorded as EventSent. */
  private flushEntityMessages(): void {
    const messages = this.pendingEntityMessages;
    this.pendingEntityMessages = [];
    for (const m of messages) this.sendToEntity(m.target, m.request);
  }

  /** Inside a transaction: queues an operation for an entity, creating its instance on the first message (as DTFx does). */
  private sendToEntity(target: string, request: EntityRequest): void {
    let inst = this.getInstance(target);
    if (!inst?.entity) {
      const now = this.opts.clock.now();
      inst = {
        id: target,
        // DTFx names an entity's instance by its scheduler id (the status API lists `@name@key` as the name).
        name: target,
        status: 'Running',
        input: null,
        output: null,
        customStatus: null,
        createdTime: now,
        lastUpdatedTime: now,
        execution: 0,
        dispatched: [],
        nextId: 0,
        tasks: {},
        historyLength: 0,
        entity: { exists: false, state: null },
      };
      if (this.owns(target)) this.instances.set(target, inst);
      this.store.putInstance(target, inst);
    }
    this.enqueue(target, { type: 'entityOp', request });
  }

  /**
   * One batch of an entity's operations, as the extension runs an out-of-process entity
   * (Listener/TaskEntityShim.cs ExecuteOutOfProcBatch): the waiting operations, in arrival order,
   * go to the entity function in one call with the entity's state
   * (EntityTriggerAttributeBindingProvider.cs: self, exists, state, batch of name/input/isSignal);
   * the function's result (entityExists, entityState, results, signals) is then committed in one
   * transaction with the consumed messages, the responses to calling orchestrations (an event
   * named after the request id carrying a ResponseMessage: result, exceptionType "Error" when the
   * operation threw) and the signals the operations sent. A crash before the commit leaves the
   * state and the messages as they were, so the whole batch runs again. A batch whose function
   * call itself fails is abandoned and retried.
   */
  private async entityBatch(first: { seq: number; instanceId: string; msg: InboxMessage }): Promise<void> {
    const inst = this.instances.get(first.instanceId);
    const entityId = parseEntitySchedulerId(first.instanceId);
    if (!inst?.entity || !entityId) {
      this.ownedTx(first.instanceId, () => this.store.deleteInbox(first.seq));
      return;
    }
    const batch = [first];
    for (let i = 0; i < this.inbox.length && batch.length < ENTITY_BATCH_SIZE; ) {
      const m = this.inbox[i];
      if (m?.instanceId === inst.id && m.msg.type === 'entityOp') batch.push(...this.inbox.splice(i, 1));
      else i++;
    }
    const requests = batch.map((b) => (b.msg as Extract<InboxMessage, { type: 'entityOp' }>).request);
    const fn = this.entities.get(entityId.name);
    if (!fn) {
      // Only an entity's own signal can reach a name no function answers to (clients and orchestrations are refused up front).
      const message = unknownEntityMessage(entityId.name, this.entityNames(), this.orchestratorNames());
      this.opts.log(`[durable-host] entity ${inst.id}: ${message}`);
      inst.status = 'Failed';
      inst.output = message;
      inst.lastUpdatedTime = this.opts.clock.now();
      this.ownedTx(inst.id, () => {
        for (const b of batch) this.store.deleteInbox(b.seq);
        this.store.putInstance(inst.id, inst);
      });
      return;
    }
    const binding = {
      self: { name: entityId.name, key: entityId.key },
      exists: inst.entity.exists,
      state: inst.entity.state,
      batch: requests.map((r) => ({ name: r.op, input: r.input ?? null, isSignal: r.signal === true })),
    };
    let result: unknown;
    let failure: string | undefined;
    try {
      result = await this.invoke(fn, binding);
    } catch (err) {
      failure = errorParts(err).message;
    }
    if (failure === undefined && !isEntityBatchResult(result, batch.length)) failure = 'Out of proc orchestrators must return a valid JSON schema.';
    if (this.stopped) return;
    if (failure !== undefined || !isEntityBatchResult(result, batch.length)) {
      this.inbox.push(...batch);
      this.inbox.sort((x, y) => x.seq - y.seq);
      this.entityRetryAt.set(inst.id, Date.now() + ENTITY_BATCH_RETRY_MS);
      if (this.entityRetryTimer) clearTimeout(this.entityRetryTimer);
      this.entityRetryTimer = setTimeout(() => this.kick(), ENTITY_BATCH_RETRY_MS);
      this.opts.log(`[durable-host] entity ${inst.id}: batch of ${batch.length} failed and will be retried: ${failure ?? 'invalid result'}`);
      return;
    }
    const outcome = result;
    this.entityRetryAt.delete(inst.id);
    this.ownedTx(inst.id, () => {
      inst.entity = { exists: outcome.entityExists, state: outcome.entityExists ? (outcome.entityState ?? null) : null };
      // What the status API shows of an entity: its scheduler state as input (SchedulerState.cs:
      // exists, state, sorter; defaults left out) and EntityStatus as custom status
      // (TaskEntityShim.cs GetStatus: entityExists, when true). The sorter's contents are not kept here.
      inst.input = inst.entity.exists ? { exists: true, state: inst.entity.state, sorter: {} } : { sorter: {} };
      inst.customStatus = inst.entity.exists ? { entityExists: true } : {};
      inst.lastUpdatedTime = this.opts.clock.now();
      for (const b of batch) this.store.deleteInbox(b.seq);
      requests.forEach((request, i) => {
        if (request.signal || !request.parent) return;
        const r = outcome.results[i];
        const response = JSON.stringify({ result: r?.result ?? null, ...(r?.isError ? { exceptionType: 'Error' } : {}) });
        const caller = this.getInstance(request.parent);
        // A response to an execution that has ended (or continued as new) finds no one waiting.
        if (!caller || terminal.has(caller.status) || `${caller.id}:${caller.execution}` !== request.parentExecution) return;
        this.enqueue(caller.id, { type: 'raise', name: request.id, input: response });
      });
      for (const signal of outcome.signals) {
        const input = typeof signal.input === 'string' ? signal.input : undefined;
        this.sendToEntity(entitySchedulerId(signal.target.name, signal.target.key), { op: signal.name, signal: true, ...(input !== undefined ? { input } : {}), id: crypto.randomUUID(), parent: inst.id });
      }
      this.store.putInstance(inst.id, inst);
    });
  }

  private commit(inst: InstanceRecord, seq: number, events: HistoryEvent[], workToAdd: { instanceId: string; item: WorkItem }[], workToDelete: number[] = []): void {
    const history = this.history(inst.id);
    const children = this.pendingChildren;
    this.pendingChildren = [];
    this.ownedTx(inst.id, () => {
      for (const e of events) this.store.addHistory(inst.id, inst.execution, history.length + events.indexOf(e), e);
      history.push(...events);
      inst.historyLength = history.length;
      for (const id of workToDelete) {
        this.store.deleteWork(id);
        this.work.delete(id);
      }
      for (const w of workToAdd) {
        const id = this.store.addWork(w.instanceId, w.item);
        // Shared store: activities wait in the store for any worker to claim (dispatchActivities).
        if (!this.opts.shared || w.item.kind === 'timer') this.work.set(id, { id, instanceId: w.instanceId, item: w.item });
        if (w.item.kind === 'timer') {
          const t = inst.tasks[w.item.taskId];
          if (t) t.workId = id;
        }
      }
      this.store.deleteInbox(seq);
      this.store.putInstance(inst.id, inst);
      for (const c of children) this.startChild(c);
      this.flushEntityMessages();
    });
  }

  private startChild(c: { name: string; input: unknown; childId: string; parent: NonNullable<InstanceRecord['parent']> }): void {
    try {
      this.startNew(c.name, c.input, c.childId, c.parent);
    } catch (err) {
      const { message, details } = errorParts(err);
      this.enqueue(c.parent.instanceId, {
        type: 'completion',
        execution: c.parent.execution,
        taskId: c.parent.taskId,
        event: { EventType: EventType.SubOrchestrationInstanceFailed, TaskScheduledId: c.parent.taskId, Reason: message, Details: details },
      });
    }
  }

  private continueAsNew(inst: InstanceRecord, seq: number, input: unknown, events: HistoryEvent[], workToDelete: number[]): void {
    const history = this.history(inst.id);
    this.pendingChildren = [];
    this.ownedTx(inst.id, () => {
      // Messages sent in the ending execution still go out (DTFx sends an execution's outbound messages with it).
      this.flushEntityMessages();
      const all = [...events, { EventType: EventType.ExecutionCompleted, EventId: -1, IsPlayed: false, Timestamp: isoTime(inst.lastUpdatedTime), OrchestrationStatus: 'ContinuedAsNew' }];
      all.forEach((e, k) => this.store.addHistory(inst.id, inst.execution, history.length + k, e));
      for (const id of workToDelete) this.store.deleteWork(id);
      for (const w of [...this.work.values()]) {
        if (w.instanceId === inst.id) {
          this.store.deleteWork(w.id);
          this.work.delete(w.id);
        }
      }
      if (this.opts.shared) this.store.deleteWorkOf(inst.id);
      inst.execution++;
      // Azure Storage's tracking store writes each ExecutionStarted's timestamp as the instance's
      // CreatedTime (AzureTableTrackingStore.cs): a new execution overwrites it.
      inst.createdTime = inst.lastUpdatedTime;
      inst.input = input === undefined ? null : input;
      inst.dispatched = [];
      inst.nextId = 0;
      inst.tasks = {};
      inst.historyLength = 0;
      this.histories.set(inst.id, []);
      this.store.deleteInbox(seq);
      this.enqueue(inst.id, { type: 'start' });
      this.store.putInstance(inst.id, inst);
    });
  }

  private finish(inst: InstanceRecord, seq: number, status: RuntimeStatus, output: unknown, events: HistoryEvent[]): void {
    const history = this.history(inst.id);
    this.pendingChildren = [];
    // Only a completion carries the messages its last replay sent; a failure's replay is discarded.
    const entityMessages = status === 'Completed' ? this.pendingEntityMessages : [];
    this.pendingEntityMessages = [];
    inst.status = status;
    inst.output = output;
    inst.lastUpdatedTime = this.opts.clock.now();
    this.ownedTx(inst.id, () => {
      const all = [...events, { EventType: EventType.ExecutionCompleted, EventId: -1, IsPlayed: false, Timestamp: isoTime(inst.lastUpdatedTime), OrchestrationStatus: status, Result: JSON.stringify(output) }];
      all.forEach((e, k) => this.store.addHistory(inst.id, inst.execution, history.length + k, e));
      history.push(...(all as HistoryEvent[]));
      inst.historyLength = history.length;
      this.store.deleteInbox(seq);
      this.store.deleteInboxOf(inst.id);
      for (let i = this.inbox.length - 1; i >= 0; i--) if (this.inbox[i]?.instanceId === inst.id) this.inbox.splice(i, 1);
      for (const w of [...this.work.values()]) {
        if (w.instanceId === inst.id) {
          this.store.deleteWork(w.id);
          this.work.delete(w.id);
        }
      }
      if (this.opts.shared) this.store.deleteWorkOf(inst.id);
      inst.tasks = {};
      this.store.putInstance(inst.id, inst);
      for (const m of entityMessages) this.sendToEntity(m.target, m.request);
      const parent = inst.parent;
      if (parent && this.getInstance(parent.instanceId)) {
        const event =
          status === 'Completed'
            ? { EventType: EventType.SubOrchestrationInstanceCompleted, TaskScheduledId: parent.taskId, Result: JSON.stringify(output ?? null) }
            : { EventType: EventType.SubOrchestrationInstanceFailed, TaskScheduledId: parent.taskId, Reason: String(output), Details: '' };
        this.enqueue(parent.instanceId, { type: 'completion', execution: parent.execution, taskId: parent.taskId, event });
      }
    });
    this.opts.log(`[durable-host] instance ${inst.id} (${inst.name}) ${status}`);
  }
}

export class HostError extends Error {
  override readonly name = 'HostError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
