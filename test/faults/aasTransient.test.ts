import type { BackendFault, BackendKind, BackendOperation, BackendRequestLogEntry } from '../../local/emulators/backends';
import type { ErrorCode } from '../../src/errors';
import { modelName, startAppStack, type AppStack } from '../support/appStack';
import { BACKENDS, runTarget, expectFinalState, ownRefreshes, serviceOf, type FinalStatus } from './invariants';

// Transient faults on every operation, on AAS and on Power BI: bursts of 500/503, dropped
// connections, throttling with Retry-After (Power BI's 429 body is a real answer's), answers slower
// than the client timeout, expired tokens and missing Location headers. Each run still ends as
// documented, submits one refresh at most and leaves nothing running.

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 29 });
});
afterAll(async () => {
  await stack?.stop();
});

interface Row {
  name: string;
  operation: BackendOperation;
  fault: BackendFault;
  /** Only on these backends (default both): where the services differ, the row says why. */
  backends?: BackendKind[];
  times?: number;
  /** Cancel the run once it is refreshing (for faults on cancelRefresh). */
  cancel?: boolean;
  expected?: { status: FinalStatus; code?: ErrorCode; errorText?: string };
  /** For 429: the next call of the operation came no sooner than this (virtual ms). */
  retryAfterMs?: number;
}

const rows: Row[] = [
  { name: '500 burst on inspect (listRefreshes)', operation: 'listRefreshes', fault: { status: 500 }, times: 3 },
  { name: '503 burst on submitRefresh', operation: 'submitRefresh', fault: { status: 503 }, times: 3 },
  { name: '500 burst on polls (getRefresh)', operation: 'getRefresh', fault: { status: 500 }, times: 4 },
  { name: '503 burst on cancelRefresh', operation: 'cancelRefresh', fault: { status: 503 }, times: 2, cancel: true, expected: { status: 'cancelled', code: 'RUN_CANCELLED' } },
  { name: '500 burst on submitSync', operation: 'submitSync', fault: { status: 500 }, times: 3 },
  { name: '503 burst on sync polls (getSync)', operation: 'getSync', fault: { status: 503 }, times: 3 },
  { name: 'connection resets on submitRefresh (before processing)', operation: 'submitRefresh', fault: { kind: 'reset' }, times: 2 },
  { name: 'connection resets on polls', operation: 'getRefresh', fault: { kind: 'reset' }, times: 3 },
  { name: 'connection reset on submitSync', operation: 'submitSync', fault: { kind: 'reset' }, times: 1 },
  { name: 'sync submitted but its answer lost', operation: 'submitSync', fault: { kind: 'resetAfterProcessing' }, times: 1 },
  { name: 'cancel done but its answer lost', operation: 'cancelRefresh', fault: { kind: 'resetAfterProcessing' }, times: 1, cancel: true, expected: { status: 'cancelled', code: 'RUN_CANCELLED' } },
  { name: '429 with Retry-After 120 s on submitRefresh', operation: 'submitRefresh', fault: { status: 429, retryAfterSeconds: 120 }, times: 1, retryAfterMs: 120_000 },
  { name: '429 twice with Retry-After 300 s on polls', operation: 'getRefresh', fault: { status: 429, retryAfterSeconds: 300 }, times: 2, retryAfterMs: 300_000 },
  { name: '429 with Retry-After 90 s on sync polls', operation: 'getSync', fault: { status: 429, retryAfterSeconds: 90 }, times: 1, retryAfterMs: 90_000 },
  // More 429s than Durable's retry budget (5 attempts, 75 s) would survive: each is waited out.
  { name: '429 six times with Retry-After 60 s on the history reads', operation: 'listRefreshes', fault: { status: 429, retryAfterSeconds: 60 }, times: 6, retryAfterMs: 60_000 },
  { name: '429 three times with Retry-After 45 s on submitSync', operation: 'submitSync', fault: { status: 429, retryAfterSeconds: 45 }, times: 3, retryAfterMs: 45_000 },
  {
    name: '429 twice with Retry-After 30 s on cancelRefresh',
    operation: 'cancelRefresh',
    fault: { status: 429, retryAfterSeconds: 30 },
    times: 2,
    cancel: true,
    retryAfterMs: 30_000,
    expected: { status: 'cancelled', code: 'RUN_CANCELLED' },
  },
  { name: 'expired token (401) on polls', operation: 'getRefresh', fault: { kind: 'expireTokens' }, times: 2 },
  { name: 'expired token (401) on submitRefresh', operation: 'submitRefresh', fault: { kind: 'expireTokens' }, times: 1 },
  { name: 'submitRefresh accepted without Location', operation: 'submitRefresh', fault: { kind: 'omitLocation' }, times: 1 },
  {
    name: 'submitSync accepted without Location: the sync cannot be followed',
    operation: 'submitSync',
    fault: { kind: 'omitLocation' },
    times: 1,
    expected: { status: 'failed', code: 'SYNC_FAILED', errorText: 'without an operation id' },
    // AAS only: Power BI's sync answer (200 with the sync status) never has a Location or an
    // operation id to lose; its status is read from the model's one syncStatus resource.
    backends: ['aas'],
  },
  // Real time: the client gives up after AAS_REQUEST_TIMEOUT_SECONDS (5 s in the harness).
  { name: 'submitRefresh slower than the client timeout', operation: 'submitRefresh', fault: { kind: 'delay', ms: 6_000 }, times: 1 },
  // AAS only to spare 6 s of real time: on Power BI a poll that times out is the same lost answer as 'connection resets on polls'.
  { name: 'poll slower than the client timeout', operation: 'getRefresh', fault: { kind: 'delay', ms: 6_000 }, times: 1, backends: ['aas'] },
];

/** How many of the operation's answers the injected fault produced. `log` is one read of the service's request log. */
function faultedAnswers(row: Row, log: BackendRequestLogEntry[], model: string): number {
  const { fault } = row;
  const hits = log.filter((entry) => entry.operation === row.operation && entry.model === model);
  if ('status' in fault) return hits.filter((entry) => entry.status === fault.status).length;
  switch (fault.kind) {
    case 'expireTokens':
      return hits.filter((entry) => entry.status === 401).length;
    // The emulators log status 0 for an answer they never wrote: a reset, or a client that gave up waiting.
    case 'reset':
    case 'resetAfterProcessing':
    case 'delay':
      return hits.filter((entry) => entry.status === 0).length;
    case 'omitLocation': {
      // Without a Location the app finds its refresh in the history: a read after the 202.
      const accepted = log.findIndex((entry) => entry.operation === row.operation && entry.model === model && entry.status === 202);
      if (accepted < 0) return 0;
      if (row.operation === 'submitSync') return 1; // the run's error ("without an operation id") proves it
      return log.slice(accepted + 1).some((entry) => entry.operation === 'listRefreshes' && entry.model === model) ? 1 : 0;
    }
  }
}

describe.each(BACKENDS)('transient faults on %s (virtual time)', (backend) => {
  const service = () => serviceOf(stack, backend);
  // Fields only AAS runs carry: the deprecated aasStatus and syncState, kept because ADF pipelines read them.
  const legacy = backend === 'aas' ? { aasStatus: 'succeeded', syncState: 2 } : {};
  const ours = rows.map((row, index) => [row.name, row, index] as const).filter(([, row]) => row.backends?.includes(backend) ?? true);

  it.each(ours)('%s', async (_name, row, index) => {
    const model = modelName(index + 1);
    service().inject({ operation: row.operation, model, times: row.times ?? 1, fault: row.fault });
    const id = await stack.start({ ...runTarget(stack, model, backend), type: 'full' });
    if (row.cancel === true) {
      await stack.host.runUntilIdle({ maxVirtualMs: 40_000 });
      expect((await stack.run(id)).body.status).toBe('refreshing');
      expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
    }
    await stack.finish(id);
    const expected = row.expected ?? { status: 'succeeded' };
    const done = await expectFinalState(stack, id, model, { ...expected, backend });
    // The fault really happened, as many times as injected: counted on the answers it produced.
    const log = service().requests;
    const hits = log.filter((entry) => entry.operation === row.operation && entry.model === model);
    expect(faultedAnswers(row, log, model)).toBe(row.times ?? 1);
    expect(ownRefreshes(stack, model, backend)).toHaveLength(1);

    if (expected.status === 'succeeded') {
      expect(done.body).toMatchObject({ refreshStatus: 'succeeded', syncStatus: 'succeeded', ...legacy });
    }
    if (row.cancel === true) {
      expect(ownRefreshes(stack, model, backend)[0]?.status).toBe('cancelled');
    }
    if (row.retryAfterMs !== undefined) {
      // Every throttled call was followed by the next one no sooner than Retry-After asked.
      hits.forEach((entry, i) => {
        const next = hits[i + 1];
        if (entry.status === 429) {
          expect(next).toBeDefined();
          expect((next?.at ?? 0) - entry.at).toBeGreaterThanOrEqual(row.retryAfterMs ?? 0);
        }
      });
      expect(hits.filter((entry) => entry.status === 429)).toHaveLength(row.times ?? 1);
    }
  });

  // The code names the service that kept throttling (AAS_THROTTLED, POWERBI_THROTTLED); the rest is the same.
  it('throttled on the submit eleven times in a row (ten waits, MAX_THROTTLE_WAITS): failed with the service\'s THROTTLED code, each Retry-After waited, nothing submitted', async () => {
    const model = modelName(29);
    service().inject({ operation: 'submitRefresh', model, times: 11, fault: { status: 429, retryAfterSeconds: 30 } });
    const id = await stack.start({ ...runTarget(stack, model, backend), type: 'full' });
    await stack.finish(id);
    const code = backend === 'aas' ? 'AAS_THROTTLED' : 'POWERBI_THROTTLED';
    await expectFinalState(stack, id, model, { status: 'failed', code, submitted: 0, backend });
    const submits = service().requests.filter((entry) => entry.operation === 'submitRefresh' && entry.model === model);
    expect(submits.map((entry) => entry.status)).toEqual(Array.from({ length: 11 }, () => 429));
    submits.slice(1).forEach((entry, i) => expect(entry.at - (submits[i]?.at ?? 0)).toBeGreaterThanOrEqual(30_000));
  });
});
