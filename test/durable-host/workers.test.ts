import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { partitionOf } from '../../local/durable-host/store';
import { startWorkers, type WorkerPool, type WorkerProcess } from '../../local/durable-host/workers';
import { untilDefined } from '../support/virtualTime';

const entry = path.join(__dirname, 'fixtures', 'workersApp.ts');
const SYSTEM_KEY = 'workers-test-system-key';
const PARTITIONS = 4;

/** Polls every 25 ms, for at most `timeoutMs` (20 s), until `fn` gives a value. */
const until = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> => untilDefined(fn, what, timeoutMs, 25);

describe('several workers on one store (child processes, leases)', () => {
  let dir: string;
  let pool: WorkerPool | undefined;
  const activityLog = (): string[] => {
    const file = path.join(dir, 'activities.log');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  };
  /** Partition owners as committed in the shared store. */
  const owners = (): Map<number, string | null> => {
    const db = new Database(path.join(dir, 'state', 'durable.sqlite'), { readonly: true });
    try {
      const rows = db.prepare('SELECT partition, owner, expires_at FROM partition_leases').all() as { partition: number; owner: string | null; expires_at: number }[];
      return new Map(rows.map((r) => [r.partition, r.expires_at > Date.now() ? r.owner : null]));
    } finally {
      db.close();
    }
  };
  const start = async (count: number, leaseMs: number): Promise<WorkerPool> => {
    pool = await startWorkers({ entry, stateDir: path.join(dir, 'state'), count, leaseMs, pollMs: 25, partitionCount: PARTITIONS, env: { WORKERS_LOG_DIR: dir, FUNCTIONS_KEYS: JSON.stringify({ durabletask_extension: SYSTEM_KEY }) } });
    // Each worker ends up with its share of the partitions.
    await until('balanced partitions', () => {
      const held = [...owners().values()];
      return pool?.workers.every((w) => held.filter((o) => o === w.workerId).length === PARTITIONS / count) ? true : undefined;
    });
    return pool;
  };
  const api = (w: WorkerProcess, p: string, init?: RequestInit): Promise<Response> => fetch(`${w.baseUrl}/runtime/webhooks/durabletask/${p}${p.includes('?') ? '&' : '?'}code=${SYSTEM_KEY}`, init);
  const status = async (w: WorkerProcess, id: string): Promise<{ runtimeStatus: string; output: unknown } | undefined> => {
    const res = await api(w, `instances/${id}`);
    return res.status === 404 ? undefined : ((await res.json()) as { runtimeStatus: string; output: unknown });
  };
  const completed = (w: WorkerProcess, id: string, timeoutMs?: number): Promise<{ runtimeStatus: string; output: unknown }> =>
    until(`${id} to finish`, async () => {
      const s = await status(w, id);
      return s && s.runtimeStatus !== 'Running' && s.runtimeStatus !== 'Pending' ? s : undefined;
    }, timeoutMs);
  /** An instance id whose partition the given worker holds. */
  const idOwnedBy = (w: WorkerProcess, prefix: string): string => {
    const held = owners();
    for (let i = 0; i < 1000; i++) if (held.get(partitionOf(`${prefix}-${i}`, PARTITIONS)) === w.workerId) return `${prefix}-${i}`;
    throw new Error(`no id in a partition of ${w.workerId}`);
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-host-workers-'));
  });
  afterEach(async () => {
    await pool?.stop();
    pool = undefined;
  });

  it('a worker killed with SIGKILL mid-orchestration: its leases expire and the other worker completes the run', async () => {
    const [front, victim] = (await start(2, 1500)).workers as [WorkerProcess, WorkerProcess];
    // Started through one worker, run by the other (the owner of the id's partition).
    const id = idOwnedBy(victim, 'steps');
    const started = await api(front, `orchestrators/Steps/${id}`, { method: 'POST', body: JSON.stringify({ run: id, steps: 8, ms: 150 }) });
    expect(started.status).toBe(202);
    await until('two steps', () => (activityLog().length >= 2 ? true : undefined));
    await victim.kill('SIGKILL');
    const killedAt = activityLog().length;
    const done = await completed(front, id);
    expect(done).toMatchObject({ runtimeStatus: 'Completed', output: [0, 1, 2, 3, 4, 5, 6, 7] });
    // The survivor took every partition once the dead worker's leases expired.
    expect([...owners().values()]).toEqual(Array(PARTITIONS).fill(front.workerId));
    const steps = activityLog().map((l) => l.split(' '));
    for (let n = 0; n < 8; n++) expect(steps.some((s) => s[2] === String(n))).toBe(true);
    // Every step after the kill ran on the survivor.
    expect(steps.slice(killedAt).every((s) => s[3] === String(front.pid))).toBe(true);
  }, 60000);

  it('a worker killed in the middle of an entity batch: the other runs the batch again on the state before it', async () => {
    const [front, victim] = (await start(2, 1500)).workers as [WorkerProcess, WorkerProcess];
    const key = idOwnedBy(victim, '@tally@t').slice('@tally@'.length);
    for (let n = 1; n <= 5; n++) {
      const res = await api(front, `entities/Tally/${key}?op=add`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n, ms: 300 }) });
      expect(res.status).toBe(202);
    }
    await until('two operations', () => (activityLog().length >= 2 ? true : undefined));
    await victim.kill('SIGKILL');
    const killedAt = activityLog().length;
    const state = await until('the tally', async () => {
      const res = await api(front, `entities/tally/${key}`);
      const value = res.status === 200 ? ((await res.json()) as number) : undefined;
      return value === 15 ? value : undefined;
    });
    // Each operation counted once in the state, though the interrupted batch ran again.
    expect(state).toBe(15);
    const ops = activityLog().map((l) => l.split(' '));
    for (let n = 1; n <= 5; n++) expect(ops.some((o) => o[1] === String(n))).toBe(true);
    expect(ops.slice(killedAt).every((o) => o[2] === String(front.pid))).toBe(true);
    expect(ops.slice(killedAt).length).toBeGreaterThan(0);
  }, 60000);

  it('runs an activity longer than its visibility timeout once: the claim is renewed while it runs', async () => {
    const [front] = (await start(2, 1000)).workers as [WorkerProcess, WorkerProcess];
    const res = await api(front, 'orchestrators/SlowOne/slow-1', { method: 'POST', body: JSON.stringify({ run: 'slow-1', ms: 3500 }) });
    expect(res.status).toBe(202);
    const done = await completed(front, 'slow-1');
    expect(done).toMatchObject({ runtimeStatus: 'Completed', output: 'slow done' });
    const lines = activityLog().map((l) => l.split(' ').slice(0, 2).join(' '));
    expect(lines).toEqual(['start slow-1', 'end slow-1']);
  }, 60000);

  it('two workers on one store run every orchestration step once: no activity twice, no message lost', async () => {
    const workers = (await start(2, 3000)).workers as [WorkerProcess, WorkerProcess];
    const runs = Array.from({ length: 12 }, (_, i) => `run-${i}`);
    await Promise.all(
      runs.map(async (run, i) => {
        const res = await api(workers[i % 2] as WorkerProcess, `orchestrators/Steps/${run}`, { method: 'POST', body: JSON.stringify({ run, steps: 3, ms: 0 }) });
        expect(res.status).toBe(202);
      }),
    );
    for (const run of runs) expect(await completed(workers[0], run)).toMatchObject({ runtimeStatus: 'Completed', output: [0, 1, 2] });
    const steps = activityLog().map((l) => l.split(' ').slice(1, 3).join(' '));
    expect([...steps].sort()).toEqual(runs.flatMap((run) => [0, 1, 2].map((n) => `${run} ${n}`)).sort());
    // Both workers did part of the work.
    const pids = new Set(activityLog().map((l) => l.split(' ')[3]));
    expect(pids.size).toBe(2);
  }, 60000);
});
