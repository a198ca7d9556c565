import { request } from 'undici';
import { VirtualClock } from '../../../local/clock';
import { loadLocalTls } from '../../../local/tls';
import { AAS_AUDIENCE, startAasEmulator, type AasEmulator } from '../../../local/emulators/aas';
import { NOT_STARTED_MS, type TableBehaviour } from '../../../local/emulators/engine/refreshEngine';
import { TokenIssuer } from '../../../local/emulators/jwt';
import { POWERBI_AUDIENCE, powerBiMirrorOf, startPowerBiEmulator, stableGuid, type PowerBiEmulator } from '../../../local/emulators/powerbi';

// One refresh engine behind two HTTP surfaces: the same table of cases, run through the AAS and
// the Power BI REST APIs, must end in the same states (each surface's names mapped back to the
// engine's). A surface that planned, committed or cancelled differently fails here.

const SP = 'a5a5a5a5-0000-4000-8000-00000000aa5a';
const models = {
  servers: [{ name: 'myserver', models: [{ name: 'AdventureWorks', tables: [{ name: 'A', durationMs: 1_000 }, { name: 'B', durationMs: 2_000 }, { name: 'C', durationMs: 4_000 }, { name: 'D', durationMs: 1_000 }] }] }],
};
const tls = loadLocalTls();

interface Observed {
  status: string;
  objects: string[];
}

interface Surface {
  name: string;
  clock: VirtualClock;
  submit(body: Record<string, unknown>): Promise<string>;
  get(id: string): Promise<Observed>;
  cancel(id: string): Promise<void>;
  setTable(table: string, behaviour: TableBehaviour): void;
  close(): Promise<void>;
}

const FROM_POWER_BI: Record<string, string> = { NotStarted: 'notStarted', InProgress: 'inProgress', Completed: 'succeeded', Failed: 'failed', Cancelled: 'cancelled', TimedOut: 'timedOut' };

async function json(url: string, method: 'GET' | 'POST' | 'DELETE', token: string, body?: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> }> {
  const response = await request(url, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function aasSurface(): Promise<Surface> {
  const clock = new VirtualClock();
  const issuer = new TokenIssuer(clock);
  const emulator: AasEmulator = await startAasEmulator({ clock, issuer, tls, models });
  const token = () => issuer.issue({ aud: AAS_AUDIENCE, tid: 't', appid: SP, iss: 'https://sts.windows.net/t/' }).token;
  const base = `${emulator.url}/servers/myserver/models/AdventureWorks/refreshes`;
  return {
    name: 'AAS',
    clock,
    submit: async (body) => {
      const reply = await json(base, 'POST', token(), body);
      expect(reply.status).toBe(202);
      return String(reply.headers.location).split('/').pop() ?? '';
    },
    get: async (id) => {
      const reply = await json(`${base}/${id}`, 'GET', token());
      return { status: String(reply.body.status), objects: (reply.body.objects as Array<{ table: string; status: string }>).map((object) => `${object.table}:${object.status}`) };
    },
    cancel: async (id) => {
      expect((await json(`${base}/${id}`, 'DELETE', token())).status).toBe(200);
    },
    setTable: (table, behaviour) => emulator.setTable('myserver', 'AdventureWorks', table, behaviour),
    close: () => emulator.close(),
  };
}

async function powerBiSurface(): Promise<Surface> {
  const clock = new VirtualClock();
  const issuer = new TokenIssuer(clock);
  const emulator: PowerBiEmulator = await startPowerBiEmulator({ clock, issuer, tls, workspaces: powerBiMirrorOf(models, SP) });
  const token = () => issuer.issue({ aud: POWERBI_AUDIENCE, tid: 't', appid: SP, iss: 'https://sts.windows.net/t/', idtyp: 'app' }).token;
  const dataset = stableGuid('dataset:myserver/AdventureWorks');
  const base = `${emulator.apiBase}/groups/${stableGuid('workspace:myserver')}/datasets/${dataset}/refreshes`;
  return {
    name: 'Power BI',
    clock,
    submit: async (body) => {
      const reply = await json(base, 'POST', token(), body.commitMode === 'partialBatch' ? { ...body, applyRefreshPolicy: false } : body);
      expect(reply.status).toBe(202);
      return String(reply.headers['x-ms-request-id']);
    },
    get: async (id) => {
      const reply = await json(`${base}/${id}`, 'GET', token());
      const objects = (reply.body.objects as Array<{ table: string; status: string }> | undefined) ?? [];
      return { status: FROM_POWER_BI[String(reply.body.extendedStatus)] ?? String(reply.body.extendedStatus), objects: objects.map((object) => `${object.table}:${FROM_POWER_BI[object.status] ?? object.status}`) };
    },
    cancel: async (id) => {
      expect((await json(`${base}/${id}`, 'DELETE', token())).status).toBe(200);
    },
    setTable: (table, behaviour) => emulator.setTable(dataset, table, behaviour),
    close: () => emulator.close(),
  };
}

interface Case {
  name: string;
  tables?: Record<string, TableBehaviour>;
  body: Record<string, unknown>;
  /** Clock steps (ms) after the submit, each followed by the expected state. */
  steps: Array<{ after: number; cancel?: boolean; expect: Observed }>;
}

const cases: Case[] = [
  {
    name: 'batches of maxParallelism, each as long as its slowest table',
    body: { type: 'full', maxParallelism: 2 },
    steps: [
      { after: NOT_STARTED_MS + 500, expect: { status: 'inProgress', objects: ['A:inProgress', 'B:inProgress', 'C:notStarted', 'D:notStarted'] } },
      { after: 2_000, expect: { status: 'inProgress', objects: ['A:succeeded', 'B:succeeded', 'C:inProgress', 'D:inProgress'] } },
      { after: 3_500, expect: { status: 'succeeded', objects: ['A:succeeded', 'B:succeeded', 'C:succeeded', 'D:succeeded'] } },
    ],
  },
  {
    name: 'partialBatch keeps the committed batch when a later one fails',
    tables: { C: { failAttempts: 1 } },
    body: { type: 'full', maxParallelism: 2, commitMode: 'partialBatch' },
    steps: [{ after: 60_000, expect: { status: 'failed', objects: ['A:succeeded', 'B:succeeded', 'C:failed', 'D:cancelled'] } }],
  },
  {
    name: 'transactional keeps nothing when a batch fails',
    tables: { C: { failAttempts: 1 } },
    body: { type: 'full', maxParallelism: 2 },
    steps: [{ after: 60_000, expect: { status: 'failed', objects: ['A:cancelled', 'B:cancelled', 'C:failed', 'D:cancelled'] } }],
  },
  {
    name: 'retries take time and then succeed',
    tables: { A: { failAttempts: 2, durationMs: 10_000 } },
    body: { type: 'full', retryCount: 2, objects: [{ table: 'A' }] },
    steps: [
      { after: NOT_STARTED_MS + 25_000, expect: { status: 'inProgress', objects: ['A:inProgress'] } },
      { after: 5_000, expect: { status: 'succeeded', objects: ['A:succeeded'] } },
    ],
  },
  {
    name: 'cancel during partialBatch keeps the batches already committed',
    body: { type: 'full', maxParallelism: 2, commitMode: 'partialBatch' },
    steps: [{ after: NOT_STARTED_MS + 3_000, cancel: true, expect: { status: 'cancelled', objects: ['A:succeeded', 'B:succeeded', 'C:cancelled', 'D:cancelled'] } }],
  },
];

describe.each([
  ['AAS', aasSurface],
  ['Power BI', powerBiSurface],
])('%s surface of the shared engine', (_name, startSurface) => {
  let surface: Surface;
  beforeEach(async () => {
    surface = await startSurface();
  });
  afterEach(async () => surface.close());

  it.each(cases.map((entry) => [entry.name, entry] as const))('%s', async (_case, entry) => {
    for (const [table, behaviour] of Object.entries(entry.tables ?? {})) surface.setTable(table, behaviour);
    const id = await surface.submit(entry.body);
    for (const step of entry.steps) {
      surface.clock.advanceBy(step.after);
      if (step.cancel === true) await surface.cancel(id);
      expect(await surface.get(id)).toEqual(step.expect);
    }
  });
});
