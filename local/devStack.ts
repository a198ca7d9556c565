import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SETTING_NAMES } from '../src/config/config';
import { startEmulators, type Emulators } from './emulators';
import { startLocalHost, type LocalHost } from './durable-host';

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
  stop(): Promise<void>;
}

export interface DevStackOptions {
  /** HTTP port (default PORT or 7071) and emulator ports (default 8443/8444); 0 picks free ones. */
  port?: number;
  emulatorPorts?: { aas: number; identity: number };
  /** Where the durable state lives; survives restarts. */
  stateDir?: string;
  log?: (line: string) => void;
  /** Extra settings that win over everything (the demo uses short polling). */
  settings?: Record<string, string>;
  /** Take local.settings.json into account (default true); the demo runs on its own settings. */
  readLocalSettings?: boolean;
}

const root = path.resolve(__dirname, '..', '..');

export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const emulators = await startEmulators({
    ports: options.emulatorPorts ?? { aas: numberFrom('AAS_EMULATOR_PORT', 8443), identity: numberFrom('IDENTITY_EMULATOR_PORT', 8444) },
  });
  try {
    const fromEnvironment = Object.fromEntries(SETTING_NAMES.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name] as string]])));
    const settings = {
      // Local runs poll sooner than the production default so progress shows quickly.
      POLL_MIN_INTERVAL_SECONDS: '2',
      POLL_MAX_INTERVAL_SECONDS: '30',
      ...emulators.appSettings(),
      ...(options.readLocalSettings === false ? {} : { ...localSettingsValues(), ...fromEnvironment }),
      ...options.settings,
    };
    Object.assign(process.env, settings);
    const functionKey = localFunctionKey();
    const host = await startLocalHost({
      appRoot: root,
      clock: 'real',
      port: options.port ?? numberFrom('PORT', 7071),
      stateDir: options.stateDir ?? path.join(root, '.local', 'durable'),
      functionKeys: { default: functionKey },
      log: options.log,
    });
    return {
      host,
      emulators,
      functionKey,
      apiBase: `${host.baseUrl}/api`,
      sampleServer: emulators.aas.serverName('myserver'),
      stop: async () => {
        await host.stop();
        await emulators.close();
      },
    };
  } catch (error) {
    await emulators.close();
    throw error;
  }
}

/** Values of local.settings.json, if the developer made one; only the app's own settings are taken. */
function localSettingsValues(): Record<string, string> {
  const file = path.join(root, 'local.settings.json');
  if (!fs.existsSync(file)) return {};
  const values = (JSON.parse(fs.readFileSync(file, 'utf8')) as { Values?: Record<string, unknown> }).Values ?? {};
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

function numberFrom(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${name} must be a port number`);
  return value;
}
