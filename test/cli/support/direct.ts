import { VirtualClock } from '../../../local/clock';
import { startEmulators, type Emulators } from '../../../local/emulators';
import type { EmulatorModelDescription } from '../../../local/emulators/aas';
import { loadLocalTls } from '../../../local/tls';
import { testModels } from '../../support/appStack';
import { untilTrue } from '../../support/virtualTime';
import { CLI_TIMEOUT_MS, cliEnv, killRunningClis, type CliProcess } from './cli';

/**
 * The emulators for `aas-refresh --direct` (no function app): AAS, Power BI and the identity
 * emulator, whose service principal the CLI signs in as (ClientSecretCredential, as a pipeline's
 * service connection gives it). The services' refreshes move with a virtual clock that only the
 * test moves; the CLI itself runs on the real clock.
 */
export interface DirectServices {
  readonly emulators: Emulators;
  readonly clock: VirtualClock;
  /** The CLI's environment: the service principal and the app's settings that point at the emulators. */
  readonly env: NodeJS.ProcessEnv;
  /** The service principal's secret (checked to appear in no output). */
  readonly secret: string;
  /** `asazure://127.0.0.1:<port>/myserver` */
  server(): string;
  /** The Power BI dataset id of a semantic model of workspace "myserver" (the emulator mirrors the AAS models). */
  datasetId(semanticModel: string): string;
}

/** Starts the emulators in the calling test file's beforeAll and closes them in its afterAll. */
export function servicesForDirect(models: EmulatorModelDescription = testModels(4)): DirectServices {
  const secret = 'cli-direct-test-secret';
  let emulators: Emulators | undefined;
  let clock: VirtualClock | undefined;
  let env: NodeJS.ProcessEnv | undefined;
  beforeAll(async () => {
    clock = new VirtualClock();
    emulators = await startEmulators({ clock, tls: loadLocalTls(), models });
    const { tenantId, clientId } = emulators.servicePrincipal;
    emulators.identity.registerServicePrincipal({ tenantId, clientId, secret });
    const settings = emulators.appSettings();
    env = cliEnv({
      AZURE_TENANT_ID: tenantId,
      AZURE_CLIENT_ID: clientId,
      AZURE_CLIENT_SECRET: secret,
      AZURE_AUTHORITY_HOST: settings.AUTHORITY_HOST,
      AAS_ALLOWED_HOSTS: emulators.aas.host,
      POWERBI_API_BASE_URL: settings.POWERBI_API_BASE_URL,
      POWERBI_ALLOWED_HOSTS: settings.POWERBI_ALLOWED_HOSTS,
    });
  });
  afterEach(killRunningClis);
  afterAll(async () => {
    killRunningClis();
    await emulators?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the emulators for --direct are not started (servicesForDirect starts them in beforeAll)');
    return value;
  };
  return {
    get emulators() {
      return started(emulators);
    },
    get clock() {
      return started(clock);
    },
    get env() {
      return started(env);
    },
    secret,
    server: () => started(emulators).aas.serverName('myserver'),
    datasetId(semanticModel) {
      const dataset = started(emulators).powerbi.describe().find((workspace) => workspace.name === 'myserver')?.datasets.find((candidate) => candidate.name === semanticModel);
      if (dataset === undefined) throw new Error(`no semantic model ${semanticModel} in the Power BI emulator's workspace myserver`);
      return dataset.id;
    },
  };
}

/**
 * Advances the services' time `stepMs` each time the CLI has called the service once more (the
 * count `calls` gives), until the CLI exits; returns its exit code. The CLI polls in real time,
 * the refresh moves only when this moves the clock: each read sees the next state.
 */
export async function driveUntilExit(services: DirectServices, cli: CliProcess, calls: () => number, what: string, stepMs = 20_000): Promise<number | null> {
  let exited = false;
  const code = cli.exited.then((value) => {
    exited = true;
    return value;
  });
  for (let step = 0; step < 100 && !exited; step += 1) {
    const before = calls();
    await untilTrue(() => exited || calls() > before, `the CLI called the service about ${what} again`, CLI_TIMEOUT_MS);
    services.clock.advanceBy(stepMs);
  }
  return code;
}
