/**
 * Starts the real engine: Azurite (the Azure Storage emulator, from node_modules) and the .NET
 * host (host/: WebJobs SDK + the Durable extension with its Azure Storage provider), 127.0.0.1 only.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

const repoRoot = path.resolve(__dirname, '..', '..', ...(path.basename(path.resolve(__dirname, '..', '..')) === 'dist' ? ['..'] : []));
export const HOST_PROJECT = path.join(repoRoot, 'local', 'real-engine', 'host', 'RealEngineHost.csproj');
export const HOST_DLL = path.join(repoRoot, 'local', 'real-engine', 'host', 'bin', 'Release', 'net10.0', 'RealEngineHost.dll');
const AZURITE = path.join(repoRoot, 'node_modules', 'azurite', 'dist', 'src', 'azurite.js');
// Azurite's well-known development account (public, documented; not a secret).
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  connectionString: string;
  folder: string;
  stop(): Promise<void>;
}

export interface DotnetHost {
  /** The durableClient binding data the extension hands a Node client (with rpcBaseUrl). */
  clientData: Record<string, unknown>;
  pid: number;
  /** Ends the process at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface DotnetHostOptions {
  connectionString: string;
  bridgeUrl: string;
  orchestrators: string[];
  activities: string[];
  entities: string[];
  hubName: string;
  hostJson: string;
  webhookBaseUrl: string;
  env?: Record<string, string>;
  log: (line: string) => void;
  /** How long to wait for the host to be ready (default 120 s: the first Azurite task hub creation is slow on a busy machine). */
  readyTimeoutMs?: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Waits for a line matching `ready` on stdout; fails on exit or timeout with the output so far. */
function waitForLine(child: ChildProcess, ready: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    let partial = '';
    const timer = setTimeout(() => done(new Error(`${what} was not ready after ${timeoutMs} ms; output:\n${seen.slice(-4000)}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const match = ready.exec(line);
        if (match) return done(undefined, match);
        if (!line.startsWith('MS_DURABLE_FUNCTION_EVENTS_LOGS')) seen = `${seen}${line}\n`.slice(-8000);
      }
    };
    const onExit = (code: number | null, signal: string | null): void => done(new Error(`${what} exited (${code ?? signal}) before it was ready; output:\n${seen.slice(-4000)}`));
    const done = (err?: Error, match?: RegExpExecArray): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(match as RegExpExecArray);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

export async function startAzurite(log: (line: string) => void, folder?: string): Promise<Azurite> {
  const location = folder ?? fs.mkdtempSync(path.join(os.tmpdir(), 'azurite-'));
  const [blob, queue, table] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [AZURITE, '--silent', '--disableTelemetry', '--skipApiVersionCheck', '--location', location,
      '--blobHost', '127.0.0.1', '--blobPort', String(blob), '--queueHost', '127.0.0.1', '--queuePort', String(queue),
      '--tableHost', '127.0.0.1', '--tablePort', String(table)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    await waitForLine(child, /Azurite Table service is successfully listening/, 60_000, 'Azurite');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  child.stderr?.on('data', (chunk: Buffer) => log(`[azurite] ${chunk.toString('utf8').trimEnd()}`));
  const base = 'http://127.0.0.1';
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};BlobEndpoint=${base}:${blob}/${DEV_ACCOUNT};QueueEndpoint=${base}:${queue}/${DEV_ACCOUNT};TableEndpoint=${base}:${table}/${DEV_ACCOUNT};`,
    folder: location,
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
      if (!folder) fs.rmSync(location, { recursive: true, force: true });
    },
  };
}

/** `dotnet build` of host/ when its output is missing or older than a source (restore locked to packages.lock.json). */
export function ensureHostBuilt(log: (line: string) => void): void {
  const hostDir = path.dirname(HOST_PROJECT);
  const sources = fs.readdirSync(hostDir).filter((f) => /\.(cs|csproj)$|^packages\.lock\.json$/.test(f));
  const built = fs.existsSync(HOST_DLL) ? fs.statSync(HOST_DLL).mtimeMs : 0;
  if (built > 0 && sources.every((f) => fs.statSync(path.join(hostDir, f)).mtimeMs <= built)) return;
  log('[real-engine] building the .NET host');
  const build = spawnSync('dotnet', ['build', HOST_PROJECT, '-c', 'Release', '--nologo', '-v', 'q', '-p:RestoreLockedMode=true'], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`dotnet build of the real-engine host failed:\n${build.stdout}${build.stderr}`);
}

export async function startDotnetHost(options: DotnetHostOptions): Promise<DotnetHost> {
  ensureHostBuilt(options.log);
  const child = spawn('dotnet', [HOST_DLL], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...options.env,
      FUNCTIONS_WORKER_RUNTIME: 'node',
      AzureWebJobsStorage: options.connectionString,
      DURABLE_TASK_HUB_NAME: options.hubName,
      REAL_ENGINE_BRIDGE_URL: options.bridgeUrl,
      REAL_ENGINE_FUNCTIONS: JSON.stringify({ orchestrators: options.orchestrators, activities: options.activities, entities: options.entities }),
      REAL_ENGINE_HOST_JSON: options.hostJson,
      REAL_ENGINE_WEBHOOK_BASE_URL: options.webhookBaseUrl,
      DOTNET_NOLOGO: '1',
      DOTNET_CLI_TELEMETRY_OPTOUT: '1',
    },
  });
  let match: RegExpExecArray;
  try {
    match = await waitForLine(child, /^REAL_ENGINE_READY (\{.*\})\s*$/, options.readyTimeoutMs ?? 120_000, 'The .NET real-engine host');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  // On Linux the extension also writes its EventSource traces to the console as
  // MS_DURABLE_FUNCTION_EVENTS_LOGS lines (DurableTaskExtension.InitializeLinuxLogging): kept only when verbose.
  const verbose = process.env.REAL_ENGINE_VERBOSE === '1';
  const forward = (line: string): void => {
    if (!line.trim() || line.startsWith('REAL_ENGINE_READY')) return;
    if (!verbose && line.startsWith('MS_DURABLE_FUNCTION_EVENTS_LOGS')) return;
    options.log(`[dotnet] ${line.trimEnd()}`);
  };
  if (child.stdout) readline.createInterface({ input: child.stdout }).on('line', forward);
  if (child.stderr) readline.createInterface({ input: child.stderr }).on('line', forward);
  return {
    clientData: JSON.parse(match[1] as string) as Record<string, unknown>,
    pid: child.pid ?? -1,
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
}
