import { kindOf } from '../../../src/errors';
import type { RefreshTarget } from '../../../src/refresh/target';
import type { RefreshRequest } from '../../../src/refresh/types';
import { startContractStack, type BackendHarness, type ContractStack } from './harnesses';

// One table of behaviours every backend adapter keeps (issue 14: "one table-driven contract
// suite run against each backend"): the same calls through the port, the same neutral answers,
// whatever the service says in its own words. Each row runs against AAS and Power BI.

let stack: ContractStack;
beforeAll(async () => {
  stack = await startContractStack();
});
afterAll(async () => stack.close());
afterEach(() => stack.harnesses.forEach((harness) => harness.reset()));

const oneTable: RefreshRequest = { type: 'full', commitMode: 'transactional', maxParallelism: 10, retryCount: 0, objects: [{ table: 'DimDate' }] };

async function rejectionOf(promise: Promise<unknown>): Promise<Error & { retryable?: boolean; retryAfterMs?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

async function resolved(harness: BackendHarness): Promise<RefreshTarget> {
  return harness.client.resolveTarget(harness.backend.parseTarget(harness.requestTarget, stack.config));
}

/** Each row: what a user of the port may rely on, for any backend. */
const CONTRACT: Array<[string, (harness: BackendHarness) => Promise<void>]> = [
  [
    'a submitted refresh goes notStarted → inProgress → succeeded, with its objects, and is in the history under its id',
    async (harness) => {
      harness.setPartitionDurationMs(10_000);
      const target = await resolved(harness);
      const { refreshId } = await harness.client.submitRefresh(target, oneTable);
      expect(refreshId).toEqual(expect.any(String));
      const id = refreshId as string;
      expect((await harness.client.getRefresh(target, id)).status).toBe('notStarted');
      harness.clock.advanceBy(4_000);
      expect((await harness.client.getRefresh(target, id)).status).toBe('inProgress');
      harness.clock.advanceBy(15_000);
      const done = await harness.client.getRefresh(target, id);
      expect(done).toMatchObject({ refreshId: id, status: 'succeeded', objects: [expect.objectContaining({ table: 'DimDate', status: 'succeeded' })] });
      const history = await harness.client.listRefreshes(target);
      expect(history.find((row) => row.refreshId === id)).toMatchObject({ status: 'succeeded' });
    },
  ],
  [
    'a refresh someone else runs is active in the history, and a submit meanwhile is kind conflict, not retryable',
    async (harness) => {
      const target = await resolved(harness);
      harness.startOutsideRefresh(600_000);
      harness.clock.advanceBy(3_000);
      expect((await harness.client.listRefreshes(target)).some((row) => row.status === 'inProgress' || row.status === 'notStarted')).toBe(true);
      const error = await rejectionOf(harness.client.submitRefresh(target, oneTable));
      expect(kindOf(error)).toBe('conflict');
      expect(error.retryable).toBe(false);
      harness.clock.advanceBy(600_000);
    },
  ],
  [
    'a cancelled running refresh ends cancelled',
    async (harness) => {
      harness.setPartitionDurationMs(600_000);
      const target = await resolved(harness);
      const { refreshId = '' } = await harness.client.submitRefresh(target, oneTable);
      harness.clock.advanceBy(5_000);
      await harness.client.cancelRefresh(target, refreshId);
      harness.clock.advanceBy(1_000);
      expect((await harness.client.getRefresh(target, refreshId)).status).toBe('cancelled');
    },
  ],
  [
    'an unknown refresh id is kind notFound',
    async (harness) => {
      const target = await resolved(harness);
      expect(kindOf(await rejectionOf(harness.client.getRefresh(target, '00000000-0000-4000-8000-000000000000')))).toBe('notFound');
    },
  ],
  [
    '429 is kind throttled with the Retry-After in milliseconds; 503 is kind transient; both retryable, neither retried by the client',
    async (harness) => {
      const target = await resolved(harness);
      const before = harness.callsOf('listRefreshes');
      harness.throttleNext('listRefreshes', 20);
      const throttled = await rejectionOf(harness.client.listRefreshes(target));
      expect([kindOf(throttled), throttled.retryable, throttled.retryAfterMs]).toEqual(['throttled', true, 20_000]);
      harness.failNext('listRefreshes');
      const unavailable = await rejectionOf(harness.client.listRefreshes(target));
      expect([kindOf(unavailable), unavailable.retryable]).toEqual(['transient', true]);
      expect(harness.callsOf('listRefreshes') - before).toBe(2);
      expect(await harness.client.listRefreshes(target)).toEqual(expect.any(Array));
    },
  ],
  [
    'a refused token (401) is kind unauthorized and retryable; the next call fetches a new token and succeeds',
    async (harness) => {
      const target = await resolved(harness);
      harness.refuseTokenNext('listRefreshes');
      const refused = await rejectionOf(harness.client.listRefreshes(target));
      expect([kindOf(refused), refused.retryable]).toEqual(['unauthorized', true]);
      const tokenCalls = stack.emulators.identity.requests.filter((entry) => entry.kind === 'token').length;
      expect(await harness.client.listRefreshes(target)).toEqual(expect.any(Array));
      expect(stack.emulators.identity.requests.filter((entry) => entry.kind === 'token').length).toBe(tokenCalls + 1);
    },
  ],
  [
    'a replica sync after a refresh ends succeeded',
    async (harness) => {
      harness.setPartitionDurationMs(5_000);
      const target = await resolved(harness);
      await harness.client.submitRefresh(target, oneTable);
      harness.clock.advanceBy(30_000);
      expect(harness.backend.supportsSync).toBe(true);
      const { operationId } = await harness.client.submitSync!(target);
      expect(operationId).toEqual(expect.any(String));
      harness.clock.advanceBy(120_000);
      expect((await harness.client.getSync!(target, operationId as string)).status).toBe('succeeded');
    },
  ],
  [
    'a bad target is refused by parseTarget (pure: no call, no token), as kind rejected',
    async (harness) => {
      let error: unknown;
      try {
        harness.backend.parseTarget(harness.badTarget.target, stack.config);
      } catch (caught) {
        error = caught;
      }
      expect(kindOf(error)).toBe('rejected');
      expect((error as Error).message).toMatch(harness.badTarget.message);
    },
  ],
  [
    'two spellings of one model share one run-per-model key',
    async (harness) => {
      const keys = await Promise.all(harness.sameModelSpellings.map(async (spelling) => harness.backend.modelKey(await harness.client.resolveTarget(harness.backend.parseTarget(spelling, stack.config)))));
      expect(keys[0]).toBe(keys[1]);
    },
  ],
];

describe.each(['AAS', 'Power BI'])('backend contract: %s', (name) => {
  const harness = () => stack.harnesses.find((candidate) => candidate.name === name) as BackendHarness;
  it.each(CONTRACT)('%s', async (_behaviour, check) => check(harness()));
});
