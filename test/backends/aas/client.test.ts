import { MockAgent } from 'undici';
import { createAasClient, parseRetryAfter, toRefreshRequest } from '../../../src/backends/aas/client';
import { codeOf } from '../../../src/errors';
import type { RefreshType } from '../../../src/backends/aas/types';
import { IssuerTokenProvider, rejectionOf, startHarness, type Harness } from './support';
import { TokenIssuer } from '../../../local/emulators/jwt';
import { VirtualClock } from '../../../local/clock';

describe('AAS client against the emulator over HTTPS', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ requestTimeoutMs: 500 });
    h.emulator.setDefaultDurationMs(10_000);
  });
  afterEach(async () => h.close());

  it('submits a refresh, follows it to succeeded, and finds it in the history', async () => {
    const submitted = await h.client.submitRefresh(h.model, toRefreshRequest({ type: 'full', objects: [{ table: 'DimDate' }] }));
    expect(submitted.refreshId).toMatch(/^[0-9a-f-]{36}$/);
    expect(submitted.rootActivityId).toMatch(/^[0-9a-f-]{36}$/);
    const first = await h.client.getRefresh(h.model, submitted.refreshId ?? '');
    expect(first).toMatchObject({ refreshId: submitted.refreshId, status: 'notStarted', type: 'full', objects: [{ table: 'DimDate', partition: 'DimDate', status: 'notStarted' }], messages: [] });
    expect(first.startTime).toBe(new Date(h.clock.now()).toISOString());
    h.clock.advanceBy(3_000);
    expect((await h.client.getRefresh(h.model, submitted.refreshId ?? '')).status).toBe('inProgress');
    h.clock.advanceBy(10_000);
    const done = await h.client.getRefresh(h.model, submitted.refreshId ?? '');
    expect(done).toMatchObject({ status: 'succeeded', objects: [{ table: 'DimDate', status: 'succeeded' }] });
    expect(done.endTime).toBeDefined();
    const history = await h.client.listRefreshes(h.model);
    expect(history).toEqual([{ refreshId: submitted.refreshId, status: 'succeeded', startTime: first.startTime, endTime: done.endTime }]);
  });

  it('sends the documented PascalCase body with defaults, and a fresh token on every call', async () => {
    await h.client.submitRefresh(h.model, toRefreshRequest({ objects: [{ table: 'FactInternetSales', partition: 'FactInternetSales 2013' }] }));
    await h.client.listRefreshes(h.model);
    const [active] = h.emulator.refreshes('myserver', 'AdventureWorks');
    expect(active).toMatchObject({ type: 'automatic', commitMode: 'transactional', maxParallelism: 10, retryCount: 0 });
    expect(active?.objects).toEqual([{ table: 'FactInternetSales', partition: 'FactInternetSales 2013', status: 'notStarted' }]);
    expect(h.tokens.calls).toBe(2);
  });

  it('refuses type "add" with a clear message before any call', async () => {
    const error = await rejectionOf(h.client.submitRefresh(h.model, toRefreshRequest({ type: 'add' as RefreshType })));
    expect(codeOf(error)).toBe('INVALID_REQUEST');
    expect(error.message).toMatch(/"add" is not supported/);
    expect(h.tokens.calls).toBe(0);
    expect(h.emulator.requests).toHaveLength(0);
  });

  it('cancels a running refresh; cancelling again is harmless; an unknown id is AAS_NOT_FOUND', async () => {
    const { refreshId = '' } = await h.client.submitRefresh(h.model, toRefreshRequest());
    h.clock.advanceBy(5_000);
    await h.client.cancelRefresh(h.model, refreshId);
    expect((await h.client.getRefresh(h.model, refreshId)).status).toBe('cancelled');
    await h.client.cancelRefresh(h.model, refreshId);
    expect((await h.client.getRefresh(h.model, refreshId)).status).toBe('cancelled');
    expect(codeOf(await rejectionOf(h.client.cancelRefresh(h.model, '00000000-0000-0000-0000-000000000000')))).toBe('AAS_NOT_FOUND');
    expect(codeOf(await rejectionOf(h.client.getRefresh(h.model, '00000000-0000-0000-0000-000000000000')))).toBe('AAS_NOT_FOUND');
  });

  it('reports a failed refresh with its messages and per-object statuses', async () => {
    h.emulator.setTable('myserver', 'AdventureWorks', 'DimProduct', { failAttempts: 1, failMessage: 'Login failed for user sqlreader.' });
    const { refreshId = '' } = await h.client.submitRefresh(h.model, toRefreshRequest({ objects: [{ table: 'DimProduct' }, { table: 'DimDate' }] }));
    h.clock.advanceBy(60_000);
    const details = await h.client.getRefresh(h.model, refreshId);
    expect(details.status).toBe('failed');
    expect(details.messages).toEqual([expect.objectContaining({ type: 'Error', message: expect.stringContaining('Login failed for user sqlreader.') })]);
    expect(details.objects).toEqual(expect.arrayContaining([expect.objectContaining({ table: 'DimProduct', status: 'failed' })]));
  });

  it('maps 409 (someone else refreshing) to AAS_CONFLICT with the root activity id', async () => {
    h.emulator.startOutsideRefresh('myserver', 'AdventureWorks', { durationMs: 60_000 });
    const error = await rejectionOf(h.client.submitRefresh(h.model, toRefreshRequest()));
    expect(codeOf(error)).toBe('AAS_CONFLICT');
    expect(error.retryable).toBe(false);
    expect(error.httpStatus).toBe(409);
    expect(error.rootActivityId).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.message).toMatch(/already in progress/);
  });

  it('maps 429 to a retryable AAS_THROTTLED with Retry-After', async () => {
    h.emulator.inject({ operation: 'getRefresh', fault: { status: 429, retryAfterSeconds: 7 } });
    const error = await rejectionOf(h.client.getRefresh(h.model, 'x'));
    expect(codeOf(error)).toBe('AAS_THROTTLED');
    expect(error).toMatchObject({ retryable: true, retryAfterMs: 7_000, httpStatus: 429 });
  });

  it.each([500, 503] as const)('maps %i to a retryable AAS_TRANSIENT, and does not retry it itself', async (status) => {
    h.emulator.inject({ operation: 'submitRefresh', fault: { status } });
    const error = await rejectionOf(h.client.submitRefresh(h.model, toRefreshRequest()));
    expect(codeOf(error)).toBe('AAS_TRANSIENT');
    expect(error.retryable).toBe(true);
    expect(h.emulator.countRequests('submitRefresh')).toBe(1);
  });

  it('maps a dropped connection to AAS_TRANSIENT without retrying', async () => {
    h.emulator.inject({ operation: 'listRefreshes', fault: { kind: 'reset' } });
    const error = await rejectionOf(h.client.listRefreshes(h.model));
    expect(codeOf(error)).toBe('AAS_TRANSIENT');
    expect(error.retryable).toBe(true);
    expect(h.emulator.countRequests('listRefreshes')).toBe(1);
  });

  it('a lost reply after the refresh started: AAS_TRANSIENT, and the refresh is really running', async () => {
    h.emulator.inject({ operation: 'submitRefresh', fault: { kind: 'resetAfterProcessing' } });
    expect(codeOf(await rejectionOf(h.client.submitRefresh(h.model, toRefreshRequest())))).toBe('AAS_TRANSIENT');
    expect(h.emulator.activeRefresh('myserver', 'AdventureWorks')).toBeDefined();
    expect(codeOf(await rejectionOf(h.client.submitRefresh(h.model, toRefreshRequest())))).toBe('AAS_CONFLICT');
    expect(await h.client.listRefreshes(h.model)).toHaveLength(1);
  });

  it('maps an answer slower than requestTimeoutMs to AAS_TRANSIENT', async () => {
    h.emulator.inject({ operation: 'getSync', fault: { kind: 'delay', ms: 1_500 } });
    const error = await rejectionOf(h.client.getSync(h.model, 'x'));
    expect(codeOf(error)).toBe('AAS_TRANSIENT');
    expect(error.message).toMatch(/timeout/i);
  });

  it('maps 401 (expired token) to retryable AAS_UNAUTHORIZED and invalidates the cached token', async () => {
    h.emulator.inject({ operation: 'any', fault: { kind: 'expireTokens' } });
    const error = await rejectionOf(h.client.listRefreshes(h.model));
    expect(codeOf(error)).toBe('AAS_UNAUTHORIZED');
    expect(error.retryable).toBe(true);
    expect(h.tokens.invalidations).toBe(1);
    expect(error.message).not.toContain(h.tokens.issued[0]);
    expect(error.message).not.toMatch(/Bearer/);
  });

  it('a token for the wrong audience is AAS_UNAUTHORIZED', async () => {
    h.tokens.audience = 'https://management.azure.com';
    expect(codeOf(await rejectionOf(h.client.listRefreshes(h.model)))).toBe('AAS_UNAUTHORIZED');
    expect(h.emulator.requests[0]).toMatchObject({ authorized: false, status: 401 });
  });

  it('maps the not-administrator 400 to AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN with the header text surfaced', async () => {
    h.emulator.setNotAdmin('myserver', true);
    const error = await rejectionOf(h.client.submitRefresh(h.model, toRefreshRequest()));
    expect(codeOf(error)).toBe('AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`user is not the administrator of '${h.emulator.serverName()}'`);
    expect(error.rootActivityId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('maps another 400 to AAS_BAD_REQUEST with the body message', async () => {
    const error = await rejectionOf(h.client.submitRefresh(h.model, toRefreshRequest({ objects: [{ table: 'NoSuchTable' }] })));
    expect(codeOf(error)).toBe('AAS_BAD_REQUEST');
    expect(error.message).toContain("Table 'NoSuchTable' does not exist");
  });

  it('maps an unknown model to AAS_NOT_FOUND and an unknown sync operation to AAS_NOT_FOUND', async () => {
    expect(codeOf(await rejectionOf(h.client.listRefreshes({ ...h.model, model: 'Nope' })))).toBe('AAS_NOT_FOUND');
    expect(codeOf(await rejectionOf(h.client.getSync(h.model, 'b5a1d8a0-0000-0000-0000-000000000000')))).toBe('AAS_NOT_FOUND');
  });

  it('a POST answered without Location gives refreshId undefined (find it in the history)', async () => {
    h.emulator.inject({ operation: 'submitRefresh', fault: { kind: 'omitLocation' } });
    const result = await h.client.submitRefresh(h.model, toRefreshRequest());
    expect(result.refreshId).toBeUndefined();
    const [latest] = await h.client.listRefreshes(h.model);
    expect(latest?.status).toBe('notStarted');
  });

  it('syncs replicas through 0 -> 1 -> 4 -> 2, and reports 3 when the sync fails', async () => {
    h.emulator.setSyncBehaviour('myserver', 'AdventureWorks', { durationMs: 10_000 });
    const { operationId = '' } = await h.client.submitSync(h.model);
    expect(operationId).toMatch(/^[0-9a-f-]{36}$/);
    const states: number[] = [];
    for (let step = 0; step < 4; step += 1) {
      states.push((await h.client.getSync(h.model, operationId)).syncState);
      h.clock.advanceBy(4_000);
    }
    expect(states).toEqual([0, 1, 4, 2]);
    const finished = await h.client.getSync(h.model, operationId);
    expect(finished).toMatchObject({ operationId, database: 'AdventureWorks', syncState: 2 });
    expect(finished.startedAt).toMatch(/Z$/);
    h.emulator.setSyncBehaviour('myserver', 'AdventureWorks', { durationMs: 1_000, fail: true });
    const failing = await h.client.submitSync(h.model);
    h.clock.advanceBy(1_000);
    const failed = await h.client.getSync(h.model, failing.operationId ?? '');
    expect(failed.syncState).toBe(3);
    expect(failed.details).toMatch(/failed/);
  });

  it('encodes a model name with spaces, "/", "#", "%" and unicode so the service sees it intact', async () => {
    const name = 'Sales/EU #1 50% Ümlaut 売上';
    await h.close();
    h = await startHarness({ models: { servers: [{ name: 'myserver', models: [{ name, tables: [{ name: 'Fact Sales/EU', partitions: ['2024 #1', '2025 50%'] }] }] }] } });
    const model = { server: h.emulator.serverName(), model: name };
    const { refreshId = '' } = await h.client.submitRefresh(model, toRefreshRequest({ objects: [{ table: 'Fact Sales/EU', partition: '2025 50%' }] }));
    const details = await h.client.getRefresh(model, refreshId);
    expect(details.objects).toEqual([{ table: 'Fact Sales/EU', partition: '2025 50%', status: 'notStarted' }]);
    expect(h.emulator.requests.map((entry) => entry.model)).toEqual([name, name]);
  });
});

describe('AAS client parsing of answers it cannot get from the emulator (MockAgent)', () => {
  const base = 'https://westus.asazure.windows.net';
  const modelPath = '/servers/myserver/models/AdventureWorks';
  const model = { server: 'asazure://westus.asazure.windows.net/myserver', model: 'AdventureWorks' };
  let agent: MockAgent;
  let tokens: IssuerTokenProvider;

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    tokens = new IssuerTokenProvider(new TokenIssuer(new VirtualClock()));
  });
  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    await agent.close();
  });
  const client = () => createAasClient({ allowedHosts: ['*.asazure.windows.net'], tokenProvider: tokens, requestTimeoutMs: 1_000, dispatcher: agent });

  it('reads a relative Location, and a sync operation id from a path tail', async () => {
    const pool = agent.get(base);
    pool.intercept({ path: `${modelPath}/refreshes`, method: 'POST' }).reply(202, '', { headers: { location: 'refreshes/abc-123' } });
    pool.intercept({ path: `${modelPath}/sync`, method: 'POST' }).reply(202, '', { headers: { location: `${modelPath}/sync/op-9` } });
    expect((await client().submitRefresh(model, toRefreshRequest())).refreshId).toBe('abc-123');
    expect((await client().submitSync(model)).operationId).toBe('op-9');
  });

  it('parses leniently: field case, status case, 7-digit and zone-less times, missing arrays, extra fields', async () => {
    const pool = agent.get(base);
    pool.intercept({ path: `${modelPath}/refreshes/r1`, method: 'GET' }).reply(200, { StartTime: '2020-12-15T21:58:20.2712217Z', EndTime: '2017-12-07T02:07:00.49', Status: 'SUCCEEDED', Type: 'full', extra: { nested: true } });
    pool.intercept({ path: `${modelPath}/refreshes`, method: 'GET' }).reply(200, [{ RefreshId: 'r1', startTime: '2017-12-07T02:06:57.1838734Z', status: 'InProgress' }]);
    pool.intercept({ path: `${modelPath}/sync?operationId=s1`, method: 'GET' }).reply(200, { OperationId: 's1', syncState: 4, updatedAt: '2017-12-09T02:44:26.18', StartedAt: '2017-12-09T02:44:20.743', details: null });
    expect(await client().getRefresh(model, 'r1')).toEqual({
      refreshId: 'r1', status: 'succeeded', type: 'full', startTime: '2020-12-15T21:58:20.271Z', endTime: '2017-12-07T02:07:00.490Z', objects: [], messages: [],
    });
    expect(await client().listRefreshes(model)).toEqual([{ refreshId: 'r1', status: 'inProgress', startTime: '2017-12-07T02:06:57.183Z' }]);
    expect(await client().getSync(model, 's1')).toEqual({ operationId: 's1', syncState: 4, updatedAt: '2017-12-09T02:44:26.180Z', startedAt: '2017-12-09T02:44:20.743Z', details: null });
  });

  it.each([
    ['not JSON', 'oops'],
    ['an unknown status', JSON.stringify({ status: 'exploded' })],
    ['a bad timestamp', JSON.stringify({ status: 'succeeded', startTime: 'yesterday' })],
  ])('an answer with %s is AAS_BAD_RESPONSE', async (_label, body) => {
    agent.get(base).intercept({ path: `${modelPath}/refreshes/r1`, method: 'GET' }).reply(200, body);
    expect(codeOf(await rejectionOf(client().getRefresh(model, 'r1')))).toBe('AAS_BAD_RESPONSE');
  });

  it('403 is AAS_UNAUTHORIZED; a redirect is not followed (AAS_BAD_RESPONSE); Retry-After as an HTTP date', async () => {
    const pool = agent.get(base);
    pool.intercept({ path: `${modelPath}/refreshes`, method: 'GET' }).reply(403, '');
    pool.intercept({ path: `${modelPath}/refreshes`, method: 'GET' }).reply(302, '', { headers: { location: 'https://evil.example/' } });
    expect(codeOf(await rejectionOf(client().listRefreshes(model)))).toBe('AAS_UNAUTHORIZED');
    expect(tokens.invalidations).toBe(1);
    expect(codeOf(await rejectionOf(client().listRefreshes(model)))).toBe('AAS_BAD_RESPONSE');
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(30_000);
    expect(parseRetryAfter('12')).toBe(12_000);
  });

  it('an error body echoing the token never puts it in the error message', async () => {
    agent.get(base).intercept({ path: `${modelPath}/refreshes`, method: 'GET' }).reply((options) => ({
      statusCode: 400,
      data: { code: 'BadRequest', message: `bad header ${String((options.headers as Record<string, string>).authorization)}` },
    }));
    const error = await rejectionOf(client().listRefreshes(model));
    expect(codeOf(error)).toBe('AAS_BAD_REQUEST');
    expect(error.message).toContain('[redacted]');
    expect(error.message).not.toContain(tokens.issued[0]);
  });
});
