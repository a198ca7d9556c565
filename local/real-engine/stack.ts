/**
 * The app on the real Durable engine: Azurite + the .NET host (the real extension) run the
 * orchestrations and activities, through the bridge, in this Node process; the app's HTTP and
 * timer triggers run on the local host with their durable client pointed at the extension's RPC
 * endpoint. One Node process serves every function type, as one Node worker does in Azure.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { startLocalHost, type LocalHost } from '../durable-host';
import { loadApp } from '../durable-host/coreModule';
import { startBridge, functionsWithTrigger, type Bridge } from './bridge';
import { startAzurite, startDotnetHost, type Azurite, type DotnetHost } from './engine';

export interface RealEngineAppOptions {
  /** App entry (compiled dist/src/index.js, or src/index.ts under jest / register-ts). */
  entry: string;
  /** host.json whose extensions.durableTask the extension applies. */
  hostJson: string;
  port?: number;
  functionKeys?: Record<string, string>;
  log?: (line: string) => void;
  /** Task hub name (default: a fresh one per start, so runs never see each other's state). */
  hubName?: string;
  /** Keep Azurite's data in this folder (default: a temporary folder, removed on stop). */
  azuriteFolder?: string;
  /** storageProvider.maxQueuePollingInterval for the extension (default 00:00:01 here; 00:00:30 in Azure). */
  maxQueuePollingInterval?: string;
}

export interface RealEngineApp {
  host: LocalHost;
  azurite: Azurite;
  bridge: Bridge;
  dotnet: DotnetHost;
  hubName: string;
  /** rpcBaseUrl of the real extension (its LocalHttpListener). */
  rpcBaseUrl: string;
  /** Kills the .NET host (SIGKILL) and starts a new one on the same Azurite data and task hub. */
  crashAndRestartEngine(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRealEngineApp(options: RealEngineAppOptions): Promise<RealEngineApp> {
  const log = options.log ?? ((line: string): void => console.log(`${new Date().toISOString()} ${line}`));
  const functions = loadApp(options.entry, (level, message) => log(`[functions] ${level}: ${message}`));
  const orchestrators = [...functionsWithTrigger(functions, 'orchestrationTrigger').keys()];
  const activities = [...functionsWithTrigger(functions, 'activityTrigger').keys()];
  const entities = [...functionsWithTrigger(functions, 'entityTrigger').keys()];
  // Task hub names: 3-45 characters, letters and digits, starting with a letter (Azure Storage provider).
  const hubName = options.hubName ?? `re${randomBytes(6).toString('hex')}`;

  let clientData: Record<string, unknown> | undefined;
  const durableClientData = (): Record<string, unknown> => {
    if (!clientData) throw new Error('The real engine is not ready: no durable client binding data yet');
    return clientData;
  };

  const azurite = await startAzurite(log, options.azuriteFolder);
  const bridge = await startBridge({ functions, durableClientData, log });
  let host: LocalHost | undefined;
  let dotnet: DotnetHost | undefined;
  try {
    host = await startLocalHost({
      entry: options.entry,
      clock: 'real',
      port: options.port ?? 0,
      functionKeys: options.functionKeys,
      log,
      durableClientData,
    });
    const launch = (): Promise<DotnetHost> =>
      startDotnetHost({
        connectionString: azurite.connectionString,
        bridgeUrl: bridge.url,
        orchestrators,
        activities,
        entities,
        hubName,
        hostJson: path.resolve(options.hostJson),
        webhookBaseUrl: (host as LocalHost).baseUrl,
        log,
        // Latency only: an idle Azure Storage queue is polled at most this far apart (default 30 s),
        // which would make every short timer and activity wait up to 30 s here.
        env: { AzureWebJobs__extensions__durableTask__storageProvider__maxQueuePollingInterval: options.maxQueuePollingInterval ?? '00:00:01' },
      });
    dotnet = await launch();
    clientData = dotnet.clientData;
    const app: RealEngineApp = {
      host,
      azurite,
      bridge,
      get dotnet() {
        return dotnet as DotnetHost;
      },
      hubName,
      get rpcBaseUrl() {
        return String((clientData ?? {}).rpcBaseUrl ?? '');
      },
      async crashAndRestartEngine() {
        await (dotnet as DotnetHost).kill();
        dotnet = await launch();
        clientData = dotnet.clientData;
      },
      async stop() {
        await dotnet?.stop();
        await host?.stop();
        await bridge.close();
        await azurite.stop();
      },
    };
    return app;
  } catch (err) {
    await dotnet?.stop();
    await host?.stop();
    await bridge.close();
    await azurite.stop();
    throw err;
  }
}
