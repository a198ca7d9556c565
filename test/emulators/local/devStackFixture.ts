import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevStack, type DevStack } from '../../../local/devStack';

export const repo = path.join(__dirname, '..', '..', '..');
const entry = path.join(repo, 'src', 'index.ts');

/**
 * `npm start`'s stack as the tests start it: free ports, state in a temporary folder, the app
 * from src/. Call at the top of a test file: every stack started is stopped after its test and
 * every temporary folder removed after the file.
 */
export function devStackFixture(): { tempDir(): string; start(options?: Parameters<typeof startDevStack>[0]): Promise<DevStack> } {
  const temporary: string[] = [];
  const stacks: DevStack[] = [];
  const tempDir = (): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devstack-'));
    temporary.push(dir);
    return dir;
  };
  afterEach(async () => {
    for (const stack of stacks.splice(0)) await stack.stop();
  });
  afterAll(() => {
    for (const dir of temporary) fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    tempDir,
    async start(options = {}) {
      const stack = await startDevStack({ port: 0, emulatorPorts: { aas: 0, identity: 0 }, stateDir: tempDir(), log: () => undefined, entry, ...options });
      stacks.push(stack);
      return stack;
    },
  };
}
