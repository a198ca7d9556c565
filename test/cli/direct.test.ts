import { modelName } from '../support/appStack';
import { untilTrue } from '../support/virtualTime';
import { CLI_TIMEOUT_MS, runCli, spawnCliFromSource, type CliProcess } from './support/cli';
import { driveUntilExit as drive, servicesForDirect } from './support/direct';

/**
 * `aas-refresh --direct`: no function app; the CLI runs the refresh itself through the app's own
 * backend adapter, with a service principal's token from the identity emulator (the
 * @azure/identity ClientSecretCredential, as a pipeline's service connection gives it). The AAS
 * emulator's refreshes move with a virtual clock that the test advances after each status read
 * the CLI makes.
 */
const services = servicesForDirect();
let env: NodeJS.ProcessEnv;
let emulators: typeof services.emulators;
beforeAll(() => {
  ({ env, emulators } = services);
});

const server = () => services.server();

/** Advances the services' time 20 s each time the CLI has called the service once more, until it exits. */
function driveUntilExit(cli: CliProcess, model: string, calls = () => emulators.aas.countRequests('any', model)): Promise<number | null> {
  return drive(services, cli, calls, model);
}

test('refresh --direct --wait refreshes the model itself with a service principal and exits 0; history --direct shows the refresh', async () => {
  const model = modelName(1);
  const cli = spawnCliFromSource(['refresh', '--direct', '--server', server(), '--model', model, '--type', 'full', '--poll-interval', '0.1', '--wait'], env);
  const code = await driveUntilExit(cli, model);

  expect({ code, stderr: cli.stderr() }).toEqual({ code: 0, stderr: '' });
  const refresh = emulators.aas.refreshes('myserver', model)[0];
  expect(refresh?.status).toBe('succeeded');
  expect(cli.stdout()).toMatch(/ {2}FactSales \/ FactSales 2024: succeeded \(done by \+\d/);
  // REFRESH_DEFAULT_SYNC applies as in the app (default true): the replicas were synced too.
  expect(cli.stdout()).toContain(`AAS refresh ${refresh?.refreshId}, 5 objects; replicas synced.`);
  expect(emulators.aas.countRequests('submitSync', model)).toBe(1);

  const history = await runCli(['history', model, '--server', server(), '--direct', '--json'], env, true);
  expect(history.code).toBe(0);
  expect(JSON.parse(history.stdout)).toMatchObject({ model, refreshes: [{ refreshId: refresh?.refreshId, status: 'succeeded' }] });
});

test('SIGINT in CI cancels the refresh --direct started (exit 3); a failing table exits 1 with AAS message', async () => {
  const model = modelName(2);
  const cli = spawnCliFromSource(['refresh', '--direct', '--server', server(), '--model', model, '--poll-interval', '0.1', '--wait'], env);
  await untilTrue(() => emulators.aas.countRequests('getRefresh', model) > 0, 'a status read', CLI_TIMEOUT_MS);
  cli.child.kill('SIGINT');
  expect(await cli.exited).toBe(3);
  expect(emulators.aas.refreshes('myserver', model)[0]?.status).toBe('cancelled');

  const failing = modelName(3);
  emulators.aas.setTable('myserver', failing, 'DimDate', { durationMs: 10_000, failAttempts: 5, failMessage: 'The column Date has a duplicate value 2026-01-01.' });
  const failed = spawnCliFromSource(['refresh', '--direct', '--server', server(), '--model', failing, '--poll-interval', '0.1', '--wait'], env);
  expect(await driveUntilExit(failed, failing)).toBe(1);
  expect(failed.stdout()).toContain('REFRESH_FAILED: the AAS refresh failed');
  expect(failed.stdout()).toContain('The column Date has a duplicate value 2026-01-01.');
});

test('refresh --direct of a Power BI semantic model by its names: resolved to ids, refreshed with the refresh-policy options, exit 0', async () => {
  // The Power BI emulator mirrors the AAS models: workspace "myserver", one semantic model per model.
  const model = modelName(4);
  const logged = emulators.powerbi.requests.length;
  const cli = spawnCliFromSource(
    ['refresh', '--direct', '--workspace', 'myserver', '--semantic-model', model, '--no-apply-refresh-policy', '--effective-date', '2026-11-30', '--no-sync', '--poll-interval', '0.1', '--wait'],
    env,
  );
  const code = await driveUntilExit(cli, model, () => emulators.powerbi.countRequests('any'));

  expect({ code, stderr: cli.stderr() }).toEqual({ code: 0, stderr: '' });
  expect(cli.stdout()).toMatch(new RegExp(`^Run \\S+ succeeded in .+: ${model} in workspace myserver, Power BI refresh [0-9a-f-]{36}, `, 'm'));
  expect(emulators.powerbi.countRequests('any')).toBeGreaterThan(2);
  const submitted = emulators.powerbi.requests.slice(logged).filter((entry) => entry.operation === 'submitRefresh');
  expect(submitted.map((entry) => entry.status)).toEqual([202]);
  expect(JSON.parse(submitted[0]?.body ?? '{}')).toMatchObject({ applyRefreshPolicy: false, effectiveDate: '2026-11-30' });
});

test('--direct bad input exits 4: a server off the allow-list, a Power BI option for an AAS model, half a service principal, a wrong secret (not shown), --url with --direct', async () => {
  const offList = await runCli(['refresh', '--direct', '--server', 'asazure://westeurope.asazure.windows.net/other', '--model', 'M'], env, true);
  expect(offList.code).toBe(4);
  expect(offList.stderr).toMatch(/^aas-refresh: The refresh request is not valid\.\n {2}- .*westeurope\.asazure\.windows\.net/);

  // The app's own refusal of the Power BI-only options for an AAS model, before any token.
  const aasWithPolicy = await runCli(['refresh', '--direct', '--server', server(), '--model', modelName(4), '--apply-refresh-policy'], env, true);
  expect({ code: aasWithPolicy.code, stderr: aasWithPolicy.stderr }).toEqual({
    code: 4,
    stderr: 'aas-refresh: The refresh request is not valid.\n  - applyRefreshPolicy is a Power BI option; AAS models have no incremental refresh policy to apply (leave it out)\n',
  });

  const half = await runCli(['history', modelName(4), '--server', server(), '--direct'], { ...env, AZURE_CLIENT_SECRET: undefined }, true);
  expect({ code: half.code, stderr: half.stderr }).toEqual({
    code: 4,
    stderr: 'aas-refresh: a service principal needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET together (or none of them, to use your az login)\n',
  });

  const wrongSecret = 'not-the-secret-4711';
  const refused = await runCli(['history', modelName(4), '--server', server(), '--direct'], { ...env, AZURE_CLIENT_SECRET: wrongSecret }, true);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/^aas-refresh: .*Invalid client secret/);
  expect(refused.stdout + refused.stderr).not.toContain(wrongSecret);

  const both = await runCli(['list', '--direct', '--url', 'https://app.example.com'], env, true);
  expect({ code: both.code, stderr: both.stderr }).toEqual({ code: 4, stderr: 'aas-refresh: list: --direct talks to the service itself; leave out --url and --key\n' });
});
