import type { DurableOrchestrationStatus } from 'durable-functions';
import { runStartedAt } from '../../src/api/runLookup';
import { toRunView } from '../../src/api/runView';
import type { LegacyRunRequest, OrchestrationInput, RunProgress } from '../../src/orchestration/contracts';

// Azure Storage's tracking store overwrites an instance's CreatedTime with the start of each new
// execution (continueAsNew): a long run then looks newer than the runs queued behind it. The
// app orders runs by their own start, carried in the input and shown in the custom status.

const server = 'asazure://westeurope.asazure.windows.net/myserver';
// As stored before the backend port (no `backend`): such runs still hold their model.
const request = (model: string): LegacyRunRequest => ({
  server,
  model,
  refresh: { type: 'full', commitMode: 'transactional', maxParallelism: 10, retryCount: 0, objects: [] },
  sync: false,
  timeoutMs: 12 * 3_600_000,
  onConflict: 'wait',
  source: 'http',
  polling: { minIntervalMs: 30_000, maxIntervalMs: 600_000 },
});
const progress = (startedAt: string): RunProgress => ({ phase: 'refreshing', startedAt, deadline: '2026-01-06T00:00:00.000Z', objects: [], messages: [], statusCalls: 3, executions: 2 });

/** A run as the Durable client reports it: `createdTime` is what the tracking store says. */
function status(id: string, options: { createdTime: string; startedAt?: string; continued?: boolean; model?: string }): DurableOrchestrationStatus {
  const input: OrchestrationInput = { request: request(options.model ?? 'Sales') };
  if (options.continued === true && options.startedAt !== undefined) input.carried = { progress: progress(options.startedAt), resumeAt: 'pollRefresh', pollingSince: options.startedAt };
  return {
    name: 'refreshOrchestrator',
    instanceId: id,
    createdTime: new Date(options.createdTime),
    lastUpdatedTime: new Date(options.createdTime),
    input,
    output: null,
    runtimeStatus: 'Running',
    customStatus: options.startedAt === undefined ? null : progress(options.startedAt),
  } as unknown as DurableOrchestrationStatus;
}

describe('run order', () => {
  // A started 10:00 and continued as new at 12:00 (its createdTime now says 12:00). Which run goes
  // next on a model is the modelclaim entity's queue (test/scale/modelClaim.test.ts).
  const longRun = status('a-long-run', { createdTime: '2026-01-05T12:00:00.000Z', startedAt: '2026-01-05T10:00:00.000Z', continued: true });

  it('a run not started yet counts from its creation', () => {
    const pending = status('c-pending', { createdTime: '2026-01-05T12:30:00.000Z' });
    expect(runStartedAt(pending).toISOString()).toBe('2026-01-05T12:30:00.000Z');
  });

  it('createdAt in the run view is the run start, not the execution start', () => {
    expect(toRunView(longRun)?.createdAt).toBe('2026-01-05T10:00:00.000Z');
    // The start is carried in the input even before the new execution has published its status.
    expect(toRunView({ ...longRun, customStatus: null } as DurableOrchestrationStatus)?.createdAt).toBe('2026-01-05T10:00:00.000Z');
  });
});
