import { VirtualClock } from '../../../local/clock';
import { loadLocalTls } from '../../../local/tls';
import { TokenIssuer } from '../../../local/emulators/jwt';
import {
  SAMPLE_DATASET_ID,
  SAMPLE_DATASET_NAME,
  SAMPLE_WORKSPACE_ID,
  SAMPLE_WORKSPACE_NAME,
  SMALL_DATASET_IDS,
  SMALL_WORKSPACE_ID,
  SMALL_WORKSPACE_NAME,
  VIEWER_DATASET_ID,
  VIEWER_WORKSPACE_ID,
  startPowerBiEmulator,
  type PowerBiEmulator,
} from '../../../local/emulators/powerbi';
import { createPowerBiClient, POWERBI_SCOPE, type PowerBiClient } from '../../../src/backends/powerbi/client';
import { codeOf, kindOf } from '../../../src/errors';
import type { ScopedTokens } from '../../../src/refresh/port';
import type { PowerBiTarget } from '../../../src/refresh/target';
import type { RefreshRequest } from '../../../src/refresh/types';

// The adapter's client against the Power BI emulator over HTTPS, tokens from the shared issuer
// for the Power BI audience, on a virtual clock.
const SP = 'a5a5a5a5-0000-4000-8000-00000000aa5a';
const tls = loadLocalTls();

/** Edge fake of the identity chain: a fresh token for the asked scope's audience, counting calls and invalidations. */
class IssuerTokens implements ScopedTokens {
  readonly scopes: string[] = [];
  readonly invalidated: string[] = [];
  readonly issued: string[] = [];
  constructor(private readonly issuer: TokenIssuer) {}
  async getToken(scope: string): Promise<string> {
    this.scopes.push(scope);
    const audience = scope.replace(/\/\.default$/, '');
    const { token } = this.issuer.issue({ aud: audience, tid: 'tenant-1', appid: SP, iss: 'https://sts.windows.net/tenant-1/', idtyp: 'app' });
    this.issued.push(token);
    return token;
  }
  invalidate(scope: string): void {
    this.invalidated.push(scope);
  }
}

let clock: VirtualClock;
let pbi: PowerBiEmulator;
let tokens: IssuerTokens;
let client: PowerBiClient;

beforeEach(async () => {
  clock = new VirtualClock();
  const issuer = new TokenIssuer(clock);
  pbi = await startPowerBiEmulator({ clock, issuer, tls, servicePrincipalId: SP, defaultDurationMs: 10_000 });
  tokens = new IssuerTokens(issuer);
  client = createPowerBiClient({ apiBaseUrl: pbi.apiBase, allowedHosts: [pbi.host], tokens, requestTimeoutMs: 5_000 });
});
afterEach(async () => {
  await client.close();
  await pbi.close();
});

const byIds = (workspaceId = SAMPLE_WORKSPACE_ID, semanticModelId = SAMPLE_DATASET_ID): PowerBiTarget => ({ backend: 'powerbi', workspace: workspaceId, semanticModel: semanticModelId, workspaceId, semanticModelId });
const refresh = (overrides: Partial<RefreshRequest> = {}): RefreshRequest => ({ type: 'full', commitMode: 'transactional', maxParallelism: 10, retryCount: 0, objects: [{ table: 'DimDate' }], ...overrides });

async function rejectionOf(promise: Promise<unknown>): Promise<Error & { retryable?: boolean; retryAfterMs?: number; httpStatus?: number; rootActivityId?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

describe('Power BI client against the emulator over HTTPS', () => {
  it('submits an enhanced refresh, follows it from notStarted to succeeded, and finds it in the history by requestId', async () => {
    const target = byIds();
    const submitted = await client.submitRefresh(target, refresh());
    expect(submitted.refreshId).toMatch(/^[0-9a-f-]{36}$/);
    expect(submitted.serviceRequestId).toBe(submitted.refreshId);
    const refreshId = submitted.refreshId as string;
    const first = await client.getRefresh(target, refreshId);
    expect(first).toMatchObject({ refreshId, status: 'notStarted', type: 'Full', numberOfAttempts: 0 });
    clock.advanceBy(3_000);
    expect((await client.getRefresh(target, refreshId)).status).toBe('inProgress');
    const running = await client.listRefreshes(target);
    expect(running[0]).toMatchObject({ refreshId, status: 'inProgress', refreshType: 'ViaEnhancedApi' });
    clock.advanceBy(10_000);
    const done = await client.getRefresh(target, refreshId);
    expect(done).toMatchObject({ status: 'succeeded', objects: [{ table: 'DimDate', status: 'succeeded' }] });
    expect(done.endTime).toBeDefined();
    expect((await client.listRefreshes(target))[0]).toMatchObject({ refreshId, status: 'succeeded', endTime: done.endTime });
    // The body the service got: reference spellings, no notifyOption; every call asked for the Power BI scope.
    const post = pbi.requests.find((entry) => entry.operation === 'submitRefresh');
    expect(JSON.parse(post?.body ?? '{}')).toEqual({ type: 'Full', commitMode: 'Transactional', maxParallelism: 10, retryCount: 0, objects: [{ table: 'DimDate' }] });
    expect(new Set(tokens.scopes)).toEqual(new Set([POWERBI_SCOPE]));
    expect(pbi.requests.find((entry) => entry.operation === 'listRefreshes')?.query).toContain('$top=60');
  });

  it('sends the run time left as the per-attempt timeout, which ends a long refresh TimedOut in the service', async () => {
    pbi.setDefaultDurationMs(3_600_000);
    const { refreshId = '' } = await client.submitRefresh(byIds(), refresh({ objects: [] }), 120_000);
    expect(JSON.parse(pbi.requests.find((entry) => entry.operation === 'submitRefresh')?.body ?? '{}')).toMatchObject({ timeout: '00:02:00' });
    clock.advanceBy(125_000);
    expect((await client.getRefresh(byIds(), refreshId)).status).toBe('timedOut');
  });

  it('submits partialBatch without applyRefreshPolicy by sending false (the service default true is refused with partialBatch)', async () => {
    const { refreshId } = await client.submitRefresh(byIds(), refresh({ commitMode: 'partialBatch' }));
    expect(refreshId).toEqual(expect.any(String));
    expect(JSON.parse(pbi.requests.find((entry) => entry.operation === 'submitRefresh')?.body ?? '{}')).toMatchObject({ commitMode: 'PartialBatch', applyRefreshPolicy: false });
  });

  it('resolves names once: the workspace by an OData filter (a quote doubled), the model among the datasets; GUIDs need no call', async () => {
    const resolved = await client.resolveTarget({ backend: 'powerbi', workspace: SAMPLE_WORKSPACE_NAME, semanticModel: SAMPLE_DATASET_NAME });
    expect(resolved).toEqual({ backend: 'powerbi', workspace: SAMPLE_WORKSPACE_NAME, semanticModel: SAMPLE_DATASET_NAME, workspaceId: SAMPLE_WORKSPACE_ID, semanticModelId: SAMPLE_DATASET_ID });
    const groups = pbi.requests.find((entry) => entry.operation === 'listGroups');
    expect(new URLSearchParams(groups?.query ?? '').get('$filter')).toBe(`name eq '${SAMPLE_WORKSPACE_NAME}'`);

    const quoted = await client.resolveTarget({ backend: 'powerbi', workspace: SMALL_WORKSPACE_NAME, semanticModel: SMALL_DATASET_IDS[1] });
    expect(quoted).toMatchObject({ workspaceId: SMALL_WORKSPACE_ID, semanticModelId: SMALL_DATASET_IDS[1] });
    expect(new URLSearchParams(pbi.requests.filter((entry) => entry.operation === 'listGroups')[1]?.query ?? '').get('$filter')).toBe("name eq 'O''Brien Reports'");

    const before = pbi.requests.length;
    expect(await client.resolveTarget({ backend: 'powerbi', workspace: SAMPLE_WORKSPACE_ID.toUpperCase(), semanticModel: SAMPLE_DATASET_ID })).toMatchObject({ workspaceId: SAMPLE_WORKSPACE_ID, semanticModelId: SAMPLE_DATASET_ID });
    expect(pbi.requests.length).toBe(before);
  });

  it('refuses a name that matches two models (naming their ids) and one that matches none', async () => {
    const ambiguous = await rejectionOf(client.resolveTarget({ backend: 'powerbi', workspace: SMALL_WORKSPACE_NAME, semanticModel: 'AdventureWorks' }));
    expect(codeOf(ambiguous)).toBe('POWERBI_INVALID_TARGET');
    expect(ambiguous.message).toContain(SMALL_DATASET_IDS[0]);
    expect(ambiguous.message).toContain(SMALL_DATASET_IDS[1]);
    const missing = await rejectionOf(client.resolveTarget({ backend: 'powerbi', workspace: 'No Such Workspace', semanticModel: 'AdventureWorks' }));
    expect(codeOf(missing)).toBe('POWERBI_NOT_FOUND');
    expect(kindOf(missing)).toBe('notFound');
    expect(missing.message).toMatch(/No workspace named "No Such Workspace" is visible to this app/);
  });

  it('reads the 400 "another refresh" as kind conflict (not retryable), with the service words', async () => {
    pbi.startOutsideRefresh(SAMPLE_DATASET_ID, { durationMs: 600_000 });
    const error = await rejectionOf(client.submitRefresh(byIds(), refresh()));
    expect(codeOf(error)).toBe('POWERBI_CONFLICT');
    expect(kindOf(error)).toBe('conflict');
    expect(error.retryable).toBe(false);
    expect(error.httpStatus).toBe(400);
    expect(error.message).toMatch(/Another refresh request is already executing/);
    // The scheduled refresh is in the history (active), but has no execution details.
    const [active] = await client.listRefreshes(byIds());
    expect(active).toMatchObject({ status: 'inProgress', refreshType: 'Scheduled' });
    expect(kindOf(await rejectionOf(client.getRefresh(byIds(), active?.refreshId ?? '')))).toBe('notFound');
  });

  it('carries 429 Retry-After as throttled; 5xx and a reset as transient; nothing is retried inside the client', async () => {
    pbi.inject({ operation: 'getRefresh', fault: { status: 429, retryAfterSeconds: 20 } });
    const { refreshId = '' } = await client.submitRefresh(byIds(), refresh());
    const throttled = await rejectionOf(client.getRefresh(byIds(), refreshId));
    expect([codeOf(throttled), kindOf(throttled), throttled.retryable, throttled.retryAfterMs]).toEqual(['POWERBI_THROTTLED', 'throttled', true, 20_000]);
    pbi.inject({ operation: 'listRefreshes', fault: { status: 503 } });
    const unavailable = await rejectionOf(client.listRefreshes(byIds()));
    expect([codeOf(unavailable), kindOf(unavailable), unavailable.retryable]).toEqual(['POWERBI_TRANSIENT', 'transient', true]);
    pbi.inject({ operation: 'listRefreshes', fault: { kind: 'reset' } });
    const reset = await rejectionOf(client.listRefreshes(byIds()));
    expect([codeOf(reset), kindOf(reset), reset.retryable]).toEqual(['POWERBI_TRANSIENT', 'transient', true]);
    expect(reset.message).not.toContain(tokens.issued[tokens.issued.length - 1] as string);
    expect(pbi.countRequests('listRefreshes')).toBe(2);
  });

  it('drops the token on 401/403 and says what to check; a Viewer may read but not refresh', async () => {
    const viewer = byIds(VIEWER_WORKSPACE_ID, VIEWER_DATASET_ID);
    expect(await client.listRefreshes(viewer)).toEqual([]);
    const refused = await rejectionOf(client.submitRefresh(viewer, refresh()));
    expect([codeOf(refused), kindOf(refused), refused.retryable, refused.httpStatus]).toEqual(['POWERBI_UNAUTHORIZED', 'unauthorized', true, 403]);
    expect(tokens.invalidated).toEqual([POWERBI_SCOPE]);
    expect(refused.message).toMatch(/role in the workspace/);
  });

  it('cancels a running enhanced refresh; an unknown id is kind notFound', async () => {
    pbi.setDefaultDurationMs(600_000);
    const { refreshId = '' } = await client.submitRefresh(byIds(), refresh());
    clock.advanceBy(5_000);
    await client.cancelRefresh(byIds(), refreshId);
    expect((await client.getRefresh(byIds(), refreshId)).status).toBe('cancelled');
    expect((await client.listRefreshes(byIds()))[0]).toMatchObject({ refreshId, status: 'cancelled' });
    const unknown = await rejectionOf(client.cancelRefresh(byIds(), '00000000-0000-4000-8000-000000000000'));
    expect([codeOf(unknown), kindOf(unknown)]).toEqual(['POWERBI_NOT_FOUND', 'notFound']);
  });

  it('answers a 202 without Location with no refresh id, and the refresh is in the history (the activity finds it there)', async () => {
    pbi.applyScenario('no-location');
    const submitted = await client.submitRefresh(byIds(), refresh());
    expect(submitted.refreshId).toBeUndefined();
    const [row] = await client.listRefreshes(byIds());
    expect(row).toMatchObject({ status: 'notStarted', refreshType: 'ViaEnhancedApi' });
    expect((await client.getRefresh(byIds(), row?.refreshId ?? '')).status).toBe('notStarted');
  });

  it('syncs query scale-out replicas: running until the read version reaches the commit the sync asked for (int64 versions)', async () => {
    const target = byIds(SMALL_WORKSPACE_ID, SMALL_DATASET_IDS[1]);
    const { refreshId = '' } = await client.submitRefresh(target, refresh());
    clock.advanceBy(60_000);
    expect((await client.getRefresh(target, refreshId)).status).toBe('succeeded');
    const sync = await client.submitSync(target);
    expect(sync.operationId).toMatch(/^qso:\d{18,}$/);
    const operationId = sync.operationId as string;
    expect(BigInt(operationId.slice(4)) > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    const running = await client.getSync(target, operationId);
    expect(running).toMatchObject({ operationId, status: 'running' });
    expect(running.serviceState).toMatch(/commitVersion \d+, minActiveReadVersion \d+, scaleOutStatus Enabled/);
    clock.advanceBy(60_000);
    expect(await client.getSync(target, operationId)).toMatchObject({ status: 'succeeded' });
  });

  it('refuses a host outside POWERBI_ALLOWED_HOSTS before asking for a token', async () => {
    const elsewhere = createPowerBiClient({ apiBaseUrl: pbi.apiBase, allowedHosts: ['api.powerbi.com'], tokens, requestTimeoutMs: 5_000 });
    try {
      const error = await rejectionOf(elsewhere.listRefreshes(byIds()));
      expect(codeOf(error)).toBe('POWERBI_HOST_NOT_ALLOWED');
      expect(tokens.scopes).toEqual([]);
      expect(pbi.requests).toHaveLength(0);
    } finally {
      await elsewhere.close();
    }
  });
});

