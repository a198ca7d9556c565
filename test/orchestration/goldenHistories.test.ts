import path from 'node:path';
import { loadApp } from '../../local/durable-host/coreModule';
import { MODEL_FREED_EVENT } from '../../src/claims/modelClaim';
import { FunctionNames } from '../../src/orchestration/contracts';
import { readGoldenHistories, registeredOrchestrators, replay, replayProblems, type GoldenHistory } from './golden/goldenHistory';

// Histories recorded from earlier builds (test/orchestration/golden, recorded with record.ts) must
// replay on today's orchestrator through the real durable-functions replay: a run in flight
// during a deploy continues on the new code. See docs/operations.md, "Changing the orchestrator".

const goldens = readGoldenHistories();
const orchestrators = registeredOrchestrators();

describe('golden histories', () => {
  it('cover the moments a deploy can find a run in', () => {
    expect(goldens.map((golden) => golden.scenario).sort()).toEqual(
      expect.arrayContaining(['afterContinueAsNew', 'callbackRetrying', 'cancelled', 'midPoll', 'midSync', 'powerBiMidPoll', 'queuedBehindRun', 'queuedOnClaim', 'queuedOnClaimBackstop', 'waitingOnBusyModel', 'wokenOnClaim']),
    );
    // A run waiting in the model claim's queue: the step a new build takes first is its wake-up.
    const claimWaits = goldens.filter((golden) => golden.scenario === 'queuedOnClaim' || golden.scenario === 'queuedOnClaimBackstop');
    expect(claimWaits.map((golden) => golden.next.at(-1)?.Name)).toEqual([MODEL_FREED_EVENT, MODEL_FREED_EVENT]);
    for (const golden of goldens) expect(golden.dispatched.length).toBeGreaterThan(0);
  });

  it.each(goldens.map((golden) => [golden.scenario, golden] as const))('%s replays on the orchestrator registered under its name', async (_scenario, golden: GoldenHistory) => {
    const registered = orchestrators.get(golden.orchestrator);
    expect(registered).toBeDefined();
    if (registered === undefined) return;
    // The recorded history as it stands: every dispatched action is asked for again.
    const replayed = await replay(registered.handler, golden);
    expect(replayProblems(golden, replayed)).toEqual([]);
    expect(replayed.isDone).toBe(false);
    // The step a new build takes first after a deploy: the event the host delivered next.
    const stepped = await replay(registered.handler, golden, golden.next);
    expect(replayProblems(golden, stepped)).toEqual([]);
  });

  it('refuse an orchestrator that changed incompatibly (the test can fail)', async () => {
    const mutant = loadApp(path.join(__dirname, 'fixtures', 'changedOrchestratorApp.ts'), () => undefined).find((registered) => registered.metadata.name === 'refreshOrchestratorWithAnExtraStep');
    expect(mutant).toBeDefined();
    if (mutant === undefined) return;
    for (const golden of goldens) {
      const replayed = await replay(mutant.handler, golden);
      expect(replayProblems(golden, replayed)).not.toEqual([]);
    }
  });

  it('were written by the orchestrator name the app still registers', () => {
    expect([...orchestrators.keys()]).toContain(FunctionNames.refreshOrchestrator);
    for (const golden of goldens) expect(orchestrators.has(golden.orchestrator)).toBe(true);
  });
});
