import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalHost, type LocalHost } from '../../local/durable-host';
import { EventType } from '../../local/durable-host/engine';
import { untilDefined } from '../support/virtualTime';
import { startHostCli } from './cliHost';

const entry = path.join(__dirname, 'fixtures', 'entityApp.ts');
const SYSTEM_KEY = 'entity-test-system-key';

describe('local durable host: entities through the real durable-functions library', () => {
  let host: LocalHost;
  const logs: string[] = [];
  beforeAll(async () => {
    host = await startLocalHost({ entry, clock: 'virtual', port: 0, log: (l) => logs.push(l), functionKeys: { default: 'k1', durabletask_extension: SYSTEM_KEY } });
  });
  afterAll(async () => {
    await host.stop();
  });

  const api = (p: string, init?: RequestInit): Promise<Response> => host.fetch(`/runtime/webhooks/durabletask/${p}${p.includes('?') ? '&' : '?'}code=${SYSTEM_KEY}`, init);
  const readState = async (name: string, key: string): Promise<{ entityExists: boolean; entityState: unknown }> => {
    const res = await host.fetch(`/api/entities/${name}/${key}?code=k1`);
    expect(res.status).toBe(200);
    return (await res.json()) as { entityExists: boolean; entityState: unknown };
  };
  const signal = async (name: string, key: string, op: string, input?: unknown): Promise<Response> =>
    host.fetch(`/api/entities/${name}/${key}/${op}?code=k1`, { method: 'POST', body: input === undefined ? undefined : JSON.stringify(input) });

  it('signals from the client create the entity, its state is read back, delete removes it', async () => {
    expect(await readState('Counter', 'c1')).toEqual({ entityExists: false, entityState: null });
    expect((await signal('Counter', 'c1', 'add', 3)).status).toBe(202);
    expect((await signal('Counter', 'c1', 'add', 4)).status).toBe(202);
    await host.runUntilIdle();
    expect(await readState('Counter', 'c1')).toEqual({ entityExists: true, entityState: 7 });
    // The name is case-insensitive, as the extension's function names are.
    expect(await readState('counter', 'c1')).toEqual({ entityExists: true, entityState: 7 });
    const del = await api('entities/counter/c1', { method: 'DELETE' });
    expect(del.status).toBe(202);
    await host.runUntilIdle();
    expect(await readState('Counter', 'c1')).toEqual({ entityExists: false, entityState: null });
    expect((await api('entities/counter/c1')).status).toBe(404);
  });

  it('calls from an orchestration get responses, an operation that throws fails the call, ids stay aligned', async () => {
    const id = host.startNew('UseCounter', 'c2');
    const inst = await host.waitForInstance(id);
    expect(inst.status).toBe('Completed');
    // The signal (one-way) reaches the entity before the call that follows it from the same sender.
    expect(inst.output).toEqual({ afterSignal: 5, afterCall: 15, failure: '[object Object]', echo: 'echo done' });
    const events = inst.history[0]?.events ?? [];
    const sent = events.filter((e) => e.EventType === EventType.EventSent);
    expect(sent.map((e) => [e.EventId, e.Name, e.InstanceId])).toEqual([
      [0, 'op', '@counter@c2'],
      [1, 'op', '@counter@c2'],
      [2, 'op', '@counter@c2'],
      [3, 'op', '@counter@c2'],
      [4, 'op', '@counter@c2'],
    ]);
    const requests = sent.map((e) => JSON.parse(String(e.Input)) as Record<string, unknown>);
    expect(requests[0]).toMatchObject({ op: 'add', signal: true, input: '5', parent: id });
    expect(requests[1]).toMatchObject({ op: 'get', parent: id });
    expect(requests[1]).not.toHaveProperty('signal');
    // Responses arrive as events named after the request id, carrying a ResponseMessage.
    const responses = events.filter((e) => e.EventType === EventType.EventRaised);
    expect(responses.map((e) => e.Name)).toEqual(requests.slice(1).map((r) => r.id));
    expect(JSON.parse(String(responses[0]?.Input))).toEqual({ result: '5' });
    expect(JSON.parse(String(responses[3]?.Input))).toMatchObject({ exceptionType: 'Error' });
    // The activity after the entity calls takes the next id (5).
    expect(events.find((e) => e.EventType === EventType.TaskScheduled)?.EventId).toBe(5);
    expect(await readState('Counter', 'c2')).toEqual({ entityExists: true, entityState: 15 });
  });

  it('runs one batch of an entity at a time: concurrent read-modify-write operations lose no update', async () => {
    const posts = Array.from({ length: 20 }, () => signal('Counter', 'c3', 'slowAdd', 1));
    expect((await Promise.all(posts)).map((r) => r.status)).toEqual(Array(20).fill(202));
    await host.runUntilIdle();
    expect(await readState('Counter', 'c3')).toEqual({ entityExists: true, entityState: 20 });
  });

  it('keeps each sender order: signals of one orchestration and of one client arrive in the order sent', async () => {
    const calls = ['a1', 'a2', 'a3', 'a4', 'a5'].map((x) => ({ entity: 'Journal', key: 'j1', op: 'append', input: x }));
    const id = host.startNew('SignalMany', calls);
    for (const b of ['b1', 'b2', 'b3']) expect((await signal('Journal', 'j1', 'append', b)).status).toBe(202);
    await host.waitForInstance(id);
    await host.runUntilIdle();
    const entries = (await readState('Journal', 'j1')).entityState as string[];
    expect(entries).toHaveLength(8);
    expect(entries.filter((e) => e.startsWith('a'))).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    expect(entries.filter((e) => e.startsWith('b'))).toEqual(['b1', 'b2', 'b3']);
  });

  it('delivers an entity’s own signals to other entities', async () => {
    expect((await signal('Counter', 'src', 'add', 9)).status).toBe(202);
    expect((await signal('Counter', 'src', 'forward', 'dst')).status).toBe(202);
    await host.runUntilIdle();
    expect(await readState('Counter', 'dst')).toEqual({ entityExists: true, entityState: 9 });
  });

  it('refuses unknown entity names as Azure does: 400 from the HTTP API; an orchestration that calls one is stuck Running', async () => {
    const res = await api('entities/NoSuchEntity/k?op=add', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '1' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { Message: string };
    expect(body.Message).toMatch(/^The function 'nosuchentity' doesn't exist, is disabled, or is not an entity function\. Additional info: The following are the known entity functions: 'Counter', 'Journal', 'Crashy'\.$/);
    // The durable-functions client reports the same 400.
    const viaClient = await signal('NoSuchEntity', 'k', 'add', 1);
    expect(viaClient.status).toBe(400);
    // From an orchestration the real extension (3.19) neither fails the instance nor sends
    // anything: it stays Running (test/conformance/entities.conformance.ts).
    const id = host.startNew('CallUnknownEntity');
    await host.runUntilIdle();
    const inst = host.getInstance(id);
    expect(inst?.status).toBe('Running');
    expect(inst?.history[0]?.events.some((e) => e.EventType === EventType.EventSent)).toBe(false);
    expect(logs.some((l) => l.includes(`instance ${id} (CallUnknownEntity) is stuck: The function 'nosuchentity' doesn't exist, is disabled, or is not an entity function.`))).toBe(true);
    expect(host.getInstance('@nosuchentity@k')).toBeUndefined();
  });

  it('checks payload shapes: invalid JSON 400, a non-JSON body is a string input, empty key via $', async () => {
    const bad = await api('entities/Journal/j2?op=append', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { Message: string }).Message).toMatch(/^Could not parse JSON content: /);
    const text = await api('entities/Journal/j2?op=append', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'plain words' });
    expect(text.status).toBe(202);
    await host.runUntilIdle();
    expect(await (await api('entities/journal/j2')).json()).toEqual(['plain words']);
    expect((await api('entities/journal/$')).status).toBe(404);
    const badKey = await api(`entities/Journal/${encodeURIComponent('a#b')}?op=append`, { method: 'POST' });
    expect(badKey.status).toBe(400);
    expect(((await badKey.json()) as { Message: string }).Message).toContain('Entity keys must not contain /, \\, #, ?, or control characters.');
  });
});

const startCli = (stateDir: string, crashDir: string) => startHostCli(entry, stateDir, { ENTITY_CRASH_DIR: crashDir, FUNCTIONS_KEYS: JSON.stringify({ durabletask_extension: SYSTEM_KEY }) });

describe('entity crash mid-batch (child process, SIGKILL, file state)', () => {
  it('commits a batch whole or not at all: after the crash the batch runs again from the state before it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-host-entity-crash-'));
    const stateDir = path.join(dir, 'state');
    const ops = (): string[] => (fs.existsSync(path.join(dir, 'ops.log')) ? fs.readFileSync(path.join(dir, 'ops.log'), 'utf8').split('\n').filter(Boolean) : []);
    const first = await startCli(stateDir, dir);
    const exited = new Promise((r) => first.child.once('exit', r));
    // One replay sends all four operations, so they are waiting together and form one batch.
    const calls = [1, 2].map((n) => ({ entity: 'Crashy', key: 'x', op: 'add', input: n }));
    const body = JSON.stringify([...calls, { entity: 'Crashy', key: 'x', op: 'crashOnce' }, { entity: 'Crashy', key: 'x', op: 'add', input: 4 }]);
    const started = await fetch(`${first.baseUrl}/runtime/webhooks/durabletask/orchestrators/SignalMany/send-1?code=${SYSTEM_KEY}`, { method: 'POST', body });
    expect(started.status).toBe(202);
    await exited; // the third operation kills the process
    expect(ops()).toEqual(['add 1', 'add 2', 'crash']);

    const second = await startCli(stateDir, dir);
    try {
      const state = await untilDefined(
        async () => {
          const res = await fetch(`${second.baseUrl}/runtime/webhooks/durabletask/entities/crashy/x?code=${SYSTEM_KEY}`);
          return res.status === 200 ? ((await res.json()) as number) : undefined;
        },
        'the Crashy entity state after the restart',
        15_000,
        10,
      );
      // The first two operations ran again (at least once), on the state from before the batch: 1 + 2 + 4.
      expect(state).toBe(7);
      expect(ops()).toEqual(['add 1', 'add 2', 'crash', 'add 1', 'add 2', 'crash skipped', 'add 4']);
    } finally {
      second.child.kill('SIGKILL');
      await new Promise((r) => second.child.once('exit', r));
    }
  });
});
