import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

/**
 * The local durable host's CLI as a child process (real clock, file state in `stateDir`), with
 * `env` added to this process's environment; resolves with its base URL once it prints READY.
 */
export function startHostCli(entry: string, stateDir: string, env: Record<string, string>): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = spawn(
    process.execPath,
    ['-r', path.join(root, 'local/durable-host/register-ts.js'), path.join(root, 'local/durable-host/cli.ts'), '--entry', entry, '--port', '0', '--state', stateDir, '--clock', 'real'],
    { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+)/.exec(out);
      if (m?.[1]) resolve({ child, baseUrl: m[1] });
    });
    child.once('exit', (code) => reject(new Error(`CLI exited early (${code}): ${err}`)));
  });
}
