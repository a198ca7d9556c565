import { request } from 'undici';
import { VirtualClock } from '../../../local/clock';
import { loadLocalTls } from '../../../local/tls';
import { NOT_STARTED_MS } from '../../../local/emulators/engine/refreshEngine';
import { TokenIssuer } from '../../../local/emulators/jwt';
import {
  POWERBI_AUDIENCE,
  SAMPLE_DATASET_ID,
  SAMPLE_WORKSPACE_ID,
  SMALL_DATASET_IDS,
  SMALL_WORKSPACE_ID,
  startPowerBiEmulator,
  VIEWER_DATASET_ID,
  VIEWER_WORKSPACE_ID,
  type PowerBiDescription,
  type PowerBiEmulator,
} from '../../../local/emulators/powerbi';

// The Power BI surface over real HTTPS with tokens from the shared issuer, on a virtual clock.
const SP = 'a5a5a5a5-0000-4000-8000-00000000aa5a';
const tls = loadLocalTls();
let clock: VirtualClock;
let issuer: TokenIssuer;
let pbi: PowerBiEmulator;

const fourTables: PowerBiDescription = {
  workspaces: [
    {
      id: SAMPLE_WORKSPACE_ID,
      name: 'Sales Analytics',
      roles: { [SP]: 'Member' },
      datasets: [{ id: SAMPLE_DATASET_ID, name: 'AdventureWorks', tables: [{ name: 'A', durationMs: 1_000 }, { name: 'B', durationMs: 2_000 }, { name: 'C', durationMs: 4_000 }, { name: 'D', durationMs: 1_000 }] }],
    },
  ],
};

async function start(workspaces?: PowerBiDescription): Promise<void> {
  clock = new VirtualClock();
  issuer = new TokenIssuer(clock);
  pbi = await startPowerBiEmulator({ clock, issuer, tls, workspaces, servicePrincipalId: SP });
}
afterEach(async () => pbi.close());

const token = (claims: { aud?: string; appid?: string } = {}) =>
  issuer.issue({ aud: claims.aud ?? POWERBI_AUDIENCE, tid: 'tenant-1', appid: claims.appid ?? SP, iss: 'https://sts.windows.net/tenant-1/', idtyp: 'app' }).token;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

async function call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, bearer = token()): Promise<Reply> {
  const response = await request(`${pbi.apiBase}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

const model = `/groups/${SAMPLE_WORKSPACE_ID}/datasets/${SAMPLE_DATASET_ID}`;
const submit = async (body: unknown = { type: 'Full' }, path = model): Promise<string> => {
  const reply = await call('POST', `${path}/refreshes`, body);
  expect(reply.status).toBe(202);
  return String(reply.headers['x-ms-request-id']);
};
const objects = (reply: Reply) => (reply.json.objects as Array<{ table: string; status: string }>).map((object) => `${object.table}:${object.status}`);

describe('Power BI emulator: enhanced refresh timeline', () => {
  beforeEach(async () => start(fourTables));

  it('202 with an absolute Location ending in the x-ms-request-id; details 202 while running, 200 when done', async () => {
    const reply = await call('POST', `${model}/refreshes`, { type: 'Full', maxParallelism: 2 });
    expect(reply.status).toBe(202);
    const requestId = String(reply.headers['x-ms-request-id']);
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(reply.headers.location).toBe(`${pbi.apiBase}${model}/refreshes/${requestId}`);

    const queued = await call('GET', `${model}/refreshes/${requestId}`);
    expect(queued.status).toBe(202);
    expect(queued.json).toMatchObject({ status: 'Unknown', extendedStatus: 'NotStarted', type: 'Full', commitMode: 'Transactional', numberOfAttempts: 0 });
    expect(queued.json.objects).toBeUndefined();

    clock.advanceBy(NOT_STARTED_MS + 500);
    const running = await call('GET', `${model}/refreshes/${requestId}`);
    expect(running.status).toBe(202);
    expect(running.json).toMatchObject({ status: 'Unknown', extendedStatus: 'InProgress' });
    expect(objects(running)).toEqual(['A:InProgress', 'B:InProgress', 'C:NotStarted', 'D:NotStarted']);

    clock.advanceBy(6_000);
    const done = await call('GET', `${model}/refreshes/${requestId}`);
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ status: 'Completed', extendedStatus: 'Completed', currentRefreshType: 'Full' });
    expect(objects(done)).toEqual(['A:Completed', 'B:Completed', 'C:Completed', 'D:Completed']);
    // Zone-less UTC times, as the reference's examples write them.
    expect(done.json.startTime).toBe(new Date(clock.now() - 6_000 - NOT_STARTED_MS - 500).toISOString().replace(/\.?0*Z$/, ''));
  });

  it('a failing table: Failed with an engine message; partialBatch keeps the committed batch', async () => {
    pbi.setTable(SAMPLE_DATASET_ID, 'C', { failAttempts: 5, failMessage: 'Source table dbo.C is locked.' });
    const id = await submit({ type: 'Full', maxParallelism: 2, commitMode: 'PartialBatch', applyRefreshPolicy: false, retryCount: 1 });
    clock.advanceBy(60_000);
    const failed = await call('GET', `${model}/refreshes/${id}`);
    expect(failed.status).toBe(200);
    expect(failed.json).toMatchObject({ status: 'Failed', extendedStatus: 'Failed', commitMode: 'PartialBatch', numberOfAttempts: 1 });
    expect(objects(failed)).toEqual(['A:Completed', 'B:Completed', 'C:Failed', 'D:Cancelled']);
    expect(failed.json.messages).toEqual([{ code: expect.stringMatching(/^0x[0-9A-F]{8}$/), message: expect.stringContaining('dbo.C is locked'), type: 'Error' }]);
  });

  it('timeout is per attempt: each attempt stops at the timeout, retryCount more attempts, then TimedOut', async () => {
    pbi.setTable(SAMPLE_DATASET_ID, 'A', { durationMs: 3 * 3600_000 });
    const id = await submit({ type: 'Full', objects: [{ table: 'A' }], timeout: '01:00:00', retryCount: 2 });
    clock.advanceBy(NOT_STARTED_MS + 90 * 60_000);
    expect((await call('GET', `${model}/refreshes/${id}`)).json).toMatchObject({ extendedStatus: 'InProgress', numberOfAttempts: 1 });
    clock.advanceBy(90 * 60_000);
    const ended = await call('GET', `${model}/refreshes/${id}`);
    expect(ended.status).toBe(200);
    expect(ended.json).toMatchObject({ status: 'Failed', extendedStatus: 'TimedOut', numberOfAttempts: 2 });
    expect(Date.parse(`${String(ended.json.endTime)}Z`) - Date.parse(`${String(ended.json.startTime)}Z`)).toBe(NOT_STARTED_MS + 3 * 3600_000);
  });

  it('DELETE cancels a running enhanced refresh; 404 for an unknown id', async () => {
    const id = await submit({ type: 'Full', maxParallelism: 1 });
    clock.advanceBy(NOT_STARTED_MS + 1_500);
    expect((await call('DELETE', `${model}/refreshes/${id}`)).status).toBe(200);
    const cancelled = await call('GET', `${model}/refreshes/${id}`);
    expect(cancelled.json).toMatchObject({ status: 'Cancelled', extendedStatus: 'Cancelled' });
    expect(objects(cancelled)).toEqual(['A:Cancelled', 'B:Cancelled', 'C:Cancelled', 'D:Cancelled']);
    const unknown = await call('DELETE', `${model}/refreshes/00000000-0000-4000-8000-000000000000`);
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: { code: 'PowerBIEntityNotFound' } });
  });

  it('a refresh already running: 400 with the service error body; accepted again once it ends', async () => {
    await submit();
    clock.advanceBy(NOT_STARTED_MS);
    const refused = await call('POST', `${model}/refreshes`, { type: 'Full' });
    expect(refused.status).toBe(400);
    expect(refused.json).toEqual({ error: { code: 'InvalidRequest', message: 'Invalid dataset refresh request. Another refresh request is already executing' } });
    clock.advanceBy(10_000);
    await submit();
  });

  it('a burst: one runs, the next queues behind it, the rest are accepted and dropped (never queryable)', async () => {
    const first = await submit({ type: 'Full', maxParallelism: 4 });
    const second = await submit({ type: 'Full', maxParallelism: 4 });
    const third = await submit({ type: 'Full', maxParallelism: 4 });
    expect(pbi.droppedRequestIds).toEqual([third]);
    expect((await call('GET', `${model}/refreshes/${third}`)).status).toBe(404);
    clock.advanceBy(NOT_STARTED_MS + 1_000);
    expect((await call('GET', `${model}/refreshes/${first}`)).json.extendedStatus).toBe('InProgress');
    expect((await call('GET', `${model}/refreshes/${second}`)).json.extendedStatus).toBe('NotStarted');
    clock.advanceBy(3_000); // the first ends (4 s): the queued one starts
    expect((await call('GET', `${model}/refreshes/${second}`)).json.extendedStatus).toBe('InProgress');
    const history = await call('GET', `${model}/refreshes`);
    expect((history.json.value as Array<{ requestId: string }>).map((row) => row.requestId)).toEqual([second, first]);
  });

  it('cancelling the running refresh starts the queued one at once', async () => {
    const first = await submit({ type: 'Full', maxParallelism: 4 });
    const second = await submit({ type: 'Full', maxParallelism: 4 });
    clock.advanceBy(NOT_STARTED_MS + 1_000);
    await call('DELETE', `${model}/refreshes/${first}`);
    clock.advanceBy(1);
    expect((await call('GET', `${model}/refreshes/${second}`)).json.extendedStatus).toBe('InProgress');
  });

  it('history: requestId and integer id, ViaEnhancedApi, status Unknown while running, newest first, $top', async () => {
    const first = await submit();
    clock.advanceBy(60_000);
    const second = await submit();
    const history = await call('GET', `${model}/refreshes`);
    expect(history.json.value).toEqual([
      { requestId: second, id: 2, refreshType: 'ViaEnhancedApi', startTime: expect.stringMatching(/\.\d{7}Z$/), status: 'Unknown', extendedStatus: 'NotStarted' },
      expect.objectContaining({ requestId: first, id: 1, refreshType: 'ViaEnhancedApi', status: 'Completed', extendedStatus: 'Completed', endTime: expect.any(String) }),
    ]);
    expect(((await call('GET', `${model}/refreshes?$top=1`)).json.value as unknown[]).length).toBe(1);
    expect((await call('GET', `${model}/refreshes?$top=0`)).status).toBe(400);
  });

  it('history can name enhanced refreshes ReliableProcessing, as the service did in 2022', async () => {
    const id = await submit();
    pbi.setEnhancedRefreshTypeName('ReliableProcessing');
    expect((await call('GET', `${model}/refreshes`)).json.value).toEqual([expect.objectContaining({ requestId: id, refreshType: 'ReliableProcessing' })]);
    expect((await call('GET', `${model}/refreshes/${id}`)).status).toBe(202);
  });

  it('history returns 60 rows unless $top says otherwise', async () => {
    for (let index = 0; index < 61; index += 1) {
      await submit({ type: 'Full', objects: [{ table: 'A' }] });
      clock.advanceBy(NOT_STARTED_MS + 1_000);
    }
    expect(((await call('GET', `${model}/refreshes`)).json.value as unknown[]).length).toBe(60);
    expect(((await call('GET', `${model}/refreshes?$top=100`)).json.value as unknown[]).length).toBe(61);
  });
});

describe('Power BI emulator: request body as the enhanced refresh docs define it', () => {
  beforeEach(async () => start(fourTables));

  it.each([
    [{ type: 'add' }, /'add' is not supported/],
    [{ type: 'Full', commitMode: 'partialBatch' }, /applyRefreshPolicy must be false/],
    [{ type: 'Full', commitMode: 'partialBatch', applyRefreshPolicy: true }, /applyRefreshPolicy must be false/],
    [{ type: 'Full', timeout: '5 hours' }, /timeout must be a duration as hh:mm:ss/],
    [{ type: 'Full', timeout: '1.01:00:00' }, /must not exceed 24 hours/],
    [{ type: 'Full', effectiveDate: 'tomorrow' }, /effectiveDate must be a date/],
    [{ type: 'Full', notifyOption: 'NoNotification' }, /notifyOption is not supported for an enhanced refresh/],
    [{ notifyOption: 'MailOnFailure' }, /not supported for a service principal/],
    [{ type: 'Full', objects: [{ table: 'Nope' }] }, /Table 'Nope' does not exist/],
    [{ type: 'Full', maxParalelism: 2 }, /'maxparalelism' is not a field/],
    ['{', /not valid JSON/],
  ])('refuses %j with 400 InvalidRequest', async (body, message) => {
    const reply = await call('POST', `${model}/refreshes`, body);
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({ error: { code: 'InvalidRequest', message: expect.stringMatching(message) } });
    expect(pbi.refreshes(SAMPLE_DATASET_ID)).toEqual([]);
  });

  it('a 10,000-character table name comes back cut to 64 characters', async () => {
    const reply = await call('POST', `${model}/refreshes`, { type: 'Full', objects: [{ table: 'T'.repeat(10_000) }] });
    expect(reply.status).toBe(400);
    expect(reply.text.length).toBeLessThan(400);
    expect(reply.json).toEqual({ error: { code: 'InvalidRequest', message: `Table '${'T'.repeat(64)}…' does not exist in model 'AdventureWorks'.` } });
  });

  it('accepts the documented example body (lower-case enum values, timeout 02:00:00)', async () => {
    await submit({ type: 'full', commitMode: 'transactional', maxParallelism: 2, retryCount: 2, timeout: '02:00:00', objects: [{ table: 'A', partition: 'A' }, { table: 'B' }] });
    expect(pbi.refreshes(SAMPLE_DATASET_ID)[0]).toMatchObject({ type: 'full', retryCount: 2, maxParallelism: 2 });
  });

  it('a body with notifyOption only is a standard refresh: no Location, ViaApi in the history, no execution details, no cancel', async () => {
    const reply = await call('POST', `${model}/refreshes`, { notifyOption: 'NoNotification' });
    expect(reply.status).toBe(202);
    expect(reply.headers.location).toBeUndefined();
    const id = String(reply.headers['x-ms-request-id']);
    expect((await call('GET', `${model}/refreshes`)).json.value).toEqual([expect.objectContaining({ requestId: id, refreshType: 'ViaApi' })]);
    expect((await call('GET', `${model}/refreshes/${id}`)).status).toBe(404);
    expect((await call('DELETE', `${model}/refreshes/${id}`)).status).toBe(400);
  });
});

describe('Power BI emulator: workspaces, roles and tokens', () => {
  beforeEach(async () => start());

  it('GET /groups lists the workspaces the principal holds a role in; $filter name eq with doubled quotes', async () => {
    const all = await call('GET', '/groups');
    expect((all.json.value as Array<{ name: string }>).map((group) => group.name)).toEqual(['Sales Analytics', "O'Brien Reports", 'Viewers Only']);
    const filter = encodeURIComponent("name eq 'O''Brien Reports'");
    const one = await call('GET', `/groups?$filter=${filter}`);
    expect(one.json.value).toEqual([expect.objectContaining({ id: SMALL_WORKSPACE_ID, name: "O'Brien Reports", isOnDedicatedCapacity: true })]);
    expect(((await call('GET', `/groups?$filter=${encodeURIComponent("name eq 'O'Brien Reports'")}`)).status)).toBe(400);
    expect((await call('GET', `/groups?$filter=${encodeURIComponent("name eq 'sales analytics'")}`)).json.value).toEqual([]);
    expect((await call('GET', '/groups?$skip=1&$top=1')).json.value).toEqual([expect.objectContaining({ name: "O'Brien Reports" })]);
    expect((await call('GET', `/groups?$filter=${encodeURIComponent('startswith(name,\'S\')')}`)).status).toBe(400);
  });

  it('GET /groups/{id}/datasets: ids, names (two models may share one) and query scale-out settings', async () => {
    const reply = await call('GET', `/groups/${SMALL_WORKSPACE_ID}/datasets`);
    expect(reply.json.value).toEqual([
      expect.objectContaining({ id: SMALL_DATASET_IDS[0], name: 'AdventureWorks', isRefreshable: true, queryScaleOutSettings: { autoSyncReadOnlyReplicas: true, maxReadOnlyReplicas: -1 } }),
      expect.objectContaining({ id: SMALL_DATASET_IDS[1], name: 'AdventureWorks', queryScaleOutSettings: { autoSyncReadOnlyReplicas: false, maxReadOnlyReplicas: -1 } }),
    ]);
  });

  it('a Viewer may read but not refresh (403); no role at all is 403 for every call', async () => {
    expect((await call('GET', `/groups/${VIEWER_WORKSPACE_ID}/datasets/${VIEWER_DATASET_ID}/refreshes`)).status).toBe(200);
    const refused = await call('POST', `/groups/${VIEWER_WORKSPACE_ID}/datasets/${VIEWER_DATASET_ID}/refreshes`, { type: 'Full' });
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ error: { code: 'PowerBINotAuthorizedException' } });
    pbi.applyScenario('no-role');
    expect((await call('GET', `${model}/refreshes`)).status).toBe(403);
    expect((await call('GET', '/groups')).json.value).toHaveLength(2);
  });

  it('sp-not-allowed: every call of a service principal is 401 until reset (through the control route)', async () => {
    const applied = await request(`${pbi.url}/_emulator/scenarios/sp-not-allowed`, { method: 'POST' });
    expect(applied.statusCode).toBe(200);
    await applied.body.text();
    const refused = await call('GET', '/groups');
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ error: { code: 'PowerBINotAuthorizedException' } });
    await (await request(`${pbi.url}/_emulator/reset`, { method: 'POST' })).body.text();
    expect((await call('GET', '/groups')).status).toBe(200);
  });

  it('only tokens from the identity emulator for the Power BI audience; expired ones are TokenExpired', async () => {
    expect((await call('GET', '/groups', undefined, token({ aud: 'https://*.asazure.windows.net' }))).status).toBe(401);
    expect((await call('GET', '/groups', undefined, 'not-a-token')).status).toBe(401);
    const old = token();
    clock.advanceBy(2 * 3600_000);
    const expired = await call('GET', '/groups', undefined, old);
    expect(expired.status).toBe(401);
    expect(expired.json).toMatchObject({ error: { code: 'TokenExpired' } });
    expect(JSON.stringify(pbi.requests)).not.toContain(old);
  });

  it('an F2 capacity runs one refresh at a time: the other model waits NotStarted until it ends', async () => {
    pbi.setDefaultDurationMs(1_000);
    const first = await submit({ type: 'Full', maxParallelism: 20 }, `/groups/${SMALL_WORKSPACE_ID}/datasets/${SMALL_DATASET_IDS[0]}`);
    const second = await submit({ type: 'Full', maxParallelism: 20 }, `/groups/${SMALL_WORKSPACE_ID}/datasets/${SMALL_DATASET_IDS[1]}`);
    clock.advanceBy(NOT_STARTED_MS + 30_000);
    const details = (dataset: string, id: string) => call('GET', `/groups/${SMALL_WORKSPACE_ID}/datasets/${dataset}/refreshes/${id}`);
    expect((await details(SMALL_DATASET_IDS[0], first)).json.extendedStatus).toBe('InProgress');
    expect((await details(SMALL_DATASET_IDS[1], second)).json.extendedStatus).toBe('NotStarted');
    clock.advanceBy(5 * 60_000);
    expect((await details(SMALL_DATASET_IDS[1], second)).json.extendedStatus).toBe('InProgress');
  });
});

describe('Power BI emulator: a capacity shared by two workspaces', () => {
  const shared: PowerBiDescription = {
    workspaces: ['b101', 'b102'].map((suffix, index) => ({
      id: `5a1e5a1e-0000-4000-8000-00000000${suffix}`,
      name: `Workspace ${index + 1}`,
      sku: 'F2',
      capacity: 'team-f2',
      roles: { [SP]: 'Member' as const },
      datasets: [{ id: `ad7e0000-0000-4000-8000-00000000${suffix}`, name: 'M', tables: [{ name: 'T', durationMs: 60_000 }] }],
    })),
  };
  beforeEach(async () => start(shared));

  it('runs one refresh at a time across both workspaces (F2)', async () => {
    const path = (suffix: string) => `/groups/5a1e5a1e-0000-4000-8000-00000000${suffix}/datasets/ad7e0000-0000-4000-8000-00000000${suffix}`;
    await submit({ type: 'Full' }, path('b101'));
    const second = await submit({ type: 'Full' }, path('b102'));
    clock.advanceBy(NOT_STARTED_MS + 30_000);
    expect((await call('GET', `${path('b102')}/refreshes/${second}`)).json.extendedStatus).toBe('NotStarted');
    clock.advanceBy(31_000);
    expect((await call('GET', `${path('b102')}/refreshes/${second}`)).json.extendedStatus).toBe('InProgress');
    const groups = (await call('GET', '/groups')).json.value as Array<{ capacityId: string }>;
    expect(groups[0]?.capacityId).toBe(groups[1]?.capacityId);
  });

  it('a refresh the capacity would hold for more than an hour waits an hour NotStarted, then fails', async () => {
    const path = (suffix: string) => `/groups/5a1e5a1e-0000-4000-8000-00000000${suffix}/datasets/ad7e0000-0000-4000-8000-00000000${suffix}`;
    pbi.setTable('ad7e0000-0000-4000-8000-00000000b101', 'T', { durationMs: 2 * 3600_000 });
    await submit({ type: 'Full' }, path('b101'));
    const held = await submit({ type: 'Full' }, path('b102'));
    clock.advanceBy(NOT_STARTED_MS + 59 * 60_000);
    expect((await call('GET', `${path('b102')}/refreshes/${held}`)).json.extendedStatus).toBe('NotStarted');
    clock.advanceBy(60_000);
    const failed = await call('GET', `${path('b102')}/refreshes/${held}`);
    expect(failed.status).toBe(200);
    expect(failed.json).toMatchObject({ status: 'Failed', extendedStatus: 'Failed', objects: [{ table: 'T', partition: 'T', status: 'NotStarted' }], messages: [{ code: 'CapacityThrottled', type: 'Error' }] });
  });
});

describe('Power BI emulator: query scale-out', () => {
  beforeEach(async () => start());
  const versions = (text: string) => ({
    commit: /"commitVersion":(\d+)/.exec(text)?.[1],
    minActiveRead: /"minActiveReadVersion":(\d+)/.exec(text)?.[1],
  });

  it('auto-sync: after a refresh commits, replicas catch up by themselves; versions are exact FILETIME int64s', async () => {
    await submit({ type: 'Full', maxParallelism: 20 });
    clock.advanceBy(NOT_STARTED_MS + 300_000);
    const committed = versions((await call('GET', `${model}/queryScaleOut/syncStatus`)).text);
    expect(committed.minActiveRead).not.toBe(committed.commit);
    clock.advanceBy(10_000);
    const synced = await call('GET', `${model}/queryScaleOut/syncStatus`);
    expect(synced.status).toBe(200);
    const { commit, minActiveRead } = versions(synced.text);
    expect(BigInt(commit ?? '0')).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
    expect(minActiveRead).toBe(commit);
    expect(synced.json).toMatchObject({ triggerReason: 'automatic', scaleOutStatus: 'Enabled' });
  });

  it('manual sync: replicas lag until POST sync answers 200 and the sync finishes', async () => {
    pbi.applyScenario('manual-sync');
    await submit({ type: 'Full', maxParallelism: 20 });
    clock.advanceBy(NOT_STARTED_MS + 300_000); // the slowest sample partition: 5 min
    const lagging = versions((await call('GET', `${model}/queryScaleOut/syncStatus`)).text);
    expect(lagging.minActiveRead).not.toBe(lagging.commit);
    const started = await call('POST', `${model}/queryScaleOut/sync`);
    expect(started.status).toBe(200);
    expect(started.json).toMatchObject({ triggerReason: 'explicit' });
    expect(started.json.syncEndTime).toBeUndefined();
    clock.advanceBy(10_000);
    const caughtUp = versions((await call('GET', `${model}/queryScaleOut/syncStatus`)).text);
    expect(caughtUp.minActiveRead).toBe(caughtUp.commit);
  });
});

describe('Power BI emulator: faults', () => {
  beforeEach(async () => start(fourTables));

  it('429 with Retry-After for the number of calls asked, then answers again', async () => {
    pbi.applyScenario('throttle', { times: 2, retryAfterSeconds: 45 });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const reply = await call('GET', `${model}/refreshes`);
      expect({ status: reply.status, retryAfter: reply.headers['retry-after'], body: reply.json }).toEqual({ status: 429, retryAfter: '45', body: { message: expect.stringContaining('Retry in 45 seconds') } });
      expect(reply.headers.requestid).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect((await call('GET', `${model}/refreshes`)).status).toBe(200);
  });

  it('no-location: 202 without Location or x-ms-request-id, the refresh really started (found in the history)', async () => {
    pbi.applyScenario('no-location');
    const reply = await call('POST', `${model}/refreshes`, { type: 'Full' });
    expect(reply.status).toBe(202);
    expect(reply.headers.location).toBeUndefined();
    expect(reply.headers['x-ms-request-id']).toBeUndefined();
    expect(((await call('GET', `${model}/refreshes`)).json.value as unknown[]).length).toBe(1);
  });

  it('resetAfterProcessing: the refresh starts, the caller gets no answer', async () => {
    pbi.inject({ operation: 'submitRefresh', fault: { kind: 'resetAfterProcessing' } });
    await expect(call('POST', `${model}/refreshes`, { type: 'Full' })).rejects.toThrow();
    expect(pbi.refreshes(SAMPLE_DATASET_ID)).toHaveLength(1);
    expect(pbi.requests[0]).toMatchObject({ operation: 'submitRefresh', status: 0, dataset: SAMPLE_DATASET_ID, body: '{"type":"Full"}' });
  });

  it('delay: the answer comes late, so a client with a shorter timeout gives up; the next call is answered', async () => {
    pbi.inject({ operation: 'listRefreshes', fault: { kind: 'delay', ms: 2_000 } });
    const late = request(`${pbi.apiBase}${model}/refreshes`, { headers: { authorization: `Bearer ${token()}` }, headersTimeout: 100 });
    await expect(late).rejects.toThrow(/timeout/i);
    expect((await call('GET', `${model}/refreshes`)).status).toBe(200);
  });

  it('busy: a scheduled refresh runs: POST is refused, it cannot be queried or cancelled', async () => {
    pbi.applyScenario('busy', { durationSeconds: 60 });
    expect((await call('POST', `${model}/refreshes`, { type: 'Full' })).status).toBe(400);
    const [row] = (await call('GET', `${model}/refreshes`)).json.value as Array<{ requestId: string; refreshType: string }>;
    expect(row?.refreshType).toBe('Scheduled');
    expect((await call('GET', `${model}/refreshes/${row?.requestId ?? ''}`)).status).toBe(404);
    clock.advanceBy(60_000);
    await submit();
  });
});
