import { randomUUID } from 'node:crypto';
import { addRecentRun, RECENT_RUNS_KEPT, runListKey, withoutRuns, type RecentRunsState } from '../../src/api/recentRuns';
import { newRunId } from '../../src/api/runList';
import { OrchestrationRuntimeStatus, type DurableClient } from 'durable-functions';
import { createApi } from '../../src/api/handlers';
import { parseRunRequest } from '../../src/api/requestSchema';
import { loadConfig } from '../../src/config/config';
import type { BackendClients } from '../../src/refresh/registry';

/**
 * The recent-runs index's state (src/api/recentRuns.ts): signals reach the entity in any order
 * (several instances of the app, a retried call), and whatever the order the state is the newest
 * runs of every model, newest first, each once, at most RECENT_RUNS_KEPT.
 */
const at = (minute: number, model = 'srv|Sales') => newRunId(model, randomUUID(), Date.UTC(2026, 11, 1, 0, minute));

describe('the recent-runs index', () => {
  it('keeps the newest runs of every model newest first, whatever order the signals arrive in', () => {
    const runs = [at(1, 'a'), at(2, 'b'), at(3, 'c'), at(4, 'a'), at(5, 'b')];
    const arrival = [runs[3], runs[0], runs[4], runs[2], runs[1]] as string[];
    const state = arrival.reduce<RecentRunsState>((current, id) => addRecentRun(current, id), { ids: [] });
    expect(state.ids).toEqual([...runs].reverse());
  });

  it('drops the oldest past its size, and a signal of a run older than all it keeps changes nothing', () => {
    const runs = Array.from({ length: 5 }, (_, i) => at(10 + i));
    const full = runs.reduce<RecentRunsState>((current, id) => addRecentRun(current, id, 3), { ids: [] });
    expect(full.ids).toEqual([runs[4], runs[3], runs[2]]);
    expect(addRecentRun(full, at(1), 3)).toEqual(full);
  });

  it('adds a run once however often it is signalled, ignores ids without a time, and forgets runs that are gone', () => {
    const id = at(7);
    const once = addRecentRun(addRecentRun({ ids: [] }, id), id);
    expect(once.ids).toEqual([id]);
    expect(addRecentRun(once, randomUUID())).toEqual(once);
    expect(runListKey(randomUUID())).toBeUndefined();
    const other = at(8);
    expect(withoutRuns(addRecentRun(once, other), [id]).ids).toEqual([other]);
  });

  it('a full index of run ids stays under the 60 KB of UTF-16 that Azure Storage keeps in the table row', () => {
    const full = Array.from({ length: RECENT_RUNS_KEPT }, (_, i) => at(i)).reduce<RecentRunsState>((current, id) => addRecentRun(current, id), { ids: [] });
    expect(full.ids).toHaveLength(RECENT_RUNS_KEPT);
    // The entity's scheduler state holds the state as a JSON string inside JSON (quotes escaped).
    const stored = JSON.stringify({ exists: true, state: JSON.stringify(full) });
    expect(stored.length * 2).toBeLessThan(60 * 1024);
  });
});

/**
 * A run refused at its claim but kept (it still delivers its callback) is listed like a started
 * one; when the index's signal fails, startRun says so (the POST handler and the schedules log
 * `run.unlisted` from it), as it does for a started run.
 */
describe('a refused run kept in the task hub whose index signal failed', () => {
  const config = loadConfig({ AUTH_MODE: 'managedIdentity', AAS_ALLOWED_HOSTS: '*.asazure.windows.net' });
  const backends = { forTarget: () => ({ resolveTarget: (target: unknown) => Promise.resolve(target) }) } as unknown as BackendClients;
  const parsed = parseRunRequest({ server: 'asazure://westeurope.asazure.windows.net/myserver', model: 'Sales', onConflict: 'wait', sync: false }, config, 'http');
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const request = parsed.request;

  /** A task hub in which the run is refused busy (holder `other-run`) and stays Running. */
  function refusingClient(signal: () => Promise<void>) {
    const signalled: string[] = [];
    const client = {
      startNew: () => Promise.resolve(''),
      getStatus: () => Promise.resolve({ runtimeStatus: OrchestrationRuntimeStatus.Running, customStatus: { claim: { state: 'busy', holder: 'other-run' } } }),
      signalEntity: (_entity: unknown, _operation: string, input: string) => {
        signalled.push(input);
        return signal();
      },
    } as unknown as DurableClient;
    return { client, signalled };
  }

  it('names the run unlisted when the signal fails', async () => {
    const { client, signalled } = refusingClient(() => Promise.reject(new Error('503')));
    const outcome = await createApi({ config, backends }).startRun(client, request);
    expect(outcome).toMatchObject({ kind: 'busy', activeRunId: 'other-run', unlistedRunId: signalled[0] });
    expect(signalled).toHaveLength(1);
  });

  it('says nothing of it when the signal was enqueued', async () => {
    const { client, signalled } = refusingClient(() => Promise.resolve());
    const outcome = await createApi({ config, backends }).startRun(client, request);
    expect(outcome.kind).toBe('busy');
    expect(outcome).not.toHaveProperty('unlistedRunId');
    expect(signalled).toHaveLength(1);
  });
});
