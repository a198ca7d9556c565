import { modelName, testModels } from '../support/appStack';
import { untilTrue } from '../support/virtualTime';
import { CLI_TIMEOUT_MS, spawnCliFromSource, type CliProcess } from './support/cli';
import { servicesForDirect } from './support/direct';

/**
 * `aas-refresh --direct --timeout`: with no app, the deadline is this process's, on the real
 * clock, and the request schema's shortest timeout is PT1M (the app's rule, which --direct
 * applies as it is). So this file takes a minute of real time: the four ways a timeout ends a
 * --direct run run side by side, each on its own model, with the CLI's own polling (no
 * --poll-interval, as a pipeline runs it). The services' refreshes are made to outlast the
 * minute (a table of hours, a sync that never ends) instead of depending on how fast anything runs.
 */
const services = servicesForDirect(testModels(4));
const HOURS = 10 * 3600 * 1000;
const aas = () => services.emulators.aas;
const powerbi = () => services.emulators.powerbi;

async function exitOf(cli: CliProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const code = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

test('--timeout PT1M reached: the AAS and the Power BI refresh are cancelled at the service (one cancel each); a model busy all along gets no submit; a sync still going ends it with the refresh kept; each exits 2 saying which', async () => {
  const [aasModel, powerBiModel, busyModel, syncModel] = [1, 2, 3, 4].map(modelName) as [string, string, string, string];
  const server = services.server();
  aas().setTable('myserver', aasModel, 'FactSales', { durationMs: HOURS });
  const datasetId = services.datasetId(powerBiModel);
  powerbi().setTable(datasetId, 'FactSales', { durationMs: HOURS });
  const outsideId = aas().startOutsideRefresh('myserver', busyModel, { durationMs: HOURS });
  aas().setSyncBehaviour('myserver', syncModel, { durationMs: HOURS });

  const timeout = ['--timeout', 'PT1M', '--wait'];
  const refreshing = spawnCliFromSource(['refresh', '--direct', '--server', server, '--model', aasModel, '--no-sync', ...timeout], services.env);
  const powerBi = spawnCliFromSource(['refresh', '--direct', '--workspace', 'myserver', '--semantic-model', powerBiModel, '--no-sync', ...timeout], services.env);
  const busy = spawnCliFromSource(['refresh', '--direct', '--server', server, '--model', busyModel, '--on-conflict', 'wait', ...timeout], services.env);
  const syncing = spawnCliFromSource(['refresh', '--direct', '--server', server, '--model', syncModel, '--sync', ...timeout], services.env);
  // The sync model's refresh runs to its end (a partition takes 120 s; the others' tables take hours):
  // then its sync starts and never ends. Not more: the tokens the CLI holds expire in the emulators' time.
  await untilTrue(() => aas().countRequests('getRefresh', syncModel) > 0, 'the first status read of the refresh to sync', CLI_TIMEOUT_MS);
  services.clock.advanceBy(300_000);

  const [a, p, b, s] = await Promise.all([exitOf(refreshing), exitOf(powerBi), exitOf(busy), exitOf(syncing)]);

  const timedOut = (model: string, where: string) => new RegExp(`^Run \\S+ timed out after 1 min \\d\\d s: ${model} ${where.replace(/[./:]/g, '\\$&')}\\.$`, 'm');
  expect({ code: a.code, stderr: a.stderr }).toEqual({ code: 2, stderr: '' });
  expect(a.stdout).toMatch(timedOut(aasModel, `on ${server}`));
  expect(a.stdout).toContain('  RUN_TIMED_OUT: the refresh did not finish within 1 min 00 s; it was cancelled\n');
  expect([aas().countRequests('submitRefresh', aasModel), aas().countRequests('cancelRefresh', aasModel)]).toEqual([1, 1]);
  expect(aas().refreshes('myserver', aasModel)[0]?.status).toBe('cancelled');

  expect({ code: p.code, stderr: p.stderr }).toEqual({ code: 2, stderr: '' });
  expect(p.stdout).toMatch(timedOut(powerBiModel, 'in workspace myserver'));
  expect(p.stdout).toContain('  RUN_TIMED_OUT: the refresh did not finish within 1 min 00 s; it was cancelled\n');
  expect([powerbi().countRequests('submitRefresh', datasetId), powerbi().countRequests('cancelRefresh', datasetId)]).toEqual([1, 1]);
  expect(powerbi().refreshes(datasetId)[0]?.status).toBe('cancelled');

  expect({ code: b.code, stderr: b.stderr }).toEqual({ code: 2, stderr: '' });
  expect(b.stdout).toMatch(timedOut(busyModel, `on ${server}`));
  expect(b.stdout).toMatch(new RegExp(`^ {2}RUN_TIMED_OUT: the model was still busy at the timeout; nothing was submitted \\(.*${busyModel}.* is busy: refresh ${outsideId} is inProgress\\)$`, 'm'));
  expect([aas().countRequests('submitRefresh', busyModel), aas().countRequests('cancelRefresh', busyModel)]).toEqual([0, 0]);
  expect(aas().activeRefresh('myserver', busyModel)?.refreshId).toBe(outsideId);

  // The refresh itself succeeded and stays: no cancel; the run's time ran out in the sync.
  expect({ code: s.code, stderr: s.stderr }).toEqual({ code: 2, stderr: '' });
  expect(s.stdout).toMatch(timedOut(syncModel, `on ${server}`));
  expect(s.stdout).toContain('  RUN_TIMED_OUT: the refresh succeeded but the replica sync did not finish before the timeout\n');
  expect(aas().refreshes('myserver', syncModel)[0]?.status).toBe('succeeded');
  expect([aas().countRequests('submitSync', syncModel), aas().countRequests('cancelRefresh', syncModel)]).toEqual([1, 0]);
}, 150_000);
