/**
 * Records the golden histories in this folder from the current orchestrator: the real app on the
 * local durable host (virtual time) against the emulators, stopped at the moments a deploy is most
 * likely to find a run in. Run it only to record deliberately (see docs/operations.md,
 * "Changing the orchestrator"):
 *
 *   node local/run-with-ca.js node -r ./local/durable-host/register-ts.js test/orchestration/golden/record.ts [scenario ...]
 *
 * With scenario names, only those are recorded (a new scenario is added without re-recording the
 * others, whose histories older builds wrote).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { RunProgress } from '../../../src/orchestration/contracts';
import { MODEL_FREED_EVENT } from '../../../src/claims/modelClaim';
import { FunctionNames } from '../../../src/orchestration/contracts';
import { modelName, startAppStack, type AppStack } from '../../support/appStack';
import { stepUntil } from '../../support/virtualTime';
import { HistoryEventType, writeGoldenHistory, type GoldenHistory, type HistoryEvent } from './goldenHistory';

const repoRoot = path.join(__dirname, '..', '..', '..');
const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
const SERVER = 'myserver';
const COMPLETIONS = new Set<number>([HistoryEventType.TaskCompleted, HistoryEventType.TaskFailed, HistoryEventType.TimerFired, HistoryEventType.EventRaised]);

interface Moment {
  execution: number;
  history: HistoryEvent[];
  dispatched: { type: number; name?: string }[];
  input: unknown;
  customStatus: unknown;
}

function moment(stack: AppStack, id: string): Moment {
  const record = stack.host.engine.getInstance(id);
  if (record === undefined) throw new Error(`no instance ${id}`);
  const executions = stack.host.engine.historyOf(id);
  const current = executions.find((entry) => entry.execution === record.execution);
  return {
    execution: record.execution,
    history: JSON.parse(JSON.stringify(current?.events ?? [])) as HistoryEvent[],
    dispatched: record.dispatched.map((action) => ({ type: action.type, ...(action.name === undefined ? {} : { name: action.name }) })),
    input: JSON.parse(JSON.stringify(record.input)) as unknown,
    customStatus: JSON.parse(JSON.stringify(record.customStatus)) as unknown,
  };
}

const progressOf = (stack: AppStack, id: string) => stack.host.engine.getInstance(id)?.customStatus as RunProgress | undefined;

/** The events the host appended after `before`, up to and including the first completion it delivered. */
function nextEvents(before: Moment, after: Moment): HistoryEvent[] {
  const added = after.history.slice(before.history.length);
  const completion = added.findIndex((event) => COMPLETIONS.has(event.EventType));
  if (completion < 0) throw new Error('the host delivered nothing after the recorded moment');
  const started = added.slice(0, completion).map((event) => event.EventType).lastIndexOf(HistoryEventType.OrchestratorStarted);
  return added.slice(Math.max(0, started), completion + 1);
}

/** The scenarios named on the command line; none: all. */
const only = new Set(process.argv.slice(2));
const wanted = (scenario: string) => only.size === 0 || only.has(scenario);

async function save(stack: AppStack, id: string, scenario: string, description: string, advance: () => Promise<void>): Promise<void> {
  if (!wanted(scenario)) {
    await advance();
    return;
  }
  const at = moment(stack, id);
  await advance();
  const executionThen = stack.host.engine.historyOf(id).find((entry) => entry.execution === at.execution);
  const after: Moment = { ...at, history: (executionThen?.events ?? []) as HistoryEvent[] };
  const golden: GoldenHistory = {
    scenario,
    description,
    recordedWith: { version, commit },
    orchestrator: FunctionNames.refreshOrchestrator,
    instanceId: id,
    execution: at.execution,
    input: at.input,
    history: at.history,
    dispatched: at.dispatched,
    next: nextEvents(at, after),
    customStatus: at.customStatus,
  };
  console.log(`${scenario}: ${golden.history.length} events, ${golden.dispatched.length} actions -> ${writeGoldenHistory(golden)}`);
}

/** Lets timers fire, one at a time, until the run has been handed its next event. */
const nextTimer = (stack: AppStack, id: string) => async () => {
  const record = stack.host.engine.getInstance(id);
  const execution = record?.execution ?? 0;
  const length = stack.host.engine.historyOf(id).find((entry) => entry.execution === execution)?.events.length ?? 0;
  const delivered = () =>
    (stack.host.engine.historyOf(id).find((entry) => entry.execution === execution)?.events ?? [])
      .slice(length)
      .some((event) => COMPLETIONS.has((event as HistoryEvent).EventType));
  await stepUntil(stack.host, delivered, `the next event of ${id}`);
};

/** The current execution's history of a run. */
function eventsOf(stack: AppStack, id: string): HistoryEvent[] {
  const execution = stack.host.engine.getInstance(id)?.execution ?? 0;
  return (stack.host.engine.historyOf(id).find((entry) => entry.execution === execution)?.events ?? []) as HistoryEvent[];
}

/**
 * A run of this app refreshing DimDate of `model` without sync (it holds the model's claim), and a
 * second run (onConflict "wait", DimCustomer: 60 s, polled at least once) queued behind it on the claim, started `offsetMs` after the
 * holder's submit: off the holder's 30 s polls, so the holder's end and the waiting run's backstop
 * never fall on the same instant.
 */
async function queueBehindHolder(stack: AppStack, model: string, offsetMs: number): Promise<{ holder: string; id: string }> {
  const holder = await stack.start({ server: stack.server, model, objects: [{ table: 'DimDate' }], sync: false });
  await stepUntil(stack.host, () => progressOf(stack, holder)?.phase === 'refreshing', 'the holder refreshing');
  const queueAt = stack.clock.now() + offsetMs;
  await stack.host.runUntilIdle({ maxVirtualMs: offsetMs });
  stack.clock.advanceTo(Math.max(queueAt, stack.clock.now()));
  if ((progressOf(stack, holder)?.statusCalls ?? 0) > 0) throw new Error('the holder polled before the second run queued');
  const id = await stack.start({ server: stack.server, model, objects: [{ table: 'DimCustomer' }], sync: false, onConflict: 'wait' });
  await stepUntil(stack.host, () => progressOf(stack, id)?.claim?.state === 'queued', 'queued on the claim');
  return { holder, id };
}

/** The holder ended and the waiting run was woken by modelFreed (not by its backstop timer). */
async function expectWoken(stack: AppStack, holder: string, id: string): Promise<void> {
  const ended = (await stack.run(holder)).body.status;
  if (ended !== 'succeeded') throw new Error(`the holder ${holder} is ${String(ended)}, expected succeeded`);
  const raised = eventsOf(stack, id).filter((event) => event.EventType === HistoryEventType.EventRaised).map((event) => event.Name);
  if (!raised.includes(MODEL_FREED_EVENT)) throw new Error(`${id} was not woken by ${MODEL_FREED_EVENT} (events raised: ${raised.join(', ')})`);
}

/** The woken run refreshes to the end: succeeded. */
async function expectSucceeded(stack: AppStack, id: string): Promise<void> {
  await stepUntil(stack.host, () => stack.host.engine.getInstance(id)?.status === 'Completed', `${id} completed`);
  const status = (await stack.run(id)).body.status;
  if (status !== 'succeeded') throw new Error(`${id} ended ${String(status)}, expected succeeded`);
}

async function main(): Promise<void> {
  const stack = await startAppStack({ modelCount: 10 });
  try {
    const { emulators } = stack;

    // A refresh mid-poll: submitted, polled twice, waiting for the next poll.
    {
      const id = await stack.start({ server: stack.server, model: modelName(1), type: 'full' });
      await stepUntil(stack.host, () => progressOf(stack, id)?.phase === 'refreshing' && (progressOf(stack, id)?.statusCalls ?? 0) >= 2, 'mid-poll');
      await save(stack, id, 'midPoll', 'Full refresh with sync; the refresh was polled twice and the run waits for its next poll.', nextTimer(stack, id));
    }

    // Mid-sync: the refresh succeeded, the sync was submitted and polled once.
    {
      emulators.aas.setSyncBehaviour(SERVER, modelName(2), { durationMs: 10 * 60_000 });
      const id = await stack.start({ server: stack.server, model: modelName(2), objects: [{ table: 'DimDate' }] });
      let statusCallsAtSync = -1;
      await stepUntil(
        stack.host,
        () => {
          const progress = progressOf(stack, id);
          if (progress?.phase !== 'syncing') return false;
          if (statusCallsAtSync < 0) statusCallsAtSync = progress.statusCalls;
          return progress.statusCalls > statusCallsAtSync;
        },
        'mid-sync',
      );
      await save(stack, id, 'midSync', 'The refresh succeeded; the replica sync was submitted and polled once; the run waits for the next sync poll.', nextTimer(stack, id));
    }

    // Waiting on a busy model: someone else's refresh runs, onConflict "wait".
    {
      emulators.aas.startOutsideRefresh(SERVER, modelName(3), { durationMs: 3_600_000 });
      const id = await stack.start({ server: stack.server, model: modelName(3), onConflict: 'wait' });
      let waits = 0;
      await stepUntil(
        stack.host,
        () => {
          if (progressOf(stack, id)?.phase === 'waiting') waits += 1;
          return waits >= 3;
        },
        'waiting on a busy model',
      );
      await save(stack, id, 'waitingOnBusyModel', 'Another refresh runs on the model (onConflict "wait"); the run found it busy and waits before looking again.', nextTimer(stack, id));
    }

    // After continueAsNew: a long refresh, the second execution polling.
    {
      emulators.aas.setTable(SERVER, modelName(4), 'FactSales', { durationMs: 8 * 3_600_000 });
      const id = await stack.start({ server: stack.server, model: modelName(4), objects: [{ table: 'FactSales' }], timeout: 'PT12H' });
      let statusCallsAtNewExecution = -1;
      await stepUntil(
        stack.host,
        () => {
          if ((stack.host.engine.getInstance(id)?.execution ?? 0) < 1) return false;
          const statusCalls = progressOf(stack, id)?.statusCalls ?? 0;
          if (statusCallsAtNewExecution < 0) statusCallsAtNewExecution = statusCalls;
          return statusCalls > statusCallsAtNewExecution;
        },
        'after continueAsNew',
      );
      await save(stack, id, 'afterContinueAsNew', 'A long refresh: the run continued as new after 20 polls; the new execution polled once and waits for the next poll.', nextTimer(stack, id));
    }

    // Cancelled: DELETE while refreshing; the cancel reached AAS, its answer not yet recorded.
    {
      const model = modelName(5);
      const id = await stack.start({ server: stack.server, model });
      await stepUntil(stack.host, () => progressOf(stack, id)?.phase === 'refreshing' && (progressOf(stack, id)?.statusCalls ?? 0) >= 1, 'refreshing before the cancel');
      let release: () => void = () => undefined;
      let reached: () => void = () => undefined;
      const cancelReached = new Promise<void>((resolve) => {
        reached = resolve;
      });
      emulators.aas.holdAnswers((entry) => {
        if (entry.operation !== 'cancelRefresh' || entry.model !== model) return undefined;
        reached();
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      });
      const answer = await stack.request('DELETE', `refreshes/${id}`);
      if (answer.status !== 202) throw new Error(`DELETE answered ${answer.status}`);
      const draining = stack.host.runUntilIdle({ maxVirtualMs: 0 });
      await cancelReached;
      await save(stack, id, 'cancelled', 'DELETE while refreshing: the cancel event arrived and the run asked AAS to cancel the refresh; the answer is still on its way.', async () => {
        emulators.aas.holdAnswers(undefined);
        release();
        await draining;
        await stack.host.runUntilIdle({ maxVirtualMs: 0 });
      });
    }

    // Queued behind another run of this app on the model (onConflict "wait").
    {
      const model = modelName(6);
      const first = await stack.start({ server: stack.server, model });
      await stepUntil(stack.host, () => progressOf(stack, first)?.phase === 'refreshing', 'first run refreshing');
      const id = await stack.start({ server: stack.server, model, onConflict: 'wait' });
      await stepUntil(stack.host, () => progressOf(stack, id)?.phase === 'waiting' && progressOf(stack, id)?.lastIssue?.code === 'MODEL_BUSY', 'queued behind a run');
      await save(stack, id, 'queuedBehindRun', 'A second run of this app for a model another run is refreshing: it waits for that run to end.', nextTimer(stack, id));
    }

    // A Power BI semantic model mid-poll (names resolved at POST, the ids recorded in the input).
    {
      const id = await stack.start({ workspace: SERVER, semanticModel: modelName(8), type: 'full' });
      await stepUntil(stack.host, () => progressOf(stack, id)?.phase === 'refreshing' && (progressOf(stack, id)?.statusCalls ?? 0) >= 2, 'Power BI mid-poll');
      await save(stack, id, 'powerBiMidPoll', 'A Power BI semantic model (workspace and semanticModel by name, resolved to ids at POST), full refresh with sync; polled twice, waiting for the next poll.', nextTimer(stack, id));
    }

    // The outcome is decided and the callback receiver answers 503: the callback is being retried.
    {
      stack.callbackStatus.code = 503;
      const id = await stack.start({ server: stack.server, model: modelName(7), objects: [{ table: 'DimDate' }], sync: false, callbackUrl: stack.callbackUrl });
      await stepUntil(stack.host, () => progressOf(stack, id)?.outcome !== undefined && stack.callbacks.length >= 1, 'callback failing');
      await save(stack, id, 'callbackRetrying', 'The refresh succeeded and the outcome is decided; the callback receiver answered 503 and the callback waits to be retried.', nextTimer(stack, id));
      stack.callbackStatus.code = 200;
    }

    // Queued on the model's claim (docs/scale-out.md): a run of this app holds the model, a second
    // one (onConflict "wait") waits in the claim's queue and is woken by the holder's modelFreed.
    {
      const model = modelName(9);
      const { holder, id } = await queueBehindHolder(stack, model, 10_000);
      await save(stack, id, 'queuedOnClaim', "Queued on the model's claim behind a run of this app that refreshes the model (onConflict \"wait\"); the holder ends and its modelFreed wakes the run.", nextTimer(stack, id));
      await expectWoken(stack, holder, id);
      await stepUntil(stack.host, () => progressOf(stack, id)?.phase === 'refreshing' && (progressOf(stack, id)?.statusCalls ?? 0) >= 1, 'woken run polling');
      await save(stack, id, 'wokenOnClaim', "Woken from the claim's queue by modelFreed: the model granted, the refresh submitted and polled once; the run waits for its next poll.", nextTimer(stack, id));
      await expectSucceeded(stack, id);
    }

    // Queued on the claim, the backstop timer fired once (the holder still running, so the run
    // queued again) before modelFreed wakes it.
    {
      const model = modelName(10);
      // Past the waiting run's first backstop (30 s after it queued), before its second (90 s).
      emulators.aas.setTable(SERVER, model, 'DimDate', { durationMs: 45_000 });
      const { holder, id } = await queueBehindHolder(stack, model, 10_000);
      await stepUntil(stack.host, () => eventsOf(stack, id).some((event) => event.EventType === HistoryEventType.TimerFired) && progressOf(stack, id)?.claim?.state === 'queued', 'queued again after the backstop');
      await save(stack, id, 'queuedOnClaimBackstop', "Queued on the model's claim behind a run of this app; the backstop timer fired once, the holder was still running, the run claimed again and waits; the holder ends and its modelFreed wakes the run.", nextTimer(stack, id));
      await expectWoken(stack, holder, id);
      await expectSucceeded(stack, id);
    }
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
