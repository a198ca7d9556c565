import * as path from 'node:path';
import { VirtualClock } from '../../local/clock';
import { startLocalHost, type LocalHost } from '../../local/durable-host';
import { EventType, MIN_TURN_MS, timerVisibleAt } from '../../local/durable-host/engine';
// The fixture's module state is read after the host loaded it (importing it first would register outside a host).
type Fixture = typeof import('./fixtures/basicApp');
let fixture: Fixture;

const entry = path.join(__dirname, 'fixtures', 'basicApp.ts');

describe('local durable host: orchestrations through the real durable-functions library', () => {
  let host: LocalHost;
  const logs: string[] = [];
  beforeAll(async () => {
    host = await startLocalHost({ entry, clock: 'virtual', port: 0, log: (l) => logs.push(l), functionKeys: { default: 'k1', master: 'm1' } });
    fixture = await import('./fixtures/basicApp');
  });
  afterAll(async () => {
    await host.stop();
  });

  it('runs activities in sequence with custom status', async () => {
    const id = host.startNew('HelloSeq', 'World');
    const inst = await host.waitForInstance(id);
    expect(inst.status).toBe('Completed');
    expect(inst.output).toEqual(['Hello Tokyo', 'Hello x', 'Hello World']);
    expect(inst.customStatus).toEqual({ step: 2 });
  });

  it('retries an activity that fails twice, with retry timers taking ids', async () => {
    const id = host.startNew('Retry');
    const inst = await host.waitForInstance(id);
    expect(inst.output).toEqual({ r: 42, after: 'Hello after' });
    const events = inst.history[0]?.events ?? [];
    const scheduled = events.filter((e) => e.EventType === EventType.TaskScheduled).map((e) => [e.EventId, e.Name]);
    const timers = events.filter((e) => e.EventType === EventType.TimerCreated).map((e) => e.EventId);
    // attempt 0, timer 1, attempt 2, timer 3, attempt 4 (succeeds), then 'Hello' takes 5
    expect(scheduled).toEqual([[0, 'Flaky'], [2, 'Flaky'], [4, 'Flaky'], [5, 'Hello']]);
    expect(timers).toEqual([1, 3]);
  });

  it('cancels a timer lost to Task.any: it never fires into history', async () => {
    const id = host.startNew('RaceTimer');
    const inst = await host.waitForInstance(id);
    expect(inst.output).toBe('activity');
    await host.runUntilIdle();
    const events = host.getInstance(id)?.history[0]?.events ?? [];
    expect(events.some((e) => e.EventType === EventType.TimerCreated)).toBe(true);
    expect(events.some((e) => e.EventType === EventType.TimerFired)).toBe(false);
  });

  it('fans out with Task.all', async () => {
    const id = host.startNew('FanOut', 20);
    expect((await host.waitForInstance(id)).output).toBe(20);
  });

  it('waits six hours under the virtual clock in well under a second', async () => {
    const started = Date.now();
    const clockBefore = host.clock.now();
    const id = host.startNew('SixHours');
    const inst = await host.waitForInstance(id);
    // Up to 1 s early (cut to whole seconds from its enqueue, a turn after it was asked for), as on Azure Storage (timers.test.ts).
    const sixHoursMs = 6 * 3600 * 1000;
    const firedAfterMs = timerVisibleAt(sixHoursMs, MIN_TURN_MS);
    expect(sixHoursMs - firedAfterMs).toBeGreaterThan(0);
    expect(sixHoursMs - firedAfterMs).toBeLessThan(1000);
    expect(inst.output).toBe(firedAfterMs);
    expect(host.clock.now() - clockBefore).toBeGreaterThanOrEqual(firedAfterMs);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('waits on a long timer (over the 6-day maximum) through segments', async () => {
    const id = host.startNew('LongTimer');
    const inst = await host.waitForInstance(id);
    expect(inst.output).toBe(10);
    const fired = (inst.history[0]?.events ?? []).filter((e) => e.EventType === EventType.TimerFired);
    expect(fired.length).toBeGreaterThan(1);
  });

  it('delivers an external event', async () => {
    const id = host.startNew('Approval');
    await host.runUntilIdle();
    expect(host.getInstance(id)).toMatchObject({ status: 'Running', customStatus: 'waiting' });
    host.raiseEvent(id, 'Approve', { ok: true });
    expect((await host.waitForInstance(id)).output).toEqual({ ok: true });
  });

  it('runs a sub-orchestration', async () => {
    const id = host.startNew('Parent');
    expect((await host.waitForInstance(id)).output).toBe('Hello Tokyo|Hello x|Hello Child');
  });

  it('continues as new with a fresh, bounded history per execution', async () => {
    const id = host.startNew('Counter', 0);
    const inst = await host.waitForInstance(id);
    expect(inst.output).toBe(4);
    expect(inst.history).toHaveLength(5);
    const lengths = inst.history.map((h) => h.events.length);
    expect(Math.max(...lengths)).toBeLessThan(20);
    expect(Math.max(...lengths) - Math.min(...lengths)).toBeLessThanOrEqual(2);
  });

  it('fails with the activity error', async () => {
    const id = host.startNew('Fails');
    const inst = await host.waitForInstance(id);
    expect(inst.status).toBe('Failed');
    // Azure's shape: the extension's reason (its friendly message keeps a leading space), then the details.
    expect(String(inst.output)).toMatch(/^Orchestrator function 'Fails' failed: Activity function 'Boom' failed: {2}boom \n \{"\$type":"System.Exception/);
  });

  it('detects a nondeterministic orchestrator', async () => {
    const id = host.startNew('Nondeterministic');
    const inst = await host.waitForInstance(id);
    expect(inst.status).toBe('Failed');
    expect(String(inst.output)).toMatch(/nondeterministic orchestrator 'Nondeterministic'.*'Hello'.*'Record'/);
  });

  it('terminates a running instance', async () => {
    const id = host.startNew('Waits');
    await host.runUntilIdle();
    const res = await host.fetch(`/runtime/webhooks/durabletask/instances/${id}/terminate?reason=enough&code=${host.systemKey}`, { method: 'POST' });
    expect(res.status).toBe(202);
    const inst = await host.waitForInstance(id);
    expect(inst).toMatchObject({ status: 'Terminated', output: 'enough' });
    expect((await host.fetch(`/runtime/webhooks/durabletask/instances/${id}/terminate?code=${host.systemKey}`, { method: 'POST' })).status).toBe(410);
  });

  it('suspends and resumes', async () => {
    const id = host.startNew('Approval');
    await host.runUntilIdle();
    expect((await host.fetch(`/runtime/webhooks/durabletask/instances/${id}/suspend?code=${host.systemKey}`, { method: 'POST' })).status).toBe(202);
    await host.runUntilIdle();
    host.raiseEvent(id, 'Approve', { ok: false });
    await host.runUntilIdle();
    expect(host.getInstance(id)?.status).toBe('Suspended');
    await host.fetch(`/runtime/webhooks/durabletask/instances/${id}/resume?code=${host.systemKey}`, { method: 'POST' });
    expect((await host.waitForInstance(id)).output).toEqual({ ok: false });
  });

  it('runs an activity twice when told to (at-least-once) and records one result', async () => {
    const { calls } = fixture;
    calls.length = 0;
    host.faults.duplicateNextActivity('Record');
    const id = host.startNew('Nondeterministic'); // module counter is past 1: calls 'Record' then 'Hello'
    const inst = await host.waitForInstance(id);
    expect(inst.status).toBe('Completed');
    expect(calls).toEqual(['x', 'x']);
    expect(logs.some((l) => l.includes('[Record] information: recorded x'))).toBe(true);
  });
});

describe('local durable host: HTTP triggers, client and management API', () => {
  let host: LocalHost;
  beforeAll(async () => {
    host = await startLocalHost({ entry, clock: new VirtualClock(Date.UTC(2026, 0, 5, 2, 0, 0)), port: 0, log: () => undefined, functionKeys: { default: 'k1', master: 'm1' }, fireSchedulesInVirtualTime: true });
  });
  afterAll(async () => {
    await host.stop();
  });

  it.each([
    ['GET', '/api/ping', {}, 200],
    ['POST', '/api/ping', {}, 405],
    ['GET', '/api/nowhere', {}, 404],
    ['GET', '/api/items/7', {}, 401],
    ['GET', '/api/items/7', { 'x-functions-key': 'wrong' }, 401],
    ['GET', '/api/items/7', { 'x-functions-key': 'k1' }, 200],
    ['GET', '/api/items/7/detail?code=k1', {}, 200],
    ['POST', '/api/admin/op', { 'x-functions-key': 'k1' }, 401],
    ['POST', '/api/admin/op', { 'x-functions-key': 'm1' }, 204],
  ])('%s %s %j -> %i', async (method, p, headers, status) => {
    const res = await host.fetch(p, { method, headers });
    expect(res.status).toBe(status);
  });

  it('binds route params, optional params and the body', async () => {
    const res = await host.fetch('/api/items/7/detail', { method: 'PUT', headers: { 'x-functions-key': 'k1' }, body: 'hi' });
    expect(await res.json()).toEqual({ id: '7', part: 'detail', method: 'PUT', body: 'hi' });
    const res2 = await host.fetch('/api/items/8?code=k1');
    expect(await res2.json()).toMatchObject({ id: '8', part: null });
  });

  it('rejects bodies over 4 MB', async () => {
    const res = await host.fetch('/api/items/7', { method: 'PUT', headers: { 'x-functions-key': 'k1' }, body: 'x'.repeat(4 * 1024 * 1024 + 1) });
    expect(res.status).toBe(413);
  });

  it('starts through the real DurableClient; client and management API see the same status', async () => {
    const res = await host.fetch('/api/orchestrators/Approval/approval-1', { method: 'POST', headers: { 'x-functions-key': 'k1' }, body: '{"a":1}' });
    expect(res.status).toBe(202);
    const payload = (await res.json()) as { id: string; statusQueryGetUri: string; sendEventPostUri: string };
    expect(payload.id).toBe('approval-1');
    expect(res.headers.get('location')).toBe(payload.statusQueryGetUri);
    expect(payload.statusQueryGetUri.startsWith(`${host.baseUrl}/runtime/webhooks/durabletask/instances/approval-1`)).toBe(true);
    await host.runUntilIdle();

    const viaClient = (await (await host.fetch('/api/client/status/approval-1')).json()) as Record<string, unknown>;
    const plain = await host.fetch(payload.statusQueryGetUri);
    expect(plain.status).toBe(202);
    const viaHttp = (await plain.json()) as Record<string, unknown>;
    expect(viaClient).toEqual({ runtimeStatus: 'Running', customStatus: 'waiting', name: 'Approval', output: null });
    expect(viaHttp).toMatchObject({ runtimeStatus: 'Running', customStatus: 'waiting', name: 'Approval', instanceId: 'approval-1', input: { a: 1 } });

    // the management URLs carry the system key, as in Azure
    expect(new URL(payload.statusQueryGetUri).searchParams.get('code')).toBe(host.systemKey);
    // the same id while running is refused: DTFx's OrchestrationAlreadyExistsException, a 500 from HttpApiHandler.cs
    const again = await host.fetch(`/runtime/webhooks/durabletask/orchestrators/Approval/approval-1?code=${host.systemKey}`, { method: 'POST', body: '{}' });
    expect(again.status).toBe(500);

    const by = (await (await host.fetch('/api/client/by/x')).json()) as string[];
    expect(by).toContain('approval-1');

    expect((await host.fetch('/api/client/raise/approval-1', { method: 'POST' })).status).toBe(202);
    await host.runUntilIdle();
    const done = await host.fetch(payload.statusQueryGetUri);
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ runtimeStatus: 'Completed', output: { ok: true } });
    expect(await (await host.fetch('/api/client/status/approval-1')).json()).toMatchObject({ runtimeStatus: 'Completed', output: { ok: true } });

    const list = (await (await host.fetch(`/runtime/webhooks/durabletask/instances/?runtimeStatus=Completed&code=${host.systemKey}`)).json()) as { instanceId: string }[];
    expect(list.map((i) => i.instanceId)).toContain('approval-1');

    expect(await (await host.fetch('/api/client/purge/approval-1', { method: 'DELETE' })).json()).toEqual({ instancesDeleted: 1 });
    expect((await host.fetch(payload.statusQueryGetUri)).status).toBe(404);
  });

  it('terminates through the real DurableClient', async () => {
    await host.fetch('/api/orchestrators/Waits/w-1?code=k1', { method: 'POST' });
    await host.runUntilIdle();
    expect((await host.fetch('/api/client/terminate/w-1', { method: 'POST' })).status).toBe(202);
    await host.runUntilIdle();
    expect(host.getInstance('w-1')).toMatchObject({ status: 'Terminated', output: 'stop please' });
  });

  it('fires a timer trigger explicitly and on its cron schedule in virtual time', async () => {
    const { timerFires } = fixture;
    timerFires.length = 0;
    await host.fireTimer('Nightly');
    expect(timerFires).toEqual(['Nightly']);
    const before = host.clock.now();
    await host.runUntilIdle({ maxVirtualMs: 26 * 3600 * 1000 });
    // 03:00 UTC on two days after 02:00 UTC start
    expect(timerFires).toEqual(['Nightly', 'Nightly', 'Nightly']);
    expect(new Date(host.clock.now()).getUTCHours()).toBe(3);
    expect(host.clock.now() - before).toBeGreaterThanOrEqual(25 * 3600 * 1000);
    const started = host.listInstances().filter((i) => i.name === 'HelloSeq');
    expect(started.length).toBeGreaterThanOrEqual(3);
  });
});
