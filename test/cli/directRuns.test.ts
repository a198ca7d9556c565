import { spawnSync } from 'node:child_process';
import { modelName, testModels } from '../support/appStack';
import { untilTrue } from '../support/virtualTime';
import { CLI_TIMEOUT_MS, runCli, spawnCliFromSource, spawnInTerminal, type CliProcess } from './support/cli';
import { driveUntilExit, servicesForDirect } from './support/direct';

/**
 * `aas-refresh --direct` (no function app) as a pipeline and a developer see it: what it prints
 * while it waits and at the end, its exit code, and what AAS and Power BI recorded (the
 * emulators' request logs and refreshes). The services move in virtual time, one step after each
 * call the CLI makes; the CLI polls every 0.1 s of real time (--poll-interval).
 */
// Model01..Model16, each used by one test only.
const services = servicesForDirect(testModels(16));
const FAST = ['--poll-interval', '0.1'];
const aas = () => services.emulators.aas;
const powerbi = () => services.emulators.powerbi;
const server = () => services.server();

type Backend = 'aas' | 'powerbi';
/** The target's flags as a user types them: the AAS server and model, or the Power BI workspace and semantic model by name. */
const targetOf = (backend: Backend, model: string) => (backend === 'aas' ? ['--server', server(), '--model', model] : ['--workspace', 'myserver', '--semantic-model', model]);
/** Every call the CLI made to the backend about the model (a status read, a history read, a submit, a cancel). */
const callsAbout = (backend: Backend, model: string) => () => (backend === 'aas' ? aas().countRequests('any', model) : powerbi().countRequests('any', services.datasetId(model)));
const countOf = (backend: Backend, model: string, operation: 'submitRefresh' | 'cancelRefresh' | 'getRefresh' | 'listRefreshes') =>
  backend === 'aas' ? aas().countRequests(operation, model) : powerbi().countRequests(operation, services.datasetId(model));
const refreshesOf = (backend: Backend, model: string) => (backend === 'aas' ? aas().refreshes('myserver', model) : powerbi().refreshes(services.datasetId(model)));
const label = { aas: 'AAS', powerbi: 'Power BI' } as const;
const targetText = (backend: Backend, model: string) => (backend === 'aas' ? `${model} on ${server()}` : `${model} in workspace myserver`);
const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The words of a command the CLI printed after `<what>: aas-refresh ` (it prints plain names unquoted). */
function printedCommand(stdout: string, what: string): string[] {
  const line = new RegExp(`^${what}: aas-refresh (.+)$`, 'm').exec(stdout)?.[1];
  if (line === undefined) throw new Error(`no "${what}: aas-refresh …" line in:\n${stdout}`);
  return line.split(' ');
}

/** Lines without their leading UTC time stamp (hh:mm:ss), for a CI log's lines in order. */
const unstamped = (stdout: string) => stdout.split('\n').map((line) => line.replace(/^\d\d:\d\d:\d\d /, ''));

async function exitOf(cli: CliProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const code = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

function needScript(): void {
  const found = spawnSync('script', ['--version'], { encoding: 'utf8' });
  if (found.error !== undefined || !found.stdout.includes('util-linux')) throw new Error('this test needs util-linux script (/usr/bin/script, Debian package bsdutils)');
}

describe.each<[Backend, number]>([
  ['aas', 1],
  ['powerbi', 2],
])('%s', (backend, first) => {
  test('refresh --direct --wait in a CI log: a line per change of the run and of each object, in order, done by when, the outcome; exit 0', async () => {
    const model = modelName(first);
    const cli = spawnCliFromSource(['refresh', '--direct', ...targetOf(backend, model), '--type', 'full', '--no-sync', ...FAST, '--wait'], services.env);
    const code = await driveUntilExit(services, cli, callsAbout(backend, model), model);
    const { stdout, stderr } = await exitOf(cli);

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const refresh = refreshesOf(backend, model)[0];
    expect(refresh?.status).toBe('succeeded');
    const id = /^Run (\S+) accepted; waiting for it to end/.exec(stdout)?.[1] ?? '';
    const lines = unstamped(stdout);
    // The run's own line (naming the target once), then the service's status as it moved (how far
    // the first read got depends on when the test moved virtual time), processing, the end.
    const runLines = lines.filter((line) => line.startsWith(`run ${id} `));
    expect(runLines[0]).toMatch(new RegExp(`^run ${id} refreshing, ${label[backend]} \\w+ \\(${esc(targetText(backend, model))}\\)$`));
    expect(runLines.map((line) => line.replace(` (${targetText(backend, model)})`, ''))).toContain(`run ${id} refreshing, ${label[backend]} inProgress`);
    expect(runLines.at(-1)).toBe(`run ${id} succeeded`);
    // Each object once per status, in the order it went through them.
    const partition = 'FactSales / FactSales 2024';
    const objectLines = lines.filter((line) => line.startsWith(`  ${partition}: `));
    expect(objectLines.slice(0, -1)).toEqual(expect.arrayContaining([`  ${partition}: inProgress`]));
    // "done by" counts by this process's clock (--direct has no other); the emulators' time is virtual, so only its form is checked.
    expect(objectLines.at(-1)).toMatch(new RegExp(`^  ${esc(partition)}: succeeded \\(done by \\+\\d+ (s|min \\d\\d s)\\)$`));
    expect(new Set(objectLines).size).toBe(objectLines.length);
    expect(stdout).toMatch(new RegExp(`^Run ${id} succeeded in .+: ${esc(targetText(backend, model))}, ${label[backend]} refresh ${refresh?.refreshId}, 5 objects\\.$`, 'm'));
    expect(countOf(backend, model, 'submitRefresh')).toBe(1);
  });

  test('refresh --direct without --wait prints the commands that reach the refresh; status and cancel by the service refresh id; a second cancel exits 1; an unknown id exits 4', async () => {
    const model = modelName(first + 2);
    const started = await runCli(['refresh', '--direct', ...targetOf(backend, model)], services.env, true);
    const refreshId = refreshesOf(backend, model)[0]?.refreshId ?? 'none';
    const where = targetOf(backend, model).join(' ');
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });
    expect(started.stdout).toMatch(
      new RegExp(`^Run \\S+ accepted \\(${model}\\)\\.\\nWatch it: aas-refresh status ${refreshId} --direct ${esc(where)} --wait\\nCancel it: aas-refresh cancel ${refreshId} --direct ${esc(where)}\\n$`),
    );
    const status = printedCommand(started.stdout, 'Watch it').filter((word) => word !== '--wait');
    const cancel = printedCommand(started.stdout, 'Cancel it');

    services.clock.advanceBy(5_000); // past notStarted (2 s): processing
    const going = await runCli(status, services.env, true);
    expect({ code: going.code, stderr: going.stderr }).toEqual({ code: 0, stderr: '' });
    expect(going.stdout).toMatch(new RegExp(`^Run ${refreshId} \\(${esc(targetText(backend, model))}\\) is refreshing, ${label[backend]} inProgress after `));

    const cancelled = await runCli(cancel, services.env, true);
    expect(cancelled).toEqual({ code: 0, stderr: '', stdout: `Run ${refreshId} is cancelling its refresh.\nWatch it: aas-refresh status ${refreshId} --direct ${where} --wait\n` });
    expect(countOf(backend, model, 'cancelRefresh')).toBe(1);
    expect(refreshesOf(backend, model)[0]?.status).toBe('cancelled');

    // status exits with the outcome once it has ended: 3, cancelled.
    const ended = await runCli(status, services.env, true);
    expect(ended.code).toBe(3);
    expect(ended.stdout).toMatch(new RegExp(`^Run ${refreshId} cancelled after \\d+ s: ${esc(targetText(backend, model))}\\.\\n {2}RUN_CANCELLED: the refresh was cancelled\\n`));

    // The service would take a second DELETE as if it worked; the CLI reads first and says so.
    const again = await runCli(cancel, services.env, true);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 1, stderr: `aas-refresh: Run ${refreshId} has already ended (cancelled); there is nothing to cancel.\n` });
    expect(countOf(backend, model, 'cancelRefresh')).toBe(1);

    const unknownId = '0b7a57c1-0000-4000-8000-000000000000';
    for (const verb of ['status', 'cancel']) {
      const unknown = await runCli([verb, unknownId, '--direct', ...targetOf(backend, model)], services.env, true);
      expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 4, stderr: expect.stringMatching(new RegExp(`^aas-refresh: ${label[backend]} knows no refresh ${unknownId} of .*${model}`)) });
    }
    expect(countOf(backend, model, 'cancelRefresh')).toBe(1);
  });

  test('--on-conflict wait: while another refresh runs the CLI says why it waits and submits nothing; after it, one refresh, no overlap, exit 0', async () => {
    const model = modelName(first + 4);
    const outsideId = backend === 'aas' ? aas().startOutsideRefresh('myserver', model, { durationMs: 120_000 }) : powerbi().startOutsideRefresh(services.datasetId(model), { durationMs: 120_000 });
    const cli = spawnCliFromSource(['refresh', '--direct', ...targetOf(backend, model), '--on-conflict', 'wait', '--no-sync', ...FAST, '--wait'], services.env);
    await untilTrue(() => /last issue: MODEL_BUSY: /.test(cli.stdout()), 'the CLI saying why it waits', CLI_TIMEOUT_MS);
    // It keeps reading the history, and does not submit while the other refresh runs.
    const reads = countOf(backend, model, 'listRefreshes');
    await untilTrue(() => countOf(backend, model, 'listRefreshes') >= reads + 3, 'three more history reads', CLI_TIMEOUT_MS);
    expect(countOf(backend, model, 'submitRefresh')).toBe(0);
    expect(cli.stdout()).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d {3}last issue: MODEL_BUSY: .*${model}.* is busy: refresh ${outsideId} is `, 'm'));

    services.clock.advanceBy(130_000); // the other refresh ends
    const code = await driveUntilExit(services, cli, callsAbout(backend, model), model);
    const { stdout, stderr } = await exitOf(cli);

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const [ours, outside] = refreshesOf(backend, model);
    expect(outside?.refreshId).toBe(outsideId);
    expect(outside?.status).toBe('succeeded');
    expect(ours?.status).toBe('succeeded');
    expect(ours?.startTime).toBeGreaterThanOrEqual(outside?.endTime ?? Number.POSITIVE_INFINITY);
    // One submit, taken at once (no 409 or 400 for a busy model first).
    const submits = (backend === 'aas' ? aas().requests.filter((entry) => entry.model === model) : powerbi().requests.filter((entry) => entry.dataset === services.datasetId(model))).filter((entry) => entry.operation === 'submitRefresh');
    expect(submits.map((entry) => entry.status)).toEqual([202]);
    const runLines = unstamped(stdout).filter((line) => line.startsWith('run '));
    expect(runLines[0]).toMatch(new RegExp(`^run \\S+ waiting \\(${esc(targetText(backend, model))}\\)$`));
    expect(stdout).toContain(`${label[backend]} refresh ${ours?.refreshId}, 5 objects.`);
  });

  test('a refresh that begins between the history read and the submit (the service refuses the submit as busy): --on-conflict wait goes on waiting and submits after it (exit 0); fail exits 1 naming it', async () => {
    const model = modelName(first + 12);
    const datasetId = backend === 'powerbi' ? services.datasetId(model) : undefined;
    const ofModel = (entry: { model?: string; dataset?: string }) => (backend === 'aas' ? entry.model === model : entry.dataset === datasetId);
    // Once, after the emulator has answered the CLI's history read (free) and before the CLI reads that answer.
    let outsideId: string | undefined;
    const beginOutside = (entry: { operation: string; model?: string; dataset?: string }) => {
      if (outsideId !== undefined || entry.operation !== 'listRefreshes' || !ofModel(entry)) return undefined;
      outsideId = backend === 'aas' ? aas().startOutsideRefresh('myserver', model, { durationMs: 60_000 }) : powerbi().startOutsideRefresh(datasetId as string, { durationMs: 60_000 });
      return undefined;
    };
    const submitAnswers = () => (backend === 'aas' ? aas().requests : powerbi().requests).filter((entry) => entry.operation === 'submitRefresh' && ofModel(entry)).map((entry) => entry.status);
    const hook = (gate: typeof beginOutside | undefined) => (backend === 'aas' ? aas().holdAnswers(gate) : powerbi().holdAnswers(gate));
    const busyAnswer = backend === 'aas' ? 409 : 400;

    hook(beginOutside);
    const cli = spawnCliFromSource(['refresh', '--direct', ...targetOf(backend, model), '--on-conflict', 'wait', '--no-sync', ...FAST, '--wait'], services.env);
    try {
      // It waits for the model as for one busy at its history read (the next read shows the other refresh).
      await untilTrue(() => submitAnswers().length === 1 && /last issue: MODEL_BUSY: /.test(cli.stdout()), 'the CLI waiting after a busy answer to its submit', CLI_TIMEOUT_MS);
    } finally {
      hook(undefined);
    }
    expect(submitAnswers()).toEqual([busyAnswer]);
    services.clock.advanceBy(70_000); // the other refresh ends
    const code = await driveUntilExit(services, cli, callsAbout(backend, model), model);
    expect({ code, stderr: cli.stderr() }).toEqual({ code: 0, stderr: '' });
    expect(submitAnswers()).toEqual([busyAnswer, 202]);
    const [ours, outside] = refreshesOf(backend, model);
    expect(outside?.refreshId).toBe(outsideId);
    expect(ours?.startTime).toBeGreaterThanOrEqual(outside?.endTime ?? Number.POSITIVE_INFINITY);

    outsideId = undefined;
    hook(beginOutside);
    let failed;
    try {
      failed = await runCli(['refresh', '--direct', ...targetOf(backend, model), '--no-sync', '--wait'], services.env, true);
    } finally {
      hook(undefined);
    }
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(new RegExp(`^aas-refresh: .*${model}.* is busy: another refresh began just before this one was submitted \\(.+\\); pass --on-conflict wait to refresh after it\\n$`));
    expect(submitAnswers()).toEqual([busyAnswer, 202, busyAnswer]);
  });
});

test('refresh --direct --on-conflict wait without --wait exits 4 before any call (nothing would submit after the other refresh)', async () => {
  const model = modelName(7);
  const before = aas().countRequests('any');
  const result = await runCli(['refresh', '--direct', ...targetOf('aas', model), '--on-conflict', 'wait'], services.env, true);
  expect(result).toEqual({ code: 4, stdout: '', stderr: 'aas-refresh: refresh: --direct --on-conflict wait needs --wait (without the app, the CLI itself waits for the model and then submits)\n' });
  expect(aas().countRequests('any')).toBe(before);
});

test('SIGINT in CI: a Power BI refresh --direct started is cancelled at the service (exit 3); one waiting for a busy model submits nothing (exit 3), the other refresh goes on', async () => {
  const model = modelName(8);
  const cli = spawnCliFromSource(['refresh', '--direct', ...targetOf('powerbi', model), ...FAST, '--wait'], services.env);
  await untilTrue(() => countOf('powerbi', model, 'getRefresh') > 0, 'a status read', CLI_TIMEOUT_MS);
  cli.child.kill('SIGINT');
  const { code, stdout } = await exitOf(cli);
  expect(code).toBe(3);
  expect(stdout).toMatch(/^\d\d:\d\d:\d\d Cancel sent: run \S+ is cancelling its refresh\.$/m);
  expect(countOf('powerbi', model, 'cancelRefresh')).toBe(1);
  expect(refreshesOf('powerbi', model)[0]?.status).toBe('cancelled');

  const busy = modelName(9);
  const outsideId = aas().startOutsideRefresh('myserver', busy, { durationMs: 600_000 });
  const waiting = spawnCliFromSource(['refresh', '--direct', ...targetOf('aas', busy), '--on-conflict', 'wait', ...FAST, '--wait'], services.env);
  await untilTrue(() => waiting.stdout().includes('last issue: MODEL_BUSY'), 'the CLI waiting for the model', CLI_TIMEOUT_MS);
  waiting.child.kill('SIGINT');
  expect(await waiting.exited).toBe(3);
  // It says nothing was sent (it said 'Cancel sent: ... is cancelling its refresh').
  expect(waiting.stdout()).toMatch(/^\d\d:\d\d:\d\d Run \S+ cancelled while waiting for the model: no refresh had been submitted, so nothing was sent to AAS\.$/m);
  expect(countOf('aas', busy, 'submitRefresh')).toBe(0);
  expect(countOf('aas', busy, 'cancelRefresh')).toBe(0);
  expect(aas().activeRefresh('myserver', busy)?.refreshId).toBe(outsideId);
});

describe.each<[Backend, number]>([
  ['aas', 15],
  ['powerbi', 16],
])('%s', (backend, modelNumber) => {
  test('SIGINT in CI during the replica sync: the run ends cancelled (exit 3) saying the refresh succeeded and a sync cannot be cancelled; no cancel is sent, the refresh stays succeeded', async () => {
    const model = modelName(modelNumber);
    const syncs = () => (backend === 'aas' ? aas().countRequests('submitSync', model) : powerbi().countRequests('submitSync', services.datasetId(model)));
    // Power BI's replicas would otherwise catch up by themselves with the refresh (autoSyncReadOnlyReplicas).
    if (backend === 'powerbi') powerbi().setAutoSync(services.datasetId(model), false);
    const cli = spawnCliFromSource(['refresh', '--direct', ...targetOf(backend, model), '--sync', ...FAST, '--wait'], services.env);
    await untilTrue(() => countOf(backend, model, 'getRefresh') > 0, 'a status read', CLI_TIMEOUT_MS);
    // The refresh's tables end within this; the sync then starts, and stays going (the services' clock stops here).
    services.clock.advanceBy(300_000);
    await untilTrue(() => syncs() === 1 && / syncing, /.test(cli.stdout()), 'the CLI showing the sync', CLI_TIMEOUT_MS);
    cli.child.kill('SIGINT');
    const { code, stdout, stderr } = await exitOf(cli);
    expect({ code, stderr }).toEqual({ code: 3, stderr: '' });
    const refreshId = refreshesOf(backend, model)[0]?.refreshId ?? 'none';
    expect(stdout).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d Run \\S+ cancelled during the replica sync: the ${label[backend]} refresh ${refreshId} had succeeded and ${label[backend]} replica syncs cannot be cancelled; the sync goes on at the service\\.$`, 'm'));
    expect(stdout).not.toContain('nothing to cancel');
    expect(countOf(backend, model, 'cancelRefresh')).toBe(0);
    expect(syncs()).toBe(1);
    expect(refreshesOf(backend, model)[0]?.status).toBe('succeeded');
  });
});

test('SIGINT in CI while status --direct --wait watches a refresh it did not start: it stops watching (130), no cancel, and says how to watch again', async () => {
  const model = modelName(10);
  const started = await runCli(['refresh', '--direct', ...targetOf('aas', model)], services.env, true);
  expect(started.code).toBe(0);
  const watchAgain = printedCommand(started.stdout, 'Watch it');
  const refreshId = refreshesOf('aas', model)[0]?.refreshId ?? 'none';
  const cli = spawnCliFromSource([...watchAgain, ...FAST], services.env);
  await untilTrue(() => cli.stdout().includes(`run ${refreshId} refreshing`), 'the watch line', CLI_TIMEOUT_MS);
  cli.child.kill('SIGINT');
  const { code, stdout } = await exitOf(cli);
  expect(code).toBe(130);
  expect(stdout).toContain(`Stopped watching; AAS refresh ${refreshId} goes on. Watch it again with: aas-refresh status ${refreshId} --direct --server ${server()} --model ${model} --wait`);
  expect(countOf('aas', model, 'cancelRefresh')).toBe(0);
  expect(aas().activeRefresh('myserver', model)?.refreshId).toBe(refreshId);
});

describe('on a terminal (util-linux script)', () => {
  beforeAll(needScript);

  test('Ctrl+C, y: the CLI cancels the AAS refresh it started --direct and watches it end: exit 3, one cancel, the secret never shown', async () => {
    const model = modelName(11);
    const cli = spawnInTerminal(['refresh', '--direct', ...targetOf('aas', model), ...FAST, '--wait'], services.env, true);
    await untilTrue(() => countOf('aas', model, 'getRefresh') > 0 && cli.stdout().includes('refreshing'), 'the live frame', CLI_TIMEOUT_MS);
    cli.write('\x03');
    await untilTrue(() => /Cancel run \S+ \(refresh of Model11\)\? y: cancel the refresh, n: leave it running and stop watching \[y\/N\] /.test(cli.stdout()), 'the cancel question', CLI_TIMEOUT_MS);
    cli.write('y');
    const { code, stdout } = await exitOf(cli);
    expect(code).toBe(3);
    expect(stdout).toMatch(/Cancel sent: run \S+ is cancelling its refresh\./);
    expect(stdout).toMatch(new RegExp(`Run \\S+ cancelled after \\d+ s: ${esc(targetText('aas', model))}\\.`));
    expect(countOf('aas', model, 'cancelRefresh')).toBe(1);
    expect(refreshesOf('aas', model)[0]?.status).toBe('cancelled');
    expect(stdout).not.toContain(services.secret);
  });

  test('Ctrl+C, n: the CLI stops watching (exit 130) and the Power BI refresh goes on; the command it prints watches it to the end (exit 0)', async () => {
    const model = modelName(12);
    const cli = spawnInTerminal(['refresh', '--direct', ...targetOf('powerbi', model), '--no-sync', ...FAST, '--wait'], services.env, true);
    await untilTrue(() => countOf('powerbi', model, 'getRefresh') > 0 && cli.stdout().includes('refreshing'), 'the live frame', CLI_TIMEOUT_MS);
    cli.write('\x03');
    await untilTrue(() => cli.stdout().includes('(refresh of Model12)? y: cancel the refresh'), 'the cancel question', CLI_TIMEOUT_MS);
    cli.write('n');
    const { code, stdout } = await exitOf(cli);
    expect(code).toBe(130);
    const refreshId = refreshesOf('powerbi', model)[0]?.refreshId ?? 'none';
    const hint = `Stopped watching; Power BI refresh ${refreshId} goes on. Watch it again with: aas-refresh status ${refreshId} --direct --workspace myserver --semantic-model ${model} --wait`;
    expect(stdout).toContain(hint);
    expect(countOf('powerbi', model, 'cancelRefresh')).toBe(0);

    const again = spawnCliFromSource([...hint.slice(hint.indexOf('aas-refresh ') + 'aas-refresh '.length).split(' '), ...FAST], services.env);
    expect(await driveUntilExit(services, again, callsAbout('powerbi', model), model)).toBe(0);
    expect(again.stdout()).toMatch(new RegExp(`^Run ${refreshId} succeeded in .+: ${model} in workspace myserver, Power BI refresh ${refreshId}, 5 objects\\.$`, 'm'));
    expect(refreshesOf('powerbi', model)[0]?.status).toBe('succeeded');
  });
});
