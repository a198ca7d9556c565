import { spawnSync } from 'node:child_process';
import type { RunView } from '../../src/api/runView';
import { modelName, startAppStack, type AppStack } from '../support/appStack';
import { cliEnv, cliHasReadAgain, removeTranspiledCli, spawnInTerminal, startAppProxy, until, type AppProxy } from './support/cli';

/**
 * `aas-refresh refresh --wait` typed into a terminal: a pseudo-terminal made by util-linux
 * `script` (bsdutils, Essential on Debian, so on every bookworm machine; Node has no PTY of its
 * own and python3 is not part of a minimal image). Keys written to script's stdin are typed
 * into the terminal: "\x03" is Ctrl+C, which the terminal turns into SIGINT for the CLI.
 */
let stack: AppStack;
let proxy: AppProxy;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  // Said plainly when missing, instead of a spawn error and a timeout later.
  const found = spawnSync('script', ['--version'], { encoding: 'utf8' });
  if (found.error !== undefined || !found.stdout.includes('util-linux')) throw new Error('this test needs util-linux script (/usr/bin/script, Debian package bsdutils)');
  stack = await startAppStack();
  proxy = await startAppProxy(stack);
  env = cliEnv({ AAS_REFRESH_URL: proxy.url, AAS_REFRESH_KEY: stack.functionKey });
});

afterAll(async () => {
  // Each only if it started: a failed start must not leave the other running.
  await proxy?.close();
  await stack?.stop();
  removeTranspiledCli();
});

async function runIdOf(model: string): Promise<string> {
  let id: string | undefined;
  await until(() => {
    id = stack.host.listInstances().find((instance) => (instance.input as { request?: { model?: string } } | undefined)?.request?.model === model)?.instanceId;
    return id !== undefined;
  }, `a run of ${model}`);
  return id as string;
}

/** Moves virtual time a timer at a time until the run shows an object in progress. */
async function untilObjectsInProgress(id: string): Promise<RunView> {
  for (let step = 0; step < 100; step += 1) {
    await stack.host.runUntilIdle({ maxVirtualMs: 0 });
    const view = (await stack.run(id)).body;
    if (view.objects.some((object) => object.status === 'inProgress')) return view;
    const next = stack.host.engine.nextTimerAt();
    if (next === undefined) throw new Error('no timer left');
    await stack.host.runUntilIdle({ maxVirtualMs: Math.max(0, next - stack.clock.now()) });
  }
  throw new Error('no object in progress within 100 timers');
}

// ESC [ n F (to the frame's first line) ESC [ 0 J (clear below): the frame is redrawn in place.
const ESC = String.fromCharCode(27);
const REDRAW = new RegExp(`${ESC}\\[\\d+F${ESC}\\[0J`);

test('a live frame redrawn in place; Ctrl+C asks, y cancels the refresh; the run ends cancelled, exit 3, the key never shown', async () => {
  const model = modelName(1);
  const cli = spawnInTerminal(['refresh', '--server', stack.server, '--model', model, '--poll-interval', '0.1', '--wait'], env);
  const id = await runIdOf(model);
  await untilObjectsInProgress(id);
  await cliHasReadAgain(proxy, 'objects in progress');
  await until(() => /▸ FactSales \/ FactSales 2024 +inProgress/.test(cli.stdout()), 'a live line for FactSales 2024 in progress');
  // The frame is redrawn every second even when nothing changes (the elapsed times move).
  await until(() => REDRAW.test(cli.stdout()), 'a redraw in place');
  expect(cli.stdout()).toMatch(new RegExp(`Run ${id.slice(0, 8)} ${model} on asazure://127\\.0\\.0\\.1:\\d+/myserver: refreshing, AAS inProgress`));

  cli.write('\x03');
  await until(() => cli.stdout().includes(`Cancel run ${id} (refresh of ${model})? y: cancel the refresh, n: leave it running and stop watching [y/N] `), 'the cancel question');
  cli.write('y');
  await until(() => proxy.requests.some((request) => request.method === 'DELETE' && request.url === `/api/refreshes/${id}`), 'the cancel request');
  await until(() => cli.stdout().includes(`Cancel sent: run ${id} is cancelling its refresh.`), 'the cancel acknowledged');
  expect((await stack.finish(id)).body.status).toBe('cancelled');

  expect(await cli.exited).toBe(3);
  const output = cli.stdout();
  expect(output).toMatch(new RegExp(`Run ${id} cancelled after .+: ${model} on `));
  expect(output).toMatch(/⊘ FactSales \/ FactSales 2024 +cancelled/);
  expect(output).not.toContain(stack.functionKey);
  expect(stack.emulators.aas.refreshes('myserver', model)[0]?.status).toBe('cancelled');
});

test('Ctrl+C, then n: the CLI stops watching (exit 130) and the refresh goes on', async () => {
  const model = modelName(2);
  const cli = spawnInTerminal(['refresh', '--server', stack.server, '--model', model, '--poll-interval', '0.1', '--wait'], env);
  const id = await runIdOf(model);
  await untilObjectsInProgress(id);
  await until(() => cli.stdout().includes('inProgress'), 'a live line in progress');

  cli.write('\x03');
  await until(() => cli.stdout().includes(`Cancel run ${id}`), 'the cancel question');
  cli.write('n');
  expect(await cli.exited).toBe(130);
  expect(cli.stdout()).toContain(`Stopped watching; run ${id} goes on. Watch it again with: aas-refresh status ${id} --wait`);
  expect(proxy.requests.some((request) => request.method === 'DELETE' && request.url.includes(id))).toBe(false);
  expect((await stack.finish(id)).body.status).toBe('succeeded');
});
