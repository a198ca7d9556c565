import type { DurableOrchestrationStatus } from 'durable-functions';
import { toRunView } from '../../src/api/runView';

// The run view for either backend, from what the task hub stores: runs written before the backend
// port (no `backend`, aasStatus and a numeric syncState in the output) show the neutral fields and
// keep the AAS compatibility ones; Power BI runs have the neutral fields only; a backend's error
// code comes with its neutral kind.

const refresh = { type: 'full', commitMode: 'transactional', maxParallelism: 10, retryCount: 0, objects: [] };
const options = { refresh, sync: true, timeoutMs: 3_600_000, onConflict: 'fail', source: 'http', polling: { minIntervalMs: 30_000, maxIntervalMs: 600_000 } };
const base = { statusCalls: 3, executions: 1, objects: [], messages: [], startedAt: '2026-01-05T02:00:00.000Z', deadline: '2026-01-05T03:00:00.000Z', endedAt: '2026-01-05T02:10:00.000Z' };

function completed(request: Record<string, unknown>, output: Record<string, unknown>): DurableOrchestrationStatus {
  return {
    name: 'refreshOrchestrator',
    instanceId: 'run-1',
    createdTime: new Date('2026-01-05T02:00:00.000Z'),
    lastUpdatedTime: new Date('2026-01-05T02:10:00.000Z'),
    input: { request: { ...options, ...request } },
    output: { ...base, ...output },
    runtimeStatus: 'Completed',
    customStatus: null,
  } as unknown as DurableOrchestrationStatus;
}

describe('run view', () => {
  it('reads a run stored before the backend port as AAS, neutral fields and compatibility fields both', () => {
    const view = toRunView(completed({ server: 'asazure://westeurope.asazure.windows.net/srv', model: 'Sales' }, { status: 'succeeded', aasStatus: 'succeeded', syncState: 2 }));
    expect(view).toMatchObject({ backend: 'aas', server: 'asazure://westeurope.asazure.windows.net/srv', model: 'Sales', status: 'succeeded', refreshStatus: 'succeeded', aasStatus: 'succeeded', syncStatus: 'succeeded', syncState: 2 });
  });

  it('shows a Power BI run with its names and resolved ids, and no AAS fields', () => {
    const target = { backend: 'powerbi', workspace: 'Finance', semanticModel: 'Sales', workspaceId: 'a1b2c3d4-0000-4000-8000-000000000001', semanticModelId: 'a1b2c3d4-0000-4000-8000-000000000002' };
    const view = toRunView(completed(target, { status: 'succeeded', refreshStatus: 'succeeded', syncStatus: 'succeeded', syncServiceState: 'Enabled' }));
    expect(view).toMatchObject({ ...target, refreshStatus: 'succeeded', syncStatus: 'succeeded' });
    expect(view).not.toHaveProperty('aasStatus');
    expect(view).not.toHaveProperty('syncState');
    expect(view).not.toHaveProperty('server');
  });

  it.each([
    ['AAS_NOT_FOUND', 'notFound'],
    ['POWERBI_CONFLICT', 'conflict'],
    ['POWERBI_THROTTLED', 'throttled'],
    ['AAS_UNAUTHORIZED', 'unauthorized'],
  ])('gives the error %s its kind %s', (code, kind) => {
    const view = toRunView(completed({ server: 'asazure://westeurope.asazure.windows.net/srv', model: 'Sales' }, { status: 'failed', error: { code, message: 'x' } }));
    expect(view?.error).toEqual({ code, message: 'x', kind });
  });

  it('gives no kind to the app’s own codes', () => {
    const view = toRunView(completed({ server: 'asazure://westeurope.asazure.windows.net/srv', model: 'Sales' }, { status: 'failed', error: { code: 'MODEL_BUSY', message: 'busy' } }));
    expect(view?.error).toEqual({ code: 'MODEL_BUSY', message: 'busy' });
  });
});
