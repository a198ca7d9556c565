import { request } from 'undici';
import { VirtualClock } from '../../../local/clock';
import { loadLocalTls } from '../../../local/tls';
import { startEmulators, SAMPLE_SERVICE_PRINCIPAL_CLIENT_ID, type Emulators } from '../../../local/emulators';
import { AAS_AUDIENCE } from '../../../local/emulators/aas';
import type { BackendKind } from '../../../local/emulators/backends';
import { NOT_STARTED_MS } from '../../../local/emulators/engine/refreshEngine';
import { POWERBI_AUDIENCE, stableGuid } from '../../../local/emulators/powerbi';

// emulators.backend(kind): the same test code drives either service by model name, as the
// parametrised suites do; a backend whose facade maps a name, a count or a fault wrongly fails here.

const models = { servers: [{ name: 'myserver', models: ['M1', 'M2'].map((name) => ({ name, tables: [{ name: 'T', durationMs: 10_000 }] })) }] };
const clock = new VirtualClock();
let emulators: Emulators;
beforeAll(async () => {
  emulators = await startEmulators({ clock, tls: loadLocalTls(), models });
});
afterAll(async () => emulators.close());
afterEach(() => {
  emulators.backend('aas').reset();
  emulators.backend('powerbi').reset();
});

/** A raw POST of a refresh, as each service takes it. */
async function submit(kind: BackendKind, model: string): Promise<number> {
  const aas = kind === 'aas';
  const token = emulators.issuer.issue({ aud: aas ? AAS_AUDIENCE : POWERBI_AUDIENCE, tid: 't', appid: SAMPLE_SERVICE_PRINCIPAL_CLIENT_ID, iss: 'https://sts.windows.net/t/', idtyp: 'app' }).token;
  const url = aas
    ? `${emulators.aas.url}/servers/myserver/models/${model}/refreshes`
    : `${emulators.powerbi.apiBase}/groups/${stableGuid('workspace:myserver')}/datasets/${stableGuid(`dataset:myserver/${model}`)}/refreshes`;
  try {
    const response = await request(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"type":"full"}' });
    await response.body.text();
    return response.statusCode;
  } catch {
    return 0;
  }
}

describe.each(['aas', 'powerbi'] as const)('%s backend facade', (kind) => {
  const backend = () => emulators.backend(kind);

  it('names the model as an app request does', () => {
    expect(backend().target('M1')).toEqual(kind === 'aas' ? { server: emulators.aas.serverName('myserver'), model: 'M1' } : { workspace: 'myserver', semanticModel: 'M1' });
    expect(backend().host).toBe(kind === 'aas' ? emulators.aas.host : emulators.powerbi.host);
  });

  it('counts and logs requests by model name', async () => {
    const before = backend().countRequests('submitRefresh', 'M2');
    expect(await submit(kind, 'M2')).toBe(202);
    expect(backend().countRequests('submitRefresh', 'M2')).toBe(before + 1);
    expect(backend().requests.at(-1)).toMatchObject({ operation: 'submitRefresh', model: 'M2', status: 202, authorized: true });
    expect(backend().refreshes('myserver', 'M2')[0]?.status).toBe('notStarted');
    clock.advanceBy(NOT_STARTED_MS + 10_000);
    expect(backend().refreshes('myserver', 'M2')[0]?.status).toBe('succeeded');
  });

  it('a fault for one model hits only that model; resetAfterProcessing starts the refresh without an answer', async () => {
    backend().inject({ operation: 'submitRefresh', model: 'M1', fault: { kind: 'resetAfterProcessing' } });
    expect(await submit(kind, 'M2')).toBe(202);
    expect(await submit(kind, 'M1')).toBe(0);
    expect(backend().activeRefresh('myserver', 'M1')?.status).toBe('notStarted');
    backend().forgetRefreshes('myserver', 'M1');
    expect(backend().refreshes('myserver', 'M1')).toEqual([]);
    clock.advanceBy(NOT_STARTED_MS + 10_000);
  });

  it("someone else's refresh refuses a submit until it ends; setTable makes a table fail", async () => {
    backend().startOutsideRefresh('myserver', 'M1', { durationMs: 60_000 });
    expect(await submit(kind, 'M1')).toBe(kind === 'aas' ? 409 : 400);
    clock.advanceBy(60_000);
    backend().setTable('myserver', 'M1', 'T', { failAttempts: 1 });
    expect(await submit(kind, 'M1')).toBe(202);
    clock.advanceBy(NOT_STARTED_MS + 10_000);
    expect(backend().refreshes('myserver', 'M1')[0]).toMatchObject({ status: 'failed', objects: [{ table: 'T', partition: 'T', status: 'failed' }] });
  });
});
