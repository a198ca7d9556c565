import { spawnSync } from 'node:child_process';
import type { RunView } from '../../src/api/runView';
import { modelName } from '../support/appStack';
import { untilTrue } from '../support/virtualTime';
import { appForCli, CLI_TIMEOUT_MS, cliHasReadAgain, runIdOf, spawnInTerminal } from './support/cli';

/**
 * `aas-refresh refresh --wait` typed into a terminal: a pseudo-terminal made by util-linux
 * `script` (bsdutils, Essential on Debian, so on every bookworm machine; Node has no PTY of its
 * own and python3 is not part of a minimal image). Keys written to script's stdin are typed
 * into the terminal: "\x03" is Ctrl+C, which the terminal turns into SIGINT for the CLI.
 */
// Said plainly when missing, before anything starts, instead of a spawn error and a timeout later.
const found = spawnSync('script', ['--version'], { encoding: 'utf8' });
if (found.error !== undefined || !found.stdout.includes('util-linux')) throw new Error('this test needs util-linux script (/usr/bin/script, Debian package bsdutils)');

const app = appForCli();

/** Moves virtual time a timer at a time until the run shows an object in progress. */
async function untilObjectsInProgress(id: string): Promise<RunView> {
  for (let step = 0; step < 100; step += 1) {
    await app.stack.host.runUntilIdle({ maxVirtualMs: 0 });
    const view = (await app.stack.run(id)).body;
    if (view.objects.some((object) => object.status === 'inProgress')) return view;
    const next = app.stack.host.engine.nextTimerAt();
    if (next === undefined) throw new Error('no timer left');
    await app.stack.host.runUntilIdle({ maxVirtualMs: Math.max(0, next - app.stack.clock.now()) });
  }
  throw new Error('no object in progress within 100 timers');
}

// ESC [ n F (to the frame's first line) ESC [ 0 J (clear below): the frame is redrawn in place.
const ESC = String.fromCharCode(27);
const REDRAW = new RegExp(`${ESC}\\[\\d+F${ESC}\\[0J`);

test('a live frame redrawn in place; Ctrl+C asks, y cancels the refresh; the run ends cancelled, exit 3, the key never shown', async () => {
  const model = modelName(1);
  const cli = spawnInTerminal(['refresh', '--server', app.stack.server, '--model', model, '--poll-interval', '0.1', '--wait'], app.env);
  const id = await runIdOf(app.stack, model);
  await untilObjectsInProgress(id);
  await cliHasReadAgain(app.proxy, 'objects in progress');
  await untilTrue(() => /▸ FactSales \/ FactSales 2024 +inProgress/.test(cli.stdout()), 'a live line for FactSales 2024 in progress', CLI_TIMEOUT_MS);
  // The frame is redrawn every second even when nothing changes (the elapsed times move).
  await untilTrue(() => REDRAW.test(cli.stdout()), 'a redraw in place', CLI_TIMEOUT_MS);
  expect(cli.stdout()).toMatch(new RegExp(`Run ${id.slice(0, 8)} ${model} on asazure://127\\.0\\.0\\.1:\\d+/myserver: refreshing, AAS inProgress`));

  cli.write('\x03');
  await untilTrue(() => cli.stdout().includes(`Cancel run ${id} (refresh of ${model})? y: cancel the refresh, n: leave it running and stop watching [y/N] `), 'the cancel question', CLI_TIMEOUT_MS);
  cli.write('y');
  await untilTrue(() => app.proxy.requests.some((request) => request.method === 'DELETE' && request.url === `/api/refreshes/${id}`), 'the cancel request', CLI_TIMEOUT_MS);
  await untilTrue(() => cli.stdout().includes(`Cancel sent: run ${id} is cancelling its refresh.`), 'the cancel acknowledged', CLI_TIMEOUT_MS);
  expect((await app.stack.finish(id)).body.status).toBe('cancelled');

  expect(await cli.exited).toBe(3);
  const output = cli.stdout();
  expect(output).toMatch(new RegExp(`Run ${id} cancelled after .+: ${model} on `));
  expect(output).toMatch(/⊘ FactSales \/ FactSales 2024 +cancelled/);
  expect(output).not.toContain(app.stack.functionKey);
  expect(app.stack.emulators.aas.refreshes('myserver', model)[0]?.status).toBe('cancelled');
});

test('Ctrl+C, then n: the CLI stops watching (exit 130) and the refresh goes on', async () => {
  const model = modelName(2);
  const cli = spawnInTerminal(['refresh', '--server', app.stack.server, '--model', model, '--poll-interval', '0.1', '--wait'], app.env);
  const id = await runIdOf(app.stack, model);
  await untilObjectsInProgress(id);
  await untilTrue(() => cli.stdout().includes('inProgress'), 'a live line in progress', CLI_TIMEOUT_MS);

  cli.write('\x03');
  await untilTrue(() => cli.stdout().includes(`Cancel run ${id}`), 'the cancel question', CLI_TIMEOUT_MS);
  cli.write('n');
  expect(await cli.exited).toBe(130);
  expect(cli.stdout()).toContain(`Stopped watching; run ${id} goes on. Watch it again with: aas-refresh status ${id} --wait`);
  expect(app.proxy.requests.some((request) => request.method === 'DELETE' && request.url.includes(id))).toBe(false);
  expect((await app.stack.finish(id)).body.status).toBe('succeeded');
});
