import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SETTING_NAMES } from '../src/config/config';
import { parseScenarioSetting, type ScenarioName } from './emulators/aas';
import { startAppOnLocalHost } from './appOnLocalHost';
import type { Emulators } from './emulators';
import { parsePowerBiScenarioSetting } from './emulators/powerbi';
import type { LocalHost } from './durable-host';
import { explainPortInUse, portFrom } from './ports';

/**
 * The whole app on one machine: the AAS and identity emulators, and the local durable host
 * running the compiled app against them in keyVault mode (managed identity -> Key Vault ->
 * service principal -> AAS). Settings: the emulators' values, overridden by
 * local.settings.json "Values", overridden by the environment.
 */
export interface DevStack {
  host: LocalHost;
  emulators: Emulators;
  functionKey: string;
  apiBase: string;
  sampleServer: string;
  /** `https://127.0.0.1:<aas port>/_emulator/callbacks/`: an allow-listed callback receiver. */
  callbackSink: string;
  /** Scenarios applied at start (AAS_EMULATOR_SCENARIO). */
  scenarios: ScenarioName[];
  stop(): Promise<void>;
}

export interface DevStackOptions {
  /** HTTP port (default PORT or 7071) and emulator ports (default 8443/8444); 0 picks free ones. */
  port?: number;
  emulatorPorts?: { aas: number; identity: number; powerbi?: number };
  /** Where the durable state lives; survives restarts. */
  stateDir?: string;
  log?: (line: string) => void;
  /** Extra settings that win over everything (the demo uses short polling). */
  settings?: Record<string, string>;
  /** Take local.settings.json into account (default true); the demo runs on its own settings. */
  readLocalSettings?: boolean;
  /** Default `<repo>/local.settings.json`. */
  localSettingsFile?: string;
  /** The app's entry file; default the compiled app (`main` of package.json). Tests pass src/index.ts. */
  entry?: string;
}

/** The repository: the nearest folder with a package.json (dist/local/ when built, local/ in tests). */
const root = (() => {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return path.resolve(__dirname, '..', '..');
})();

export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const ports = options.emulatorPorts ?? { aas: portFrom('AAS_EMULATOR_PORT', 8443), identity: portFrom('IDENTITY_EMULATOR_PORT', 8444), powerbi: portFrom('POWERBI_EMULATOR_PORT', 8445) };
  const hostPort = options.port ?? portFrom('PORT', 7071);
  const settingFor = { AAS_EMULATOR_PORT: ports.aas, IDENTITY_EMULATOR_PORT: ports.identity, POWERBI_EMULATOR_PORT: ports.powerbi ?? 0, PORT: hostPort };
  const scenarios = parseScenarioSetting(process.env.AAS_EMULATOR_SCENARIO);
  const powerBiScenarios = parsePowerBiScenarioSetting(process.env.POWERBI_EMULATOR_SCENARIO);
  const fromEnvironment = Object.fromEntries(SETTING_NAMES.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name] as string]])));
  const app = await startAppOnLocalHost({
    emulators: { ports },
    settings: (emulators) => ({
      // Local runs poll sooner than the production default so progress shows quickly.
      POLL_MIN_INTERVAL_SECONDS: '2',
      POLL_MAX_INTERVAL_SECONDS: '30',
      ...emulators.appSettings(),
      // The emulator's callback sink is a receiver the app may call back (local CA, https).
      CALLBACK_ALLOWED_HOSTS: emulators.aas.host,
      // Empty values in local.settings.json (the sample's emulator addresses) leave these in place.
      ...(options.readLocalSettings === false ? {} : { ...localSettingsValues(options.localSettingsFile ?? path.join(root, 'local.settings.json')), ...fromEnvironment }),
      ...options.settings,
    }),
    prepare: (emulators) => {
      for (const scenario of scenarios) emulators.aas.applyScenario(scenario);
      for (const scenario of powerBiScenarios) emulators.powerbi.applyScenario(scenario);
    },
    host: {
      ...(options.entry === undefined ? { appRoot: root } : { entry: options.entry }),
      clock: 'real',
      port: hostPort,
      stateDir: options.stateDir ?? path.join(root, '.local', 'durable'),
      log: options.log,
    },
    functionKey: localFunctionKey(),
    explain: (error) => explainPortInUse(error, settingFor),
  });
  const { host, emulators, functionKey } = app;
  return {
    host,
    emulators,
    functionKey,
    apiBase: `${host.baseUrl}/api`,
    sampleServer: emulators.aas.serverName('myserver'),
    callbackSink: `${emulators.aas.url}/_emulator/callbacks/`,
    scenarios,
    stop: () => app.stop(),
  };
}

/** Values of local.settings.json, if the developer made one; only the app's own settings are taken. */
function localSettingsValues(file: string): Record<string, string> {
  if (!fs.existsSync(file)) return {};
  let parsed: { Values?: Record<string, unknown> };
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { Values?: Record<string, unknown> };
  } catch (error) {
    throw new Error(`${path.basename(file)} is not valid JSON (${error instanceof Error ? error.message : String(error)}); fix it or copy local.settings.sample.json again`);
  }
  const values = parsed.Values ?? {};
  const known = new Set<string>(SETTING_NAMES);
  return Object.fromEntries(Object.entries(values).filter(([name, value]) => known.has(name) && typeof value === 'string' && value !== '') as [string, string][]);
}

/** A function key made once per checkout and kept in .local/ (git-ignored), like func's own keys. */
function localFunctionKey(): string {
  const file = path.join(root, '.local', 'function-key');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const key = randomBytes(24).toString('base64url');
  fs.writeFileSync(file, key, { mode: 0o600 });
  return key;
}
