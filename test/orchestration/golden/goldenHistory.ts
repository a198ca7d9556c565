import fs from 'node:fs';
import path from 'node:path';
import { InvocationContext } from '@azure/functions';
import { loadApp, type RegisteredFunction } from '../../../local/durable-host/coreModule';

/**
 * Golden histories: what the Durable extension stored for runs of an earlier build, replayed
 * through today's orchestrator. Runs last up to 7 days, so a deploy replays histories an older
 * build wrote; a change that cannot replay them breaks those runs in Azure (docs/operations.md,
 * "Changing the orchestrator").
 */
export const GOLDEN_DIR = __dirname;

/** The module that registers every orchestrator version of the app (src/functions). */
export const ORCHESTRATOR_ENTRY = path.join(__dirname, '..', '..', '..', 'src', 'functions', 'refreshOrchestrator.ts');

/** Durable history event types (durable-functions lib/src/history/HistoryEventType.js). */
export const HistoryEventType = {
  ExecutionStarted: 0,
  TaskCompleted: 5,
  TaskFailed: 6,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventRaised: 15,
} as const;

export type HistoryEvent = Record<string, unknown> & { EventType: number; EventId: number; Timestamp: string };

/** An action the orchestrator asked for, as the extension compares it on replay: its type and name. */
export interface ActionSignature {
  type: number;
  name?: string;
}

export interface GoldenHistory {
  scenario: string;
  description: string;
  /** Build that wrote the history. */
  recordedWith: { version: string; commit: string };
  orchestrator: string;
  instanceId: string;
  /** 0 for the first execution; more after continueAsNew. */
  execution: number;
  /** The execution's input, as the extension hands it to the worker. */
  input: unknown;
  /** The execution's history at a quiet moment (the orchestrator waiting on a timer, an event or an activity). */
  history: HistoryEvent[];
  /** The actions the recorded build had dispatched by then, in order. */
  dispatched: ActionSignature[];
  /** What the host delivered next (its OrchestratorStarted and the completion): the first step a new build would run. */
  next: HistoryEvent[];
  /** The run's custom status at the recorded moment (for people reading the fixture). */
  customStatus: unknown;
}

interface OrchestratorAction {
  actionType: number;
  functionName?: string;
  externalEventName?: string;
  compoundActions?: OrchestratorAction[];
}

export interface OrchestratorState {
  isDone?: boolean;
  actions?: OrchestratorAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
}

/** WhenAny (11) and WhenAll (12) are flattened depth-first, as the extension reads them. */
export function actionSignatures(state: OrchestratorState): ActionSignature[] {
  const out: ActionSignature[] = [];
  const walk = (actions: OrchestratorAction[]) => {
    for (const action of actions) {
      if (action.actionType === 11 || action.actionType === 12) walk(action.compoundActions ?? []);
      else out.push({ type: action.actionType, ...(action.functionName ?? action.externalEventName ? { name: action.functionName ?? action.externalEventName } : {}) });
    }
  };
  walk(state.actions?.[0] ?? []);
  return out;
}

export function readGoldenHistories(): GoldenHistory[] {
  return fs
    .readdirSync(GOLDEN_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(fs.readFileSync(path.join(GOLDEN_DIR, file), 'utf8')) as GoldenHistory);
}

export function writeGoldenHistory(golden: GoldenHistory): string {
  const file = path.join(GOLDEN_DIR, `${golden.scenario}.json`);
  fs.writeFileSync(file, `${JSON.stringify(golden, null, 2)}\n`);
  return file;
}

/** The orchestrator functions the app registers, by name (the same handlers the worker calls). */
export function registeredOrchestrators(): Map<string, RegisteredFunction> {
  const functions = loadApp(ORCHESTRATOR_ENTRY, () => undefined);
  const orchestrators = new Map<string, RegisteredFunction>();
  for (const registered of functions) {
    const isOrchestrator = Object.values(registered.metadata.bindings).some((binding) => binding.type === 'orchestrationTrigger');
    if (isOrchestrator) orchestrators.set(registered.metadata.name, registered);
  }
  return orchestrators;
}

/**
 * One replay as the Functions extension drives an out-of-process orchestrator: the whole history
 * with the past marked as played, the execution's input, schema V3 and the Azure Storage timer
 * settings (durable-functions lib/src/orchestrations/DurableOrchestrationBindingInfo.js).
 */
export async function replay(handler: RegisteredFunction['handler'], golden: GoldenHistory, newEvents: HistoryEvent[] = []): Promise<OrchestratorState> {
  const payload = {
    history: [...golden.history.map((event) => ({ ...event, IsPlayed: true })), ...newEvents.map((event) => ({ ...event, IsPlayed: false }))],
    instanceId: golden.instanceId,
    isReplaying: true,
    input: JSON.parse(JSON.stringify(golden.input)) as unknown,
    upperSchemaVersion: 1,
    upperSchemaVersionNew: 2,
    longRunningTimerIntervalDuration: '3.00:00:00',
    maximumShortTimerDuration: '6.00:00:00',
    defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
  };
  const context = new InvocationContext({
    invocationId: `golden-${golden.scenario}`,
    functionName: golden.orchestrator,
    options: { trigger: { type: 'orchestrationTrigger', name: 'context' } as never },
    logHandler: () => undefined,
  });
  try {
    return (await handler(payload, context)) as OrchestratorState;
  } catch (error) {
    // A failing orchestrator rejects with its state appended after this marker (the worker's protocol).
    const message = error instanceof Error ? error.message : String(error);
    return { isDone: true, error: message.split('$OutOfProcData$')[0]?.trim() ?? message };
  }
}

/**
 * What the extension checks on replay (DTFx: "Non-deterministic workflow detected"): every action
 * already dispatched is asked for again, in order, with the same type and name. Returns the
 * mismatches in words; empty when the replay is faithful.
 */
export function replayProblems(golden: GoldenHistory, state: OrchestratorState): string[] {
  if (state.error !== undefined) return [`the orchestrator failed: ${state.error}`];
  const actions = actionSignatures(state);
  const problems: string[] = [];
  golden.dispatched.forEach((before, index) => {
    const now = actions[index];
    if (now === undefined || now.type !== before.type || now.name !== before.name) {
      problems.push(`action #${index}: history has type ${before.type} ${before.name ?? ''}, the replay asked for ${now === undefined ? 'nothing' : `type ${now.type} ${now.name ?? ''}`}`);
    }
  });
  return problems;
}
