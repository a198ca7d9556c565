/**
 * `npm run start:real-engine`: the app on http://127.0.0.1:7071 like `npm start`, but its
 * orchestrations and activities run on the real Durable extension over Azurite (see README.md).
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { startEmulators } from '../emulators';
import { explainPortInUse, portFrom } from '../ports';
import { startRealEngineApp } from './stack';

const root = path.resolve(__dirname, '..', '..', ...(path.basename(path.resolve(__dirname, '..', '..')) === 'dist' ? ['..'] : []));

async function main(): Promise<void> {
  // Settings checked and a port in use named as `npm start` does (the emulators default to free ports here).
  const ports = { aas: portFrom('AAS_EMULATOR_PORT', 0), identity: portFrom('IDENTITY_EMULATOR_PORT', 0) };
  const port = portFrom('PORT', 7071);
  const settingFor = { AAS_EMULATOR_PORT: ports.aas, IDENTITY_EMULATOR_PORT: ports.identity, PORT: port };
  const emulators = await startEmulators({ ports }).catch((error: unknown) => {
    throw explainPortInUse(error, settingFor);
  });
  Object.assign(process.env, { POLL_MIN_INTERVAL_SECONDS: '2', POLL_MAX_INTERVAL_SECONDS: '30', ...emulators.appSettings() });
  const functionKey = process.env.REAL_ENGINE_FUNCTION_KEY ?? randomBytes(24).toString('base64url');
  const app = await startRealEngineApp({
    entry: path.join(root, 'dist', 'src', 'index.js'),
    hostJson: path.join(root, 'host.json'),
    port,
    functionKeys: { default: functionKey },
  }).catch(async (error: unknown) => {
    await emulators.close();
    throw explainPortInUse(error, settingFor);
  });
  const api = `${app.host.baseUrl}/api`;
  const body = JSON.stringify({ server: emulators.aas.serverName('myserver'), model: 'AdventureWorks', type: 'full' });
  process.stdout.write(
    [
      '',
      `AAS refresh service on ${api} (real Durable extension over Azurite, task hub ${app.hubName}, RPC ${app.rpcBaseUrl})`,
      `  AAS emulator ${emulators.aas.url}, identity emulator ${emulators.identity.url}`,
      '',
      `  curl -si -X POST ${api}/refreshes -H 'x-functions-key: ${functionKey}' -H 'content-type: application/json' -d '${body}'`,
      `  curl -s ${api}/refreshes/<id> -H 'x-functions-key: ${functionKey}'`,
      '',
      'Ctrl+C stops it (and removes Azurite\'s temporary data).',
      '',
    ].join('\n'),
  );
  const stop = (): void => {
    void app
      .stop()
      .then(() => emulators.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`Start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
