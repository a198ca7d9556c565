import { modelName, startAppStack, type AppStack } from '../support/appStack';
import { stepUntil } from '../support/virtualTime';
import { BACKENDS, expectFinalState, runTarget, SERVER, serviceOf, serviceRequestsOf } from './invariants';

// The durable host's own faults: an activity delivered twice (at-least-once) and the host
// restarted on the same durable state in the middle of a run, on AAS and on Power BI.

let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack({ modelCount: 10, persistentState: true });
});
afterAll(async () => {
  await stack?.stop();
});

/** Lets virtual time pass, timer by timer, until the run shows the status. */
async function until(id: string, status: string): Promise<void> {
  await stepUntil(stack.host, async () => (await stack.run(id)).body.status === status, `run ${id} ${status}`);
}

describe.each(BACKENDS)('on %s', (backend) => {
  const service = () => serviceOf(stack, backend);
  const target = (model: string) => runTarget(stack, model, backend);
  const requestsOf = (operation: Parameters<typeof serviceRequestsOf>[1], model: string) => serviceRequestsOf(stack, operation, model, backend);

  describe('activity run twice', () => {
    const rows: { activity: string; cancel?: boolean }[] = [
      { activity: 'inspectModel' },
      { activity: 'submitRefresh' },
      { activity: 'getRefreshStatus' },
      { activity: 'cancelRefresh', cancel: true },
      { activity: 'submitSync' },
    ];
    it.each(rows.map((row, index) => [row.activity, row, index] as const))('%s delivered twice: still exactly one refresh', async (activity, row, index) => {
      const model = modelName(index + 1);
      const id = await stack.start({ ...target(model) });
      if (row.cancel === true) {
        await until(id, 'refreshing');
        stack.host.faults.duplicateNextActivity(activity);
        expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
      } else {
        stack.host.faults.duplicateNextActivity(activity);
      }
      await stack.finish(id);
      if (row.cancel === true) {
        await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', submitted: 1, backend });
        expect(requestsOf('cancelRefresh', model)).toHaveLength(2);
        expect(service().refreshes(SERVER, model)[0]?.status).toBe('cancelled');
      } else {
        await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1, backend });
      }
      expect(requestsOf('submitRefresh', model)).toHaveLength(1);
      if (activity === 'submitSync') expect(requestsOf('submitSync', model)).toHaveLength(2);
    });

    it('submit answer lost and the submit delivered twice: one refresh, adopted', async () => {
      const model = modelName(6);
      service().inject({ operation: 'submitRefresh', model, fault: { kind: 'resetAfterProcessing' } });
      stack.host.faults.duplicateNextActivity('submitRefresh');
      const id = await stack.start({ ...target(model) });
      await stack.finish(id);
      const done = await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1, backend });
      expect(done.body.adopted).toBe(true);
    });
  });

  describe('host restarted on the same durable state', () => {
    it('while refreshing: the run resumes and succeeds with one refresh', async () => {
      const model = modelName(7);
      service().setTable(SERVER, model, 'FactSales', { durationMs: 30 * 60_000 });
      const id = await stack.start({ ...target(model) });
      await until(id, 'refreshing');
      await stack.host.runUntilIdle({ maxVirtualMs: 5 * 60_000 });
      await stack.restartHost();
      await stack.finish(id);
      await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1, backend });
      expect(requestsOf('submitRefresh', model)).toHaveLength(1);
    });

    it('while syncing: the run resumes and succeeds without another refresh', async () => {
      const model = modelName(8);
      const id = await stack.start({ ...target(model) });
      // Virtual time stands still while the host restarts, so the sync is still running after it.
      await until(id, 'syncing');
      await stack.restartHost();
      await stack.finish(id);
      const done = await expectFinalState(stack, id, model, { status: 'succeeded', submitted: 1, backend });
      expect(done.body.syncStatus).toBe('succeeded');
      expect(requestsOf('submitRefresh', model)).toHaveLength(1);
      expect(requestsOf('submitSync', model)).toHaveLength(1);
    });

    it('cancelled after a restart: the refresh is cancelled at the service', async () => {
      const model = modelName(9);
      service().setTable(SERVER, model, 'FactSales', { durationMs: 30 * 60_000 });
      const id = await stack.start({ ...target(model) });
      await until(id, 'refreshing');
      await stack.restartHost();
      expect((await stack.request('DELETE', `refreshes/${id}`)).status).toBe(202);
      await stack.finish(id);
      await expectFinalState(stack, id, model, { status: 'cancelled', code: 'RUN_CANCELLED', submitted: 1, backend });
      expect(service().refreshes(SERVER, model)[0]?.status).toBe('cancelled');
    });
  });
});
