/**
 * Several workers on one store, for tests and benchmarks: forks N processes of cli.ts with
 * `--shared` on one state directory, each serving its own HTTP port (app triggers, the Durable
 * HTTP API with the system key) and its own keyless RPC listener, as N Functions instances serve
 * one task hub. `npm start` stays one process; this is the only way to get several.
 *
 *   const pool = await startWorkers({ entry: 'test/fixtures/app.ts', stateDir, count: 2, leaseMs: 1500 });
 *   await fetch(`${pool.workers[0].baseUrl}/api/...`);
 *   await pool.workers[1].kill('SIGKILL');   // its leases expire after leaseMs; the others take over
 *   await pool.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { Store } from './store';

const root = path.resolve(__dirname, '..', '..');

export interface WorkerOptions {
  /** App entry (default: `main` of the app's package.json, as the CLI reads it). */
  entry?: string;
  appRoot?: string;
  /** Shared state directory (created if missing). */
  stateDir: string;
  count: number;
  /** Partition lease and activity visibility timeout (ms; default 30 s as Azure Storage). */
  leaseMs?: number;
  pollMs?: number;
  partitionCount?: number;
  /** Extra environment for the workers (FUNCTIONS_KEYS, app settings...). */
  env?: NodeJS.ProcessEnv;
  /** Fixed app ports, one per worker; free ports by default. */
  ports?: number[];
  /** Milliseconds to wait for a worker to print READY (default 30 s). */
  startTimeoutMs?: number;
}

export interface WorkerProcess {
  index: number;
  workerId: string;
  pid: number;
  baseUrl: string;
  rpcBaseUrl: string;
  child: ChildProcess;
  /** Everything the worker printed so far. */
  output(): string;
  /** Resolves with the exit code (null after a signal) once the process has exited. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface WorkerPool {
  workers: WorkerProcess[];
  /** Starts one more worker on the same store. */
  add(): Promise<WorkerProcess>;
  /** SIGTERM to every live worker (clean lease hand-over), SIGKILL after 5 s. */
  stop(): Promise<void>;
}

export async function startWorkers(options: WorkerOptions): Promise<WorkerPool> {
  if (!Number.isInteger(options.count) || options.count < 1) throw new Error('count must be a whole number of workers, at least 1');
  // Create (or migrate) the store once, before several processes open it at the same time.
  new Store(options.stateDir, { partitionCount: options.partitionCount }).close();
  const workers: WorkerProcess[] = [];
  const startOne = (index: number): Promise<WorkerProcess> => {
    const workerId = `w${index}`;
    const args = [
      '-r',
      path.join(root, 'local/durable-host/register-ts.js'),
      path.join(root, 'local/durable-host/cli.ts'),
      '--port',
      String(options.ports?.[index] ?? 0),
      '--state',
      options.stateDir,
      '--clock',
      'real',
      '--shared',
      '--worker-id',
      workerId,
    ];
    if (options.entry) args.push('--entry', options.entry);
    if (options.appRoot) args.push('--app-root', options.appRoot);
    if (options.leaseMs !== undefined) args.push('--lease-ms', String(options.leaseMs));
    if (options.pollMs !== undefined) args.push('--poll-ms', String(options.pollMs));
    if (options.partitionCount !== undefined) args.push('--partitions', String(options.partitionCount));
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    return new Promise<WorkerProcess>((resolve, reject) => {
      const timeout = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`worker ${workerId} did not start within ${options.startTimeoutMs ?? 30000} ms:\n${out.slice(-2000)}`));
      }, options.startTimeoutMs ?? 30000);
      const onData = (): void => {
        const m = /READY (\S+) (\S+)/.exec(out);
        if (!m?.[1] || !m[2]) return;
        clearTimeout(timeout);
        child.stdout?.off('data', onData);
        const worker: WorkerProcess = {
          index,
          workerId,
          pid: child.pid ?? -1,
          baseUrl: m[1],
          rpcBaseUrl: m[2],
          child,
          output: () => out,
          exited,
          async kill(signal = 'SIGTERM') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            await exited;
          },
        };
        resolve(worker);
      };
      child.stdout?.on('data', onData);
      void exited.then((code) => {
        clearTimeout(timeout);
        reject(new Error(`worker ${workerId} exited (${code}) before it was ready:\n${out.slice(-2000)}`));
      });
    });
  };
  try {
    for (let i = 0; i < options.count; i++) workers.push(await startOne(i));
  } catch (error) {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    throw error;
  }
  return {
    workers,
    async add() {
      const worker = await startOne(workers.length);
      workers.push(worker);
      return worker;
    },
    async stop() {
      await Promise.all(
        workers.map(async (w) => {
          const forced = setTimeout(() => w.child.kill('SIGKILL'), 5000);
          await w.kill('SIGTERM');
          clearTimeout(forced);
        }),
      );
    },
  };
}
