import { InvocationContext } from '@azure/functions';
import { Agent } from 'undici';
import { createActivities } from '../../src/activities/activities';
import type { BackendClient } from '../../src/refresh/port';
import type { BackendClients } from '../../src/refresh/registry';
import type { RefreshTarget } from '../../src/refresh/target';

// The run's time left (computed by the orchestrator from its own clock) reaches the adapter as the
// per-attempt bound (Power BI's `timeout`), so a run with an 8-hour deadline is not stopped by the
// service's 5-hour default; an input written before it was carried (an older build's) sends none.

const target: RefreshTarget = { backend: 'powerbi', workspace: 'Finance', semanticModel: 'Sales', workspaceId: 'w', semanticModelId: 'm' };
const refresh = { type: 'full' as const, commitMode: 'transactional' as const, maxParallelism: 10, retryCount: 0, objects: [] };

function activitiesRecording(bounds: (number | undefined)[]) {
  const client: BackendClient = {
    resolveTarget: async (given) => given,
    listRefreshes: async () => [],
    getRefresh: async () => {
      throw new Error('not called');
    },
    cancelRefresh: async () => undefined,
    submitRefresh: async (_target, _refresh, attemptTimeoutMs) => {
      bounds.push(attemptTimeoutMs);
      return { refreshId: 'r-1' };
    },
    close: async () => undefined,
  };
  const backends = { forTarget: () => client, close: async () => undefined } as unknown as BackendClients;
  const callbackDispatcher = new Agent();
  return { activities: createActivities({ backends, callbackDispatcher, callbackAllowedHosts: [], callbackTimeoutMs: 1_000 }), close: () => callbackDispatcher.close() };
}

const context = () => new InvocationContext({ invocationId: 'test', functionName: 'submitRefresh', logHandler: () => undefined });

describe('the submit passes the run’s time left to the backend', () => {
  it('as attemptTimeoutMs, as the input gives it', async () => {
    const bounds: (number | undefined)[] = [];
    const { activities, close } = activitiesRecording(bounds);
    const result = await activities.submitRefresh({ target, refresh, knownRefreshIds: [], notBefore: new Date(Date.now() - 2_000).toISOString(), attemptTimeoutMs: 8 * 3_600_000 }, context());
    await close();
    expect(result).toEqual({ kind: 'submitted', refreshId: 'r-1', adopted: false });
    expect(bounds).toEqual([8 * 3_600_000]);
  });

  it('none for an input without it (written by a build before it)', async () => {
    const bounds: (number | undefined)[] = [];
    const { activities, close } = activitiesRecording(bounds);
    await activities.submitRefresh({ target, refresh, knownRefreshIds: [], notBefore: new Date(Date.now() - 2_000).toISOString() }, context());
    await close();
    expect(bounds).toEqual([undefined]);
  });
});
