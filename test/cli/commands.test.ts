import net from 'node:net';
import type { RunView } from '../../src/api/runView';
import { modelName } from '../support/appStack';
import { untilTrue } from '../support/virtualTime';
import { appForCli, CLI_TIMEOUT_MS, cliEnv, cliHasReadAgain, runCli, runIdOf, spawnCli, type CliProcess } from './support/cli';

/**
 * `aas-refresh` as a pipeline runs it (pipes, no terminal) against the app on the local durable
 * host and the AAS emulator. Virtual time moves only when a test moves it; the CLI polls in real
 * time every 0.1 s, and the proxy in front of the app counts its reads so that a test knows the
 * CLI has seen a state before moving on.
 */
// Model01..Model18, each used by one test only.
const app = appForCli({ modelCount: 18 });

const FAST = ['--poll-interval', '0.1'];
const FINAL_STATUSES = ['succeeded', 'failed', 'cancelled', 'timedOut'];
const target = (index: number) => ['--server', app.stack.server, '--model', modelName(index)];

/** The function key appears in no output, whatever the command did. */
function expectNoKey(...texts: string[]): void {
  for (const text of texts) expect(text).not.toContain(app.stack.functionKey);
}

/** Moves virtual time one durable timer at a time; after each, waits until the CLI has read the run. */
async function driveWhileWatched(id: string): Promise<RunView> {
  for (let step = 0; step < 300; step += 1) {
    await app.stack.host.runUntilIdle({ maxVirtualMs: 0 });
    const view = (await app.stack.run(id)).body;
    if (FINAL_STATUSES.includes(view.status)) return view;
    await cliHasReadAgain(app.proxy, `step ${step}, run ${view.status}`);
    const next = app.stack.host.engine.nextTimerAt();
    if (next === undefined) throw new Error('no timer left');
    await app.stack.host.runUntilIdle({ maxVirtualMs: Math.max(0, next - app.stack.clock.now()) });
  }
  throw new Error('the run did not end within 300 timers');
}

/** A port nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function exitOf(cli: CliProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const code = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

test('refresh --wait in a CI log: a timestamped line per object as it changes, the outcome, exit 0; the key travels only as x-functions-key', async () => {
  const cli = spawnCli(['refresh', ...target(1), '--type', 'full', ...FAST, '--wait'], app.env);
  const id = await runIdOf(app.stack, modelName(1));
  const view = await driveWhileWatched(id);
  expect(view.status).toBe('succeeded');
  const { code, stdout, stderr } = await exitOf(cli);

  expect(code).toBe(0);
  expect(stdout).toContain(`Run ${id} accepted; waiting for it to end`);
  expect(stdout).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d run ${id} pending \\(Model01 on asazure://127\\.0\\.0\\.1:\\d+/myserver\\)$`, 'm'));
  expect(stdout).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d run ${id} refreshing, AAS inProgress$`, 'm'));
  // Each object once per status it showed, in order.
  const partition = 'FactSales / FactSales 2024';
  const lines = stdout.split('\n').filter((line) => line.includes(`  ${partition}: `)).map((line) => line.slice(9));
  expect(lines[0]).toBe(`  ${partition}: inProgress`);
  // Done by when in the refresh, by the service's clock: a partition takes 120 s of AAS time.
  const doneBy = new RegExp(`^  ${partition}: succeeded \\(done by \\+(\\d+) min \\d\\d s\\)$`).exec(lines.at(-1) ?? '');
  expect(Number(doneBy?.[1])).toBeGreaterThanOrEqual(2);
  expect(stdout).toMatch(new RegExp(`^Run ${id} succeeded in .+: Model01 on asazure://\\S+, AAS refresh ${view.refreshId}, 5 objects; replicas synced\\.$`, 'm'));
  expect(stderr).toBe('');
  expectNoKey(stdout, stderr);
  const calls = app.proxy.requests.filter((request) => request.url.includes(id) || request.method === 'POST');
  expect(calls.length).toBeGreaterThan(2);
  for (const call of calls) {
    expect(call.headers['x-functions-key']).toBe(app.stack.functionKey);
    expect(call.url).not.toContain(app.stack.functionKey);
  }
});

test('a failed run exits 1 with the error code, the failed object and AAS message; on GitHub Actions an ::error annotation', async () => {
  app.stack.emulators.aas.setTable('myserver', modelName(2), 'DimDate', { durationMs: 10_000, failAttempts: 5, failMessage: 'The column Date has a duplicate value 2026-01-01.' });
  const cli = spawnCli(['refresh', ...target(2), ...FAST, '--wait'], { ...app.env, GITHUB_ACTIONS: 'true' });
  const id = await runIdOf(app.stack, modelName(2));
  await app.stack.finish(id);
  const { code, stdout, stderr } = await exitOf(cli);

  expect(code).toBe(1);
  expect(stdout).toMatch(new RegExp(`^Run ${id} failed after .+: Model02 on `, 'm'));
  expect(stdout).toContain('  REFRESH_FAILED: ');
  expect(stdout).toContain('  failed objects: DimDate');
  expect(stdout).toContain('The column Date has a duplicate value 2026-01-01.');
  expect(stdout).toMatch(/^::error title=aas-refresh::Refresh of Model02 failed: REFRESH_FAILED: /m);
  expectNoKey(stdout, stderr);
});

test('a run past its timeout exits 2; --json prints the final run alone, as the API shows it', async () => {
  app.stack.emulators.aas.setTable('myserver', modelName(3), 'FactSales', { durationMs: 3600_000 });
  const cli = spawnCli(['refresh', ...target(3), '--timeout', 'PT2M', ...FAST, '--wait', '--json'], app.env);
  const id = await runIdOf(app.stack, modelName(3));
  await app.stack.finish(id);
  const { code, stdout, stderr } = await exitOf(cli);

  expect(code).toBe(2);
  const printed = JSON.parse(stdout) as RunView;
  expect(printed).toEqual((await app.stack.run(id)).body);
  expect(printed).toMatchObject({ id, status: 'timedOut', model: modelName(3), request: { timeoutSeconds: 120 } });
  expect(stderr).toBe('');
});

test('cancel --wait from a second shell cancels the refresh: both commands exit 3', async () => {
  const watcher = spawnCli(['refresh', ...target(4), ...FAST, '--wait'], app.env);
  const id = await runIdOf(app.stack, modelName(4));
  await app.stack.host.runUntilIdle({ maxVirtualMs: 0 });
  const canceller = spawnCli(['cancel', id, ...FAST, '--wait'], app.env);
  await untilTrue(() => canceller.stdout().includes(`Run ${id} is cancelling its refresh; waiting for it to end.`), 'the cancel was accepted', CLI_TIMEOUT_MS);
  await app.stack.finish(id);
  const [watched, cancelled] = await Promise.all([exitOf(watcher), exitOf(canceller)]);

  expect(watched.code).toBe(3);
  expect(cancelled.code).toBe(3);
  expect(cancelled.stdout).toMatch(new RegExp(`^Run ${id} cancelled after .+: Model04 on `, 'm'));
  expect(app.stack.emulators.aas.refreshes('myserver', modelName(4))[0]?.status).toBe('cancelled');
  // Once ended there is nothing to cancel: said so, exit 1.
  const again = await runCli(['cancel', id], app.env);
  expect(again.code).toBe(1);
  expect(again.stderr).toBe(`aas-refresh: Run ${id} has already ended (cancelled); there is nothing to cancel.\n`);
});

test('SIGINT without a terminal (a cancelled pipeline) cancels the run this command started and exits 3', async () => {
  const cli = spawnCli(['refresh', ...target(5), ...FAST, '--wait'], app.env);
  const id = await runIdOf(app.stack, modelName(5));
  await app.stack.host.runUntilIdle({ maxVirtualMs: 0 });
  await untilTrue(() => cli.stdout().includes(`run ${id} `), 'the first status line', CLI_TIMEOUT_MS);
  cli.child.kill('SIGINT');
  const { code, stdout } = await exitOf(cli);

  expect(code).toBe(3);
  expect(stdout).toContain(`Cancel sent: run ${id} is cancelling its refresh.`);
  expect((await app.stack.finish(id)).body.status).toBe('cancelled');
});

test('SIGINT while the start is still out: once the app answers with the run id, the run is cancelled (exit 3), not left running unseen', async () => {
  app.proxy.holdPosts();
  const cli = spawnCli(['refresh', ...target(11), ...FAST, '--wait'], app.env);
  await untilTrue(() => app.proxy.heldPosts() === 1, 'the POST reached the proxy', CLI_TIMEOUT_MS);
  // Without its handler installed before the POST, the signal would end the CLI here (code null).
  cli.child.kill('SIGINT');
  app.proxy.releasePosts();
  const { code, stdout } = await exitOf(cli);

  expect(code).toBe(3);
  const id = await runIdOf(app.stack, modelName(11));
  expect(stdout).toContain(`Cancel sent: run ${id} is cancelling its refresh.`);
  expect((await app.stack.finish(id)).body.status).toBe('cancelled');
});

test('a status read that fails (502 from the front door) is said and tried again after 2 s; the watch goes on to the outcome', async () => {
  const cli = spawnCli(['refresh', ...target(12), ...FAST, '--wait'], app.env);
  const id = await runIdOf(app.stack, modelName(12));
  await untilTrue(() => cli.stdout().includes(`run ${id} `), 'the first status line', CLI_TIMEOUT_MS);
  app.proxy.failReads(1);
  await untilTrue(() => cli.stdout().includes('status read failed: the app answered HTTP 502 to GET /api/refreshes/'), 'the failed read reported', CLI_TIMEOUT_MS);
  await app.stack.finish(id);
  const { code, stdout } = await exitOf(cli);

  expect(code).toBe(0);
  expect(stdout).toMatch(/^\d\d:\d\d:\d\d status read failed: the app answered HTTP 502 to GET \/api\/refreshes\/\S+; trying again in 2 s$/m);
  expect(stdout).toContain(`Run ${id} succeeded in `);
});

test('refresh without --wait, then status, list and history, each as text and as --json', async () => {
  const started = await runCli(['refresh', ...target(6), '--objects', 'DimDate,FactSales/FactSales 2026', '--json'], app.env);
  expect(started.code).toBe(0);
  const accepted = JSON.parse(started.stdout) as Record<string, unknown>;
  // The API's 202 body as it is (the CLI adds nothing, drops nothing).
  expect(Object.keys(accepted).sort()).toEqual(['backend', 'cancelUrl', 'id', 'model', 'server', 'status', 'statusUrl']);
  const id = accepted.id as string;
  expect(accepted).toMatchObject({ status: 'pending', model: modelName(6) });

  const running = await runCli(['status', id, '--json'], app.env);
  expect(running.code).toBe(0);
  expect(JSON.parse(running.stdout)).toMatchObject({ id, request: { objects: [{ table: 'DimDate' }, { table: 'FactSales', partition: 'FactSales 2026' }] } });

  const view = (await app.stack.finish(id)).body;
  const shown = await runCli(['status', id], app.env);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toContain(`Run ${id} succeeded in `);
  expect(shown.stdout).toMatch(/^ {4}FactSales \/ FactSales 2026 +succeeded$/m);

  const listed = await runCli(['list', ...target(6), '--json'], app.env);
  expect(listed.code).toBe(0);
  expect((JSON.parse(listed.stdout) as { runs: RunView[] }).runs.map((run) => run.id)).toEqual([id]);
  const table = await runCli(['list', '--model', modelName(6), '--status', 'succeeded'], app.env);
  expect(table.stdout.split('\n')[0]).toMatch(/^RUN +STATUS +MODEL +CREATED \(UTC\) +DURATION +SOURCE$/);
  expect(table.stdout).toMatch(new RegExp(`^${id}  succeeded  Model06 `, 'm'));

  const history = await runCli(['history', modelName(6), '--server', app.stack.server, '--json'], app.env);
  expect(history.code).toBe(0);
  expect(JSON.parse(history.stdout)).toMatchObject({ model: modelName(6), refreshes: [{ refreshId: view.refreshId, status: 'succeeded' }] });
  const historyTable = await runCli(['history', modelName(6), '--server', app.stack.server], app.env);
  expect(historyTable.stdout).toMatch(new RegExp(`^${view.refreshId} +succeeded +\\d{4}-`, 'm'));
  expectNoKey(started.stdout, running.stdout, shown.stdout, listed.stdout, table.stdout, history.stdout, historyTable.stdout);
});

test('bad input exits 4 with a message naming what is wrong, no stack trace; --json gives the API error shape', async () => {
  const cases: { args: string[]; message: string | RegExp }[] = [
    { args: ['refresh', '--server', 'asazure://127.0.0.1/x'], message: 'aas-refresh: refresh: --model is required\n' },
    { args: ['refresh', ...target(7), '--max-parallelism', 'ten'], message: 'aas-refresh: --max-parallelism must be a whole number (got "ten")\n' },
    { args: ['refresh', ...target(7), '--workspace', 'Sales'], message: 'aas-refresh: refresh: give --server and --model (Azure Analysis Services) or --workspace and --semantic-model (Power BI), not both\n' },
    { args: ['refresh', ...target(7), '--frobnicate'], message: "aas-refresh: refresh: Unknown option '--frobnicate' (see aas-refresh refresh --help)\n" },
    { args: ['status', '../health'], message: 'aas-refresh: status: "../health" is not a run id (letters, digits and dashes, as aas-refresh refresh and list show them)\n' },
    { args: ['status', '00000000-0000-4000-8000-000000000000'], message: 'aas-refresh: No refresh run with id "00000000-0000-4000-8000-000000000000".\n' },
    // The app's own words, passed on as a list.
    { args: ['refresh', ...target(7), '--type', 'add'], message: /^aas-refresh: The refresh request is not valid\.\n {2}- type "add" is not supported by the AAS[^\n]*\n$/ },
    { args: ['deploy'], message: 'aas-refresh: "deploy" is not a command; the commands are refresh, status, cancel, list, history (aas-refresh --help)\n' },
  ];
  for (const { args, message } of cases) {
    const result = await runCli(args, app.env);
    expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 4, stderr: typeof message === 'string' ? message : expect.stringMatching(message) });
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }

  const json = await runCli(['refresh', ...target(7), '--type', 'add', '--timeout', 'forever', '--json'], app.env);
  expect(json.code).toBe(4);
  expect(JSON.parse(json.stdout)).toEqual({
    error: { code: 'INVALID_REQUEST', message: 'The refresh request is not valid.', problems: [expect.stringMatching(/^type "add" is not supported by the AAS/), expect.stringContaining('timeout: ')] },
  });

  const noKey = await runCli(['list'], cliEnv({ AAS_REFRESH_URL: app.proxy.url }));
  expect({ code: noKey.code, stderr: noKey.stderr }).toEqual({ code: 4, stderr: 'aas-refresh: list: no function key: set AAS_REFRESH_KEY (or pass --key)\n' });
  const clearText = await runCli(['list', '--url', 'http://refresh.example.com', '--key', 'k'], cliEnv());
  expect(clearText.code).toBe(4);
  expect(clearText.stderr).toContain('the app URL must use https://');
  expect(app.stack.host.listInstances().some((instance) => (instance.input as { request?: { model?: string } }).request?.model === modelName(7))).toBe(false);
});

test('a wrong key exits 4 and is not shown; an app that cannot be reached exits 1 naming it; a busy model exits 1 naming the active run', async () => {
  const wrongKey = 'wrong-key-0123456789';
  const refused = await runCli(['list', '--key', wrongKey], app.env);
  expect(refused.code).toBe(4);
  expect(refused.stderr).toBe(`aas-refresh: the app at ${app.proxy.url} refused the function key (HTTP 401): check AAS_REFRESH_KEY or --key\n`);
  expect(refused.stdout + refused.stderr).not.toContain(wrongKey);

  const closed = await closedPort();
  const down = await runCli(['list', '--url', `http://127.0.0.1:${closed}`, '--json'], app.env);
  expect(down.code).toBe(1);
  expect(JSON.parse(down.stdout)).toEqual({ error: { code: 'APP_UNREACHABLE', message: `could not reach the app at http://127.0.0.1:${closed}: connection refused (is the URL right, is the app running?)` } });

  const first = await runCli(['refresh', ...target(8)], app.env);
  expect(first.code).toBe(0);
  const activeId = /^Run (\S+) accepted/.exec(first.stdout)?.[1] as string;
  const busy = await runCli(['refresh', ...target(8), '--wait'], app.env);
  expect(busy.code).toBe(1);
  expect(busy.stderr).toBe(`aas-refresh: Run ${activeId} is already refreshing ${modelName(8)}: watch it with aas-refresh status ${activeId} --wait, or pass --on-conflict wait to refresh after it.\n`);
  await app.stack.finish(activeId);
  expectNoKey(first.stdout, busy.stdout, busy.stderr, down.stdout, down.stderr);
});

test('a Power BI semantic model: refresh --workspace --semantic-model --wait names it and the service; history --workspace reads its history', async () => {
  // The Power BI emulator mirrors the AAS models: workspace "myserver", one semantic model per model.
  const model = modelName(9);
  const cli = spawnCli(['refresh', '--workspace', 'myserver', '--semantic-model', model, '--type', 'full', ...FAST, '--wait'], app.env);
  const id = await runIdOf(app.stack, model);
  const view = await driveWhileWatched(id);
  const { code, stdout, stderr } = await exitOf(cli);

  expect({ code, stderr, status: view.status }).toEqual({ code: 0, stderr: '', status: 'succeeded' });
  expect(stdout).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d run ${id} \\w+ \\(${model} in workspace myserver\\)$`, 'm'));
  expect(stdout).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d run ${id} refreshing, Power BI inProgress$`, 'm'));
  expect(stdout).toMatch(new RegExp(`^Run ${id} succeeded in .+: ${model} in workspace myserver, Power BI refresh ${view.refreshId}, `, 'm'));

  const history = await runCli(['history', model, '--workspace', 'myserver', '--json'], app.env);
  expect(history.code).toBe(0);
  expect((JSON.parse(history.stdout) as { refreshes: { refreshId: string }[] }).refreshes.map((refresh) => refresh.refreshId)).toContain(view.refreshId);
  const listed = await runCli(['list', '--workspace', 'myserver', '--semantic-model', model, '--json'], app.env);
  expect((JSON.parse(listed.stdout) as { runs: { id: string }[] }).runs.map((run) => run.id)).toEqual([id]);
  expectNoKey(stdout, history.stdout, listed.stdout);
});

test('list pages: --limit 1 prints the next page token, --continuation-token reads the next page', async () => {
  const model = modelName(10);
  const ids: string[] = [];
  for (let run = 0; run < 2; run += 1) {
    const started = await runCli(['refresh', ...target(10), '--json'], app.env);
    const id = (JSON.parse(started.stdout) as { id: string }).id;
    await app.stack.finish(id);
    ids.push(id);
  }
  const first = await runCli(['list', ...target(10), '--limit', '1', '--json'], app.env);
  const page = JSON.parse(first.stdout) as { runs: { id: string }[]; continuationToken?: string };
  expect(page.runs.map((run) => run.id)).toEqual([ids[1]]);
  expect(typeof page.continuationToken).toBe('string');

  const text = await runCli(['list', ...target(10), '--limit', '1'], app.env);
  expect(text.stdout.trimEnd().split('\n').at(-1)).toBe(`More runs: add --continuation-token ${page.continuationToken}`);
  const next = await runCli(['list', ...target(10), '--limit', '1', '--continuation-token', page.continuationToken as string, '--json'], app.env);
  expect((JSON.parse(next.stdout) as { runs: { id: string; model: string }[] }).runs).toEqual([expect.objectContaining({ id: ids[0], model })]);
});

test('Power BI refresh-policy options: --apply-refresh-policy and --effective-date reach the Power BI refresh request; with an AAS model, or partialBatch, the app refuses them (exit 4)', async () => {
  const model = modelName(13);
  const logged = app.stack.emulators.powerbi.requests.length;
  const started = await runCli(['refresh', '--workspace', 'myserver', '--semantic-model', model, '--apply-refresh-policy', '--effective-date', '2026-11-30', '--json'], app.env);
  expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });
  const id = (JSON.parse(started.stdout) as { id: string }).id;
  const view = (await app.stack.finish(id)).body;
  expect(view).toMatchObject({ status: 'succeeded', request: { applyRefreshPolicy: true, effectiveDate: '2026-11-30' } });
  const submitted = app.stack.emulators.powerbi.requests.slice(logged).filter((entry) => entry.operation === 'submitRefresh');
  expect(submitted.map((entry) => entry.status)).toEqual([202]);
  expect(JSON.parse(submitted[0]?.body ?? '{}')).toMatchObject({ type: 'Automatic', commitMode: 'Transactional', applyRefreshPolicy: true, effectiveDate: '2026-11-30' });

  const aas = await runCli(['refresh', ...target(14), '--no-apply-refresh-policy', '--effective-date', '2026-11-30'], app.env);
  expect({ code: aas.code, stderr: aas.stderr }).toEqual({
    code: 4,
    stderr:
      'aas-refresh: The refresh request is not valid.\n' +
      '  - applyRefreshPolicy is a Power BI option; AAS models have no incremental refresh policy to apply (leave it out)\n' +
      '  - effectiveDate is a Power BI option; AAS models have no incremental refresh policy (leave it out)\n',
  });
  const partialBatch = await runCli(['refresh', '--workspace', 'myserver', '--semantic-model', modelName(14), '--commit-mode', 'partialBatch', '--apply-refresh-policy', '--json'], app.env);
  expect(partialBatch.code).toBe(4);
  expect(JSON.parse(partialBatch.stdout)).toMatchObject({ error: { code: 'INVALID_REQUEST', problems: expect.arrayContaining([expect.stringMatching(/^applyRefreshPolicy must be false with commitMode "partialBatch"/)]) } });
  const notADate = await runCli(['refresh', '--workspace', 'myserver', '--semantic-model', modelName(14), '--effective-date', '2026-02-30'], app.env);
  expect({ code: notADate.code, stderr: notADate.stderr }).toEqual({ code: 4, stderr: 'aas-refresh: The refresh request is not valid.\n  - effectiveDate is not a calendar date\n' });
  const runsOf14 = app.stack.host.listInstances().filter((instance) => {
    const request = (instance.input as { request?: { model?: string; semanticModel?: string } } | undefined)?.request;
    return (request?.model ?? request?.semanticModel) === modelName(14);
  });
  expect(runsOf14).toEqual([]);
});

test('status without --wait exits with the outcome of an ended run (1 failed, 2 timed out, 3 cancelled), 0 while it is still going', async () => {
  const failing = modelName(15);
  app.stack.emulators.aas.setTable('myserver', failing, 'DimDate', { durationMs: 10_000, failAttempts: 5, failMessage: 'The column Date has a duplicate value 2026-01-01.' });
  const failed = await app.stack.start({ server: app.stack.server, model: failing });
  expect((await app.stack.finish(failed)).body.status).toBe('failed');
  const shownFailed = await runCli(['status', failed], app.env);
  expect(shownFailed.code).toBe(1);
  expect(shownFailed.stdout).toMatch(new RegExp(`^Run ${failed} failed after .+: ${failing} on `, 'm'));
  // The same with --json: the run on stdout, the outcome in the exit code.
  const failedJson = await runCli(['status', failed, '--json'], app.env);
  expect({ code: failedJson.code, status: (JSON.parse(failedJson.stdout) as RunView).status }).toEqual({ code: 1, status: 'failed' });

  app.stack.emulators.aas.setTable('myserver', modelName(16), 'FactSales', { durationMs: 3600_000 });
  const timedOut = await app.stack.start({ server: app.stack.server, model: modelName(16), timeout: 'PT2M' });
  expect((await app.stack.finish(timedOut)).body.status).toBe('timedOut');
  expect((await runCli(['status', timedOut], app.env)).code).toBe(2);

  const cancelled = await app.stack.start({ server: app.stack.server, model: modelName(17) });
  await app.stack.host.runUntilIdle({ maxVirtualMs: 0 });
  const running = await runCli(['status', cancelled, '--json'], app.env);
  expect({ code: running.code, status: (JSON.parse(running.stdout) as RunView).status }).toEqual({ code: 0, status: 'refreshing' });
  expect((await app.stack.request('DELETE', `refreshes/${cancelled}`)).status).toBe(202);
  expect((await app.stack.finish(cancelled)).body.status).toBe('cancelled');
  const shownCancelled = await runCli(['status', cancelled], app.env);
  expect({ code: shownCancelled.code, stderr: shownCancelled.stderr }).toEqual({ code: 3, stderr: '' });
  expect(shownCancelled.stdout).toMatch(new RegExp(`^Run ${cancelled} cancelled after `, 'm'));
});
