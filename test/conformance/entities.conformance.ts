/**
 * Durable entities on both engines: the local durable host's entity emulation against the real
 * Durable extension (TaskEntityShim, out-of-process batches) over Azurite, with one small app
 * (fixtures/entityApp.ts) driven through its own HTTP functions and the Durable HTTP API. What a
 * user sees must be the same; the history is compared by shape, as in engines.conformance.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { untilDefined } from '../support/virtualTime';
import { differences, startEngine, type Engine, type Observation } from './harness';

const ENTRY = path.join(__dirname, 'fixtures', 'entityApp.ts');
const FINISHED = new Set(['Completed', 'Failed', 'Terminated']);

let local: Engine;
let real: Engine;
const logs: string[] = [];

beforeAll(async () => {
  local = await startEngine('local', { logs }, ENTRY);
  real = await startEngine('real', { logs }, ENTRY);
}, 300_000);

afterAll(async () => {
  await local?.stop();
  await real?.stop();
  // Both engines' logs, for a look when the engines disagree.
  const out = path.join(__dirname, '..', '..', '.local', 'conformance', 'entities-logs.txt');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, logs.join('\n'));
}, 120_000);

/** Polls every 250 ms, for at most a minute, until `fn` gives a value. */
const until = <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => untilDefined(fn, what, 60_000, 250);

async function finished(engine: Engine, id: string): Promise<{ runtimeStatus: string; output: unknown; historyTypes: string[] }> {
  return until(`${engine.kind} ${id} to finish`, async () => {
    const status = await engine.durableStatus(id);
    return FINISHED.has(status.runtimeStatus) ? { runtimeStatus: status.runtimeStatus, output: status.raw.output, historyTypes: status.historyTypes } : undefined;
  });
}

async function run(engine: Engine): Promise<Observation> {
  const start = async (name: string, input: unknown): Promise<string> => {
    const answer = await engine.api('POST', `start/${name}`, input);
    if (answer.status !== 202) throw new Error(`[${engine.kind}] start ${name}: ${answer.status}`);
    return (answer.body as { id: string }).id;
  };
  const read = async (key: string): Promise<unknown> => (await engine.api('GET', `entities/Counter/${key}`)).body;

  const used = await finished(engine, await start('useCounter', 'k1'));
  const neverSignalled = await read('nobody');
  for (const n of [3, 4]) if ((await engine.api('POST', 'entities/Counter/k2/add', n)).status !== 202) throw new Error(`[${engine.kind}] signal add failed`);
  const afterSignals = await until('two client signals', async () => {
    const state = (await read('k2')) as { entityState: unknown };
    return state.entityState === 7 ? state : undefined;
  });
  const unknownSignal = await engine.api('POST', 'entities/NoSuchEntity/k/add', 1);
  // Calling an entity no function answers to: once the first episode is recorded, the state it leaves.
  const unknownId = await start('callUnknownEntity', null);
  const unknownCall = await until(`${engine.kind} ${unknownId}'s first episode`, async () => {
    const status = await engine.durableStatus(unknownId);
    return status.historyTypes.includes('ExecutionStarted') ? { runtimeStatus: status.runtimeStatus, historyTypes: status.historyTypes } : undefined;
  });
  const deleted = await engine.rpc('entities/counter/k2', { method: 'DELETE' });
  const afterDelete = await until('the delete', async () => {
    const res = await engine.rpc('entities/counter/k2');
    return res.status === 404 ? res.status : undefined;
  });
  const listed = await engine.rpc('instances/?instanceIdPrefix=%40counter%40');
  const entries = ((await listed.json()) as { instanceId: string; name: string; runtimeStatus: string; input: unknown; customStatus: unknown }[])
    // The scheduler state's message sorter holds times and ids: compared by its presence only.
    .map((e) => {
      const input = e.input && typeof e.input === 'object' && 'sorter' in e.input ? { ...e.input, sorter: 'kept' } : e.input;
      return `${e.instanceId} ${e.name} ${e.runtimeStatus} input=${JSON.stringify(input)} customStatus=${JSON.stringify(e.customStatus)}`;
    })
    .sort();
  return {
    outcome: {
      useCounter: { runtimeStatus: used.runtimeStatus, output: used.output },
      neverSignalled,
      afterSignals,
      unknownSignal: unknownSignal.status,
      unknownSignalError: (unknownSignal.body as { error?: string } | undefined)?.error ?? null,
      unknownCall,
      deleteAnswer: deleted.status,
      afterDelete,
      listedEntities: entries,
    },
    historyTypes: used.historyTypes,
  };
}

describe('durable entities: local durable host vs the real Durable extension', () => {
  it('signals, calls with answers and failures, client reads, unknown names, delete, listing', async () => {
    const [onLocal, onReal] = await Promise.all([run(local), run(real)]);
    const found = differences('entities', onLocal, onReal);
    console.log(`entities:\nlocal ${JSON.stringify(onLocal, null, 1)}\nreal ${JSON.stringify(onReal, null, 1)}\n${found.length === 0 ? '  no difference' : found.map((d) => `  DIFFERENCE ${d}`).join('\n')}`);
    const expected = {
      useCounter: { runtimeStatus: 'Completed', output: { afterSignal: 5, afterCall: 15, failure: '[object Object]', echo: 'echo 15' } },
      neverSignalled: { entityExists: false, entityState: null },
      afterSignals: { entityExists: true, entityState: 7 },
      unknownSignal: 400,
      // Neither failed nor going on: the extension cannot schedule the call (see the local host's README).
      unknownCall: { runtimeStatus: 'Running', historyTypes: ['ExecutionStarted'] },
      deleteAnswer: 202,
      afterDelete: 404,
      // Entity instances are listed, named by their scheduler id, Running even once deleted.
      listedEntities: [
        '@counter@k1 @counter@k1 Running input={"exists":true,"state":"15","sorter":"kept"} customStatus={"entityExists":true}',
        '@counter@k2 @counter@k2 Running input={"sorter":"kept"} customStatus={}',
      ],
    };
    expect(onReal.outcome).toMatchObject(expected);
    expect(onLocal.outcome).toMatchObject(expected);
    expect(found).toEqual([]);
  }, 300_000);
});
