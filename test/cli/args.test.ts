import { parseCommandLine, parseObjects } from '../../src/cli/args';
import { CliError, ExitCodes } from '../../src/cli/errors';

/** The command line as the CLI reads it, in process: what each flag becomes, and what it refuses. */
const env = { AAS_REFRESH_URL: 'https://refresh-app.azurewebsites.net', AAS_REFRESH_KEY: 'k' };
const SERVER = ['--server', 'asazure://westeurope.asazure.windows.net/srv', '--model', 'Sales'];

function refused(argv: string[], environment: NodeJS.ProcessEnv = env): string {
  try {
    parseCommandLine(argv, environment);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCodes.badInput);
    return (error as CliError).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}

test('refresh flags become the API request fields, names as the API spells them', () => {
  const command = parseCommandLine(
    ['refresh', ...SERVER, '--type', 'full', '--commit-mode', 'partialBatch', '--max-parallelism', '4', '--retry-count', '1', '--objects', 'DimDate', '--objects', 'FactSales/FactSales 2026', '--no-sync', '--timeout', 'PT4H', '--on-conflict', 'wait', '--callback-url', 'https://hooks.example.com/x', '--wait', '--poll-interval', '2.5'],
    env,
  );
  expect(command).toEqual({
    name: 'refresh',
    connection: { mode: 'app', apiBase: 'https://refresh-app.azurewebsites.net/api', key: 'k' },
    json: false,
    watch: { wait: true, pollIntervalMs: 2500 },
    body: {
      server: 'asazure://westeurope.asazure.windows.net/srv',
      model: 'Sales',
      type: 'full',
      commitMode: 'partialBatch',
      maxParallelism: 4,
      retryCount: 1,
      objects: [{ table: 'DimDate' }, { table: 'FactSales', partition: 'FactSales 2026' }],
      sync: false,
      timeout: 'PT4H',
      onConflict: 'wait',
      callbackUrl: 'https://hooks.example.com/x',
    },
  });
  expect(parseCommandLine(['refresh', '--workspace', 'Finance', '--semantic-model', 'Sales'], env)).toMatchObject({ body: { workspace: 'Finance', semanticModel: 'Sales' } });
});

test('--objects: the JSON form carries names with commas and slashes; an empty entry is named', () => {
  expect(parseObjects('[{"table": "A, B", "partition": "2026/01"}]')).toEqual([{ table: 'A, B', partition: '2026/01' }]);
  expect(parseObjects(' DimDate , Fact/P1 ')).toEqual([{ table: 'DimDate' }, { table: 'Fact', partition: 'P1' }]);
  expect(refused(['refresh', ...SERVER, '--objects', 'A,,B'])).toBe('--objects: entry 2 of "A,,B" is empty');
  expect(refused(['refresh', ...SERVER, '--objects', 'Fact/'])).toBe('--objects: "Fact/" must be Table or Table/Partition');
  expect(refused(['refresh', ...SERVER, '--objects', '[{"table": '])).toBe('--objects is not valid JSON (expected [{"table": "...", "partition": "..."}])');
});

test('the app URL: https, or http on loopback only; no query or user; /api added once', () => {
  for (const url of ['https://refresh-app.azurewebsites.net', 'https://refresh-app.azurewebsites.net/', 'https://refresh-app.azurewebsites.net/api/']) {
    expect(parseCommandLine(['list', '--url', url], env)).toMatchObject({ connection: { apiBase: 'https://refresh-app.azurewebsites.net/api' } });
  }
  expect(parseCommandLine(['list', '--url', 'http://localhost:7071'], env)).toMatchObject({ connection: { apiBase: 'http://localhost:7071/api' } });
  expect(refused(['list', '--url', 'http://10.0.0.5:7071'])).toContain('the app URL must use https://');
  expect(refused(['list', '--url', 'https://refresh-app.azurewebsites.net/api?code=abc'])).toBe('the app URL must not carry a user, a query (such as ?code=) or a fragment: give the key with --key or AAS_REFRESH_KEY');
  expect(refused(['list'], { AAS_REFRESH_KEY: 'k' })).toBe('list: no app URL: pass --url https://<app>.azurewebsites.net or set AAS_REFRESH_URL (or use --direct)');
  expect(refused(['list', '--url', 'not a url'])).toBe('the app URL "not a url" is not a URL (expected https://<app>.azurewebsites.net)');
});

test('options that cannot go together, or are out of range, are refused naming them', () => {
  expect(refused(['refresh', ...SERVER, '--sync', '--no-sync'])).toBe('refresh: give --sync or --no-sync, not both');
  expect(refused(['refresh', ...SERVER, '--poll-interval', '0.01'])).toBe('--poll-interval must be a number of seconds from 0.1 to 3600 (got "0.01")');
  expect(refused(['refresh', '--workspace', 'Finance'])).toBe('refresh: --semantic-model is required with --workspace');
  expect(refused(['status', '3f2b8c1e-0d4a-4e8b-9c61-2a7f5e9d0b13', '--server', 'asazure://x/y'])).toBe('status: --server, --model, --workspace and --semantic-model go with --direct; the app knows its run\'s model');
  expect(refused(['status', '3f2b8c1e-0d4a-4e8b-9c61-2a7f5e9d0b13', '--direct'])).toContain('status: --server is required');
  expect(refused(['history', 'Sales'])).toBe('history: --server is required (or --workspace for a Power BI semantic model)');
  expect(refused(['refresh', ...SERVER, 'extra'])).toBe('refresh: unexpected argument "extra" (options start with --; see aas-refresh refresh --help)');
  expect(refused(['refresh', ...SERVER, '--server'])).toBe("refresh: Option '--server <value>' argument missing (see aas-refresh refresh --help)");
});

test('the Power BI refresh-policy flags become applyRefreshPolicy and effectiveDate; without them the fields are left out', () => {
  const semanticModel = ['refresh', '--workspace', 'Finance', '--semantic-model', 'Sales'];
  expect(parseCommandLine([...semanticModel, '--apply-refresh-policy', '--effective-date', '2026-11-30'], env)).toMatchObject({
    name: 'refresh',
    body: { workspace: 'Finance', semanticModel: 'Sales', applyRefreshPolicy: true, effectiveDate: '2026-11-30' },
  });
  expect(parseCommandLine([...semanticModel, '--no-apply-refresh-policy'], env)).toMatchObject({ body: { workspace: 'Finance', semanticModel: 'Sales', applyRefreshPolicy: false } });
  // Power BI's own default then applies (true; the app sends false with partialBatch).
  expect(parseCommandLine(semanticModel, env)).toMatchObject({ body: { workspace: 'Finance', semanticModel: 'Sales' } });
  expect(Object.keys((parseCommandLine(semanticModel, env) as { body: object }).body).sort()).toEqual(['semanticModel', 'workspace']);
  // Passed as given: the app checks the date and refuses both for an AAS model, naming them.
  expect(parseCommandLine(['refresh', ...SERVER, '--effective-date', '31.12.2026'], env)).toMatchObject({ body: { server: SERVER[1], effectiveDate: '31.12.2026' } });

  expect(refused([...semanticModel, '--apply-refresh-policy', '--no-apply-refresh-policy'])).toBe('refresh: give --apply-refresh-policy or --no-apply-refresh-policy, not both');
  expect(refused([...semanticModel, '--apply-refresh-policy', 'false'])).toBe('refresh: unexpected argument "false": switches take no value (--apply-refresh-policy or --no-apply-refresh-policy, --sync or --no-sync)');
  expect(refused([...semanticModel, '--apply-refresh-policy=false'])).toBe("refresh: Option '--apply-refresh-policy' does not take an argument (see aas-refresh refresh --help)");
  expect(refused([...semanticModel, '--effective-date'])).toBe("refresh: Option '--effective-date <value>' argument missing (see aas-refresh refresh --help)");
});
