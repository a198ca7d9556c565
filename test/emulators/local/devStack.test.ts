import fs from 'node:fs';
import path from 'node:path';
import type { RunView } from '../../../src/api/runView';
import { devStackFixture, repo } from './devStackFixture';

// `npm start` as the README describes it for people trying the app locally: a copy of
// local.settings.sample.json on non-default ports, and a callback received locally.
// One app start per file: the app reads its settings once when it loads, as in Azure.

const { tempDir, start } = devStackFixture();

describe('local.settings.sample.json copied as the README says', () => {
  it('works on non-default emulator ports, and a callback reaches the emulator callback sink', async () => {
    const settingsFile = path.join(tempDir(), 'local.settings.json');
    fs.copyFileSync(path.join(repo, 'local.settings.sample.json'), settingsFile);
    // Polling sooner than the sample's production values, so that the run ends in seconds.
    const stack = await start({ localSettingsFile: settingsFile, settings: { POLL_MIN_INTERVAL_SECONDS: '1', POLL_MAX_INTERVAL_SECONDS: '2' } });
    expect(stack.emulators.aas.host).not.toBe('127.0.0.1:8443');
    const headers = { 'x-functions-key': stack.functionKey, 'content-type': 'application/json' };

    const history = await fetch(`${stack.apiBase}/models/refreshes?server=${encodeURIComponent(stack.sampleServer)}&model=AdventureWorks`, { headers });
    expect({ status: history.status, body: (await history.json()) as unknown }).toEqual({ status: 200, body: { backend: 'aas', server: stack.sampleServer, model: 'AdventureWorks', refreshes: [] } });

    const callbackUrl = `${stack.callbackSink}my-run`;
    const started = await fetch(`${stack.apiBase}/refreshes`, { method: 'POST', headers, body: JSON.stringify({ server: stack.sampleServer, model: 'AdventureWorks', objects: [{ table: 'DimCurrency' }], sync: false, callbackUrl }) });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    // Waits for the callback itself (bounded): the sink records it when it arrives.
    const deadline = Date.now() + 60_000;
    while (stack.emulators.aas.callbacks.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stack.emulators.aas.callbacks).toEqual([
      { path: '/_emulator/callbacks/my-run', receivedAt: expect.any(String) as unknown, body: expect.objectContaining({ StatusCode: '200', Output: expect.objectContaining({ runId: id, status: 'succeeded' }) as unknown }) as unknown },
    ]);
    const run = (await (await fetch(`${stack.apiBase}/refreshes/${id}`, { headers })).json()) as RunView;
    expect(run.callback).toMatchObject({ delivered: true });
  });
});

describe('a local.settings.json that is not JSON', () => {
  it('stops the start with a message naming the file (the emulators it started are closed)', async () => {
    const settingsFile = path.join(tempDir(), 'local.settings.json');
    fs.writeFileSync(settingsFile, '{ "Values": { "AUTH_MODE": "keyVault", } }');
    await expect(start({ localSettingsFile: settingsFile })).rejects.toThrow(/^local\.settings\.json is not valid JSON \(.+\); fix it or copy local\.settings\.sample\.json again$/);
  });
});
