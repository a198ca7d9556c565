import { InvocationContext } from '@azure/functions';
import { Agent } from 'undici';
import { createActivities } from '../../src/activities/activities';
import type { BackendClient } from '../../src/refresh/port';
import type { BackendClients } from '../../src/refresh/registry';
import type { RefreshTarget } from '../../src/refresh/target';

// A deploy can hand today's activities an input an older build scheduled: `{ model: { server,
// model } }` instead of `{ target }`. Such an input is an AAS target.

const server = 'asazure://westeurope.asazure.windows.net/myserver';

function recordingActivities(targets: RefreshTarget[]) {
  const client: BackendClient = {
    resolveTarget: async (given) => given,
    listRefreshes: async (target) => {
      targets.push(target);
      return [];
    },
    getRefresh: async (target, refreshId) => {
      targets.push(target);
      return { refreshId, status: 'inProgress', objects: [], messages: [] };
    },
    cancelRefresh: async (target) => {
      targets.push(target);
    },
    submitRefresh: async () => ({}),
    close: async () => undefined,
  };
  const backends = {
    forTarget: (target: RefreshTarget) => {
      if (target.backend !== 'aas') throw new Error(`expected an AAS target, got ${target.backend}`);
      return client;
    },
    close: async () => undefined,
  } as unknown as BackendClients;
  const callbackDispatcher = new Agent();
  return { activities: createActivities({ backends, callbackDispatcher, callbackAllowedHosts: [], callbackTimeoutMs: 1_000 }), close: () => callbackDispatcher.close() };
}

const context = () => new InvocationContext({ invocationId: 'test', functionName: 'activity', logHandler: () => undefined });

it('status, cancel and inspect take an input written before the backend port as AAS', async () => {
  const targets: RefreshTarget[] = [];
  const { activities, close } = recordingActivities(targets);
  const legacy = { model: { server, model: 'Sales' } };
  expect(await activities.getRefreshStatus({ ...legacy, refreshId: 'r-1' }, context())).toMatchObject({ kind: 'status', refresh: { refreshId: 'r-1', status: 'inProgress' } });
  expect(await activities.cancelRefresh({ ...legacy, refreshId: 'r-1' }, context())).toEqual({ kind: 'cancelled' });
  expect(await activities.inspectModel(legacy, context())).toMatchObject({ kind: 'inspected', knownRefreshIds: [] });
  await close();
  expect(targets).toEqual([
    { backend: 'aas', server, model: 'Sales' },
    { backend: 'aas', server, model: 'Sales' },
    { backend: 'aas', server, model: 'Sales' },
  ]);
});
