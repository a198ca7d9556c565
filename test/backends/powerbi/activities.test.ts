import { InvocationContext } from '@azure/functions';
import { Agent } from 'undici';
import { VirtualClock } from '../../../local/clock';
import { loadLocalTls } from '../../../local/tls';
import { TokenIssuer } from '../../../local/emulators/jwt';
import { SAMPLE_DATASET_ID, SAMPLE_WORKSPACE_ID, startPowerBiEmulator, type PowerBiEmulator } from '../../../local/emulators/powerbi';
import { createActivities } from '../../../src/activities/activities';
import { backends } from '../../../src/backends';
import { loadConfig } from '../../../src/config/config';
import type { ScopedTokens } from '../../../src/refresh/port';
import { createBackendClients, type BackendClients } from '../../../src/refresh/registry';
import type { PowerBiTarget } from '../../../src/refresh/target';
import type { RefreshRequest } from '../../../src/refresh/types';

// The app's activities with the Power BI adapter against the emulator over TLS: the submit that
// must happen at most once per run, whatever Power BI answers.
const SP = 'a5a5a5a5-0000-4000-8000-00000000aa5a';
const tls = loadLocalTls();
let clock: VirtualClock;
let pbi: PowerBiEmulator;
let clients: BackendClients;
let callbackDispatcher: Agent;

class IssuerTokens implements ScopedTokens {
  constructor(private readonly issuer: TokenIssuer) {}
  async getToken(scope: string): Promise<string> {
    return this.issuer.issue({ aud: scope.replace(/\/\.default$/, ''), tid: 'tenant-1', appid: SP, iss: 'https://sts.windows.net/tenant-1/', idtyp: 'app' }).token;
  }
  invalidate(): void {}
}

beforeEach(async () => {
  clock = new VirtualClock();
  const issuer = new TokenIssuer(clock);
  pbi = await startPowerBiEmulator({ clock, issuer, tls, servicePrincipalId: SP, defaultDurationMs: 10_000 });
  const config = loadConfig({ AUTH_MODE: 'managedIdentity', POWERBI_API_BASE_URL: pbi.apiBase, POWERBI_ALLOWED_HOSTS: pbi.host });
  clients = createBackendClients(backends, { config, tokens: new IssuerTokens(issuer), requestTimeoutMs: 5_000 });
  callbackDispatcher = new Agent();
});
afterEach(async () => {
  await clients.close();
  await callbackDispatcher.close();
  await pbi.close();
});

const context = () => new InvocationContext({ invocationId: 'test', functionName: 'submitRefresh', logHandler: () => undefined });
const target: PowerBiTarget = { backend: 'powerbi', workspace: 'Sales Analytics', semanticModel: 'AdventureWorks', workspaceId: SAMPLE_WORKSPACE_ID, semanticModelId: SAMPLE_DATASET_ID };
const refresh: RefreshRequest = { type: 'full', commitMode: 'transactional', maxParallelism: 10, retryCount: 0, objects: [{ table: 'DimDate' }] };

function activities() {
  return createActivities({ backends: clients, callbackDispatcher, callbackAllowedHosts: [], callbackTimeoutMs: 1_000 });
}

async function snapshot() {
  const inspected = await activities().inspectModel({ target, refresh }, context());
  if (inspected.kind !== 'inspected') throw new Error(`inspect: ${JSON.stringify(inspected)}`);
  return { knownRefreshIds: inspected.knownRefreshIds, notBefore: new Date(clock.now() - 1_000).toISOString() };
}

describe('Power BI through the activities', () => {
  it('a 202 without Location: the submit finds its refresh in the history and polls it (not a second POST)', async () => {
    const seen = await snapshot();
    pbi.applyScenario('no-location');
    const submitted = await activities().submitRefresh({ target, refresh, ...seen }, context());
    expect(submitted).toEqual({ kind: 'submitted', refreshId: pbi.refreshes(SAMPLE_DATASET_ID)[0]?.refreshId, adopted: false });
    expect(pbi.countRequests('submitRefresh')).toBe(1);
    const polled = await activities().getRefreshStatus({ target, refreshId: submitted.kind === 'submitted' ? submitted.refreshId : '' }, context());
    expect(polled).toMatchObject({ kind: 'status', refresh: { status: 'notStarted' } });
  });

  it('a lost answer (the refresh started, the reply never came): the retried activity adopts it instead of submitting again', async () => {
    const seen = await snapshot();
    pbi.inject({ operation: 'submitRefresh', fault: { kind: 'resetAfterProcessing' } });
    await expect(activities().submitRefresh({ target, refresh, ...seen }, context())).rejects.toThrow(/POWERBI_TRANSIENT/);
    const retried = await activities().submitRefresh({ target, refresh, ...seen }, context());
    expect(retried).toEqual({ kind: 'submitted', refreshId: pbi.refreshes(SAMPLE_DATASET_ID)[0]?.refreshId, adopted: true });
    // One POST in all: the retry found the refresh in the history before posting.
    expect(pbi.countRequests('submitRefresh')).toBe(1);
    expect(pbi.refreshes(SAMPLE_DATASET_ID)).toHaveLength(1);
  });

  it('a scheduled refresh someone started after the snapshot: busy (Power BI 400), not a rejection', async () => {
    const seen = await snapshot();
    clock.advanceBy(2_000);
    pbi.startOutsideRefresh(SAMPLE_DATASET_ID, { durationMs: 600_000 });
    const submitted = await activities().submitRefresh({ target, refresh, ...seen }, context());
    expect(submitted).toMatchObject({ kind: 'busy' });
  });
});
