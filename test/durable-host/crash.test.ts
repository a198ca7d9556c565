import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { untilDefined } from '../support/virtualTime';
import { startHostCli } from './cliHost';

const entry = path.join(__dirname, 'fixtures', 'crashApp.ts');

/** The Durable HTTP API needs the system key, as in Azure. */
const SYSTEM_KEY = 'crash-test-system-key';

const startCli = (stateDir: string, logFile: string) => startHostCli(entry, stateDir, { CRASH_LOG: logFile, FUNCTIONS_KEYS: JSON.stringify({ durabletask_extension: SYSTEM_KEY }) });

describe('crash and resume (child process, SIGKILL, file state)', () => {
  it('resumes from history: completed activities never run again, timers fire', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-host-crash-'));
    const stateDir = path.join(dir, 'state');
    const logFile = path.join(dir, 'steps.log');
    const lines = (): string[] => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []);

    const first = await startCli(stateDir, logFile);
    const started = await fetch(`${first.baseUrl}/runtime/webhooks/durabletask/orchestrators/Crashy/crash-1?code=${SYSTEM_KEY}`, { method: 'POST' });
    expect(started.status).toBe(202);
    // Kill on the event, not after a guessed sleep: step 1's result is in the durable history and
    // the 200 ms timer after it has been created (event types by name, as the extension writes them).
    await untilDefined(async () => {
      const res = await fetch(`${first.baseUrl}/runtime/webhooks/durabletask/instances/crash-1?showHistory=true&code=${SYSTEM_KEY}`);
      const types = (((await res.json()) as { historyEvents?: { EventType: string }[] }).historyEvents ?? []).map((event) => event.EventType);
      const secondCompletion = types.lastIndexOf('TaskCompleted');
      const completions = types.filter((type) => type === 'TaskCompleted').length;
      return completions === 2 && types.slice(secondCompletion).includes('TimerCreated') ? true : undefined;
    }, 'step 1 completed and the timer after it created', 15_000, 10);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const before = lines();
    expect(before.slice(0, 2)).toEqual(['step 0', 'step 1']);
    expect(before.length).toBeLessThan(6);

    const second = await startCli(stateDir, logFile);
    try {
      const status = await untilDefined(
        async () => {
          const res = await fetch(`${second.baseUrl}/runtime/webhooks/durabletask/instances/crash-1?code=${SYSTEM_KEY}`);
          const body = (await res.json()) as { runtimeStatus: string; output: unknown };
          return body.runtimeStatus === 'Completed' ? body : undefined;
        },
        'crash-1 completed after the restart',
        15_000,
        10,
      );
      expect(status.output).toEqual([0, 1, 2, 3, 4, 5]);
      expect(lines()).toEqual(['step 0', 'step 1', 'step 2', 'step 3', 'step 4', 'step 5']);
    } finally {
      second.child.kill('SIGKILL');
    }
  });
});
