import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import ts from 'typescript';
import { startAppStack, type AppStack, type AppStackOptions } from '../../support/appStack';
import { untilTrue } from '../../support/virtualTime';

const root = path.join(__dirname, '..', '..', '..');

/**
 * The CLI from source, each file of src/cli transpiled once per test file into .local/ (as
 * `npm run build` compiles it, without type-checking: tsc's job), so that each run starts a plain
 * `node` instead of loading TypeScript again. The CLI imports nothing outside src/cli but types.
 */
function transpiledCli(): string {
  const out = path.join(root, '.local', 'cli-test-build', String(process.pid));
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const source = path.join(root, 'src', 'cli');
  for (const name of fs.readdirSync(source).filter((file) => file.endsWith('.ts'))) {
    const { outputText } = ts.transpileModule(fs.readFileSync(path.join(source, name), 'utf8'), {
      fileName: name,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    fs.writeFileSync(path.join(out, name.replace(/\.ts$/, '.js')), outputText);
  }
  return path.join(out, 'main.js');
}

let built: string | undefined;
function cliCommand(): string[] {
  built ??= transpiledCli();
  return [process.execPath, built];
}

/** Removes this test file's transpiled CLI (afterAll). */
function removeTranspiledCli(): void {
  if (built !== undefined) fs.rmSync(path.dirname(built), { recursive: true, force: true });
  built = undefined;
}

/**
 * Between the CLI and the app: forwards each request to the local host and counts the status
 * reads, so that a test can wait until the CLI has read the run after virtual time moved
 * (instead of sleeping).
 */
export interface AppProxy {
  url: string;
  /** GET /api/refreshes/{id} requests forwarded so far. */
  statusReads(): number;
  /** Headers of every forwarded request, for checking how the key travels. */
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  /** Holds POSTs (not forwarded) until `releasePosts`: a start whose answer is still out. */
  holdPosts(): void;
  /** Forwards the held POSTs and stops holding. */
  releasePosts(): void;
  heldPosts(): number;
  /** Answers the next `count` status reads 502 itself, as a front door in trouble would. */
  failReads(count: number): void;
  close(): Promise<void>;
}

export async function startAppProxy(stack: AppStack): Promise<AppProxy> {
  let reads = 0;
  const requests: AppProxy['requests'] = [];
  let holding = false;
  const held: (() => void)[] = [];
  let failing = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      if (req.method === 'GET' && /^\/api\/refreshes\/[0-9A-Za-z-]+$/.test(req.url ?? '')) {
        reads += 1;
        if (failing > 0) {
          failing -= 1;
          res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
          return;
        }
      }
      const headers: Record<string, string> = {};
      for (const name of ['x-functions-key', 'content-type']) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name];
      const body = chunks.length === 0 ? undefined : Buffer.concat(chunks).toString('utf8');
      const forward = () => void stack.host
        .fetch(req.url ?? '/', { method: req.method, headers, body })
        .then(async (answer) => {
          const text = await answer.text();
          const out: Record<string, string> = {};
          answer.headers.forEach((value, name) => {
            if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'connection') out[name] = value;
          });
          res.writeHead(answer.status, out).end(text);
        })
        .catch(() => res.writeHead(502).end());
      if (holding && req.method === 'POST') held.push(forward);
      else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    statusReads: () => reads,
    requests,
    holdPosts: () => {
      holding = true;
    },
    releasePosts: () => {
      holding = false;
      for (const forward of held.splice(0)) forward();
    },
    heldPosts: () => held.length,
    failReads: (count) => {
      failing = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface CliProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (the child's, or script's: `script -e` passes it on). */
  exited: Promise<number | null>;
  write(text: string): void;
}

/** A clean environment: no CI markers (the tests choose them), the local CA kept for TLS. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS, LANG: 'C.UTF-8', TERM: 'xterm-256color' };
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) env[name] = value;
  return env;
}

const running = new Set<ChildProcess>();

/**
 * Kills (SIGKILL) every CLI child still running: for an afterEach, so that a test that failed
 * before its CLI ended leaves no process polling the emulators (and jest can exit).
 */
export function killRunningClis(): void {
  for (const child of running) child.kill('SIGKILL');
}

function track(child: ChildProcess): CliProcess {
  running.add(child);
  child.on('exit', () => running.delete(child));
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited, write: (text) => child.stdin?.write(text) };
}

/** Runs the CLI with pipes (no terminal: what a CI log is). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv): CliProcess {
  const [command, ...prefix] = cliCommand() as [string, ...string[]];
  return track(spawn(command, [...prefix, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
}

/**
 * The CLI straight from the sources through register-ts: --direct loads the app's backend code
 * (src/backends, src/refresh, src/api), which the transpiled copy of src/cli alone does not have.
 */
export function spawnCliFromSource(args: string[], env: NodeJS.ProcessEnv): CliProcess {
  const [command, ...prefix] = sourceCliCommand() as [string, ...string[]];
  return track(spawn(command, [...prefix, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
}

function sourceCliCommand(): string[] {
  return [process.execPath, '-r', path.join(root, 'local', 'durable-host', 'register-ts.js'), path.join(root, 'src', 'cli', 'main.ts')];
}

/** Runs the CLI to its end; returns code and output. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv, fromSource = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = fromSource ? spawnCliFromSource(args, env) : spawnCli(args, env);
  cli.child.stdin?.end();
  const code = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the CLI in a pseudo-terminal with util-linux `script` (-q quiet, -f flush each write,
 * -e exit with the child's code, -c the command; /dev/null: no typescript file). What we write
 * to script's stdin reaches the terminal as typed keys: "\x03" is Ctrl+C, which the terminal's
 * line discipline turns into SIGINT for the CLI. `exec` leaves no shell in between to catch it.
 * `fromSource`: the CLI from the sources (for --direct, as spawnCliFromSource).
 */
export function spawnInTerminal(args: string[], env: NodeJS.ProcessEnv, fromSource = false): CliProcess {
  const cli = fromSource ? sourceCliCommand() : cliCommand();
  const command = `exec ${[...cli, ...args].map(shellQuote).join(' ')}`;
  return track(spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
}

/**
 * How long a test waits in real time for what a CLI child does: it starts a fresh node (from
 * source, TypeScript too) on a CI machine that runs other suites.
 */
export const CLI_TIMEOUT_MS = 20_000;

/** Waits until the CLI has started two more status reads: the second began after this call. */
export async function cliHasReadAgain(proxy: AppProxy, what: string): Promise<void> {
  const target = proxy.statusReads() + 2;
  await untilTrue(() => proxy.statusReads() >= target, `the CLI read the run again (${what})`, CLI_TIMEOUT_MS);
}

/** The app under test, behind the proxy, and the environment that points the CLI at it. */
export interface CliApp {
  readonly stack: AppStack;
  readonly proxy: AppProxy;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Starts the app on the local durable host and the proxy in front of it in the calling test
 * file's beforeAll, and stops both (each only if it started) and removes the transpiled CLI in its
 * afterAll. The members are there from beforeAll on.
 */
export function appForCli(options: AppStackOptions = {}): CliApp {
  let stack: AppStack | undefined;
  let proxy: AppProxy | undefined;
  let env: NodeJS.ProcessEnv | undefined;
  beforeAll(async () => {
    stack = await startAppStack(options);
    proxy = await startAppProxy(stack);
    env = cliEnv({ AAS_REFRESH_URL: proxy.url, AAS_REFRESH_KEY: stack.functionKey });
  });
  afterAll(async () => {
    // A failed start must not leave the other running.
    await proxy?.close();
    await stack?.stop();
    removeTranspiledCli();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the app for the CLI is not started (appForCli starts it in beforeAll)');
    return value;
  };
  return {
    get stack() {
      return started(stack);
    },
    get proxy() {
      return started(proxy);
    },
    get env() {
      return started(env);
    },
  };
}

/** The id of the run the app started for the model or semantic model (the CLI's POST has reached it). */
export async function runIdOf(stack: AppStack, model: string): Promise<string> {
  let id: string | undefined;
  await untilTrue(
    () => {
      id = stack.host.listInstances().find((instance) => {
        const request = (instance.input as { request?: { model?: string; semanticModel?: string } } | undefined)?.request;
        return (request?.model ?? request?.semanticModel) === model;
      })?.instanceId;
      return id !== undefined;
    },
    `a run of ${model}`,
    CLI_TIMEOUT_MS,
  );
  return id as string;
}
