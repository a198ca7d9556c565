import { codeOf, kindOf } from '../../../src/errors';
import type { PowerBiTarget } from '../../../src/refresh/target';
import type { RefreshRequest } from '../../../src/refresh/types';
import { groupsByNameQuery, odataString, parsePowerBiTarget, pickByName, powerBiModelKey } from '../../../src/backends/powerbi/target';
import { formatAttemptTimeout, powerBiRefreshProblems, toPowerBiRefreshBody } from '../../../src/backends/powerbi/refreshBody';
import { objectStatusOf, refreshStatusOf } from '../../../src/backends/powerbi/statusMap';
import { parseQueryScaleOutStatus, parseRefreshDetails, parseRefreshHistory, quoteVersionNumbers } from '../../../src/backends/powerbi/answers';
import { answerError, classifyAnswer, sanitiseServiceText, type PowerBiOperation } from '../../../src/backends/powerbi/errors';

const WS = '5a1e5a1e-0000-4000-8000-00000000b001';
const DS = 'ad7e0000-0000-4000-8000-00000000d001';
const target = (workspace: string, semanticModel: string, extra: Partial<PowerBiTarget> = {}): PowerBiTarget => ({ backend: 'powerbi', workspace, semanticModel, ...extra });
const refresh = (overrides: Partial<RefreshRequest> = {}): RefreshRequest => ({ type: 'full', commitMode: 'transactional', maxParallelism: 10, retryCount: 0, objects: [], ...overrides });

describe('Power BI target parsing', () => {
  it.each([
    ['two GUIDs become the ids, lower-cased', target(WS.toUpperCase(), DS), { workspaceId: WS, semanticModelId: DS }],
    ['names stay names until resolved', target('Sales Analytics', 'AdventureWorks'), {}],
    ['a name with an apostrophe is a name', target("O'Brien's team", DS), { semanticModelId: DS }],
    ['recorded ids are kept', target('Sales Analytics', 'AdventureWorks', { workspaceId: WS, semanticModelId: DS }), { workspaceId: WS, semanticModelId: DS }],
  ])('%s', (_name, input, ids) => {
    const parsed = parsePowerBiTarget(input);
    expect(parsed).toEqual({ backend: 'powerbi', workspace: input.workspace, semanticModel: input.semanticModel, ...ids });
  });

  it.each([
    ['an empty workspace', target('', DS), /workspace is empty/],
    ['white space only', target('   ', DS), /workspace is empty/],
    ['a control character', target('Sales\nAnalytics', DS), /workspace "Sales\\nAnalytics" contains a control character/],
    ['a leading space', target(' Sales', DS), /starts or ends with white space/],
    ['a name of 257 characters', target(WS, 'x'.repeat(257)), /semanticModel is longer than 256 characters/],
    ['a recorded id that is not a GUID', target('Sales', 'AdventureWorks', { workspaceId: '../../admin' }), /workspaceId must be a GUID/],
    ['a number for a name', target(42 as unknown as string, DS), /workspace must be a string/],
  ])('refuses %s, naming the field', (_name, input, message) => {
    let error: unknown;
    try {
      parsePowerBiTarget(input);
    } catch (caught) {
      error = caught;
    }
    expect(codeOf(error)).toBe('POWERBI_INVALID_TARGET');
    expect(kindOf(error)).toBe('rejected');
    expect((error as Error).message).toMatch(message);
  });

  it('keys one run per model on the resolved ids, whatever names or letter case the request used', () => {
    const byNames = target('Sales Analytics', 'AdventureWorks', { workspaceId: WS, semanticModelId: DS });
    const byIds = target(WS.toUpperCase(), DS.toUpperCase());
    expect(powerBiModelKey(byNames)).toBe(`powerbi:${WS}/${DS}`);
    expect(powerBiModelKey(byIds)).toBe(powerBiModelKey(byNames));
    expect(() => powerBiModelKey(target('Sales Analytics', 'AdventureWorks'))).toThrow(/before its names were resolved/);
  });

  it.each([
    ['Sales', "'Sales'"],
    ["O'Brien", "'O''Brien'"],
    ["''", "''''''"],
  ])('quotes %j as the OData literal %s', (name, literal) => {
    expect(odataString(name)).toBe(literal);
  });

  it('builds the groups filter with the literal percent-encoded (a quote or & cannot end the filter)', () => {
    const query = groupsByNameQuery("R&D's #1");
    expect(query).toBe(`groups?$filter=${encodeURIComponent("name eq 'R&D''s #1'")}`);
    expect(new URLSearchParams(query.split('?')[1]).get('$filter')).toBe("name eq 'R&D''s #1'");
  });

  it.each([
    ['one exact match', [{ id: 'A', name: 'Sales' }, { id: 'b', name: 'Sales 2' }], 'Sales', { kind: 'found', id: 'a' }],
    ['an exact match over a case-only one', [{ id: 'a', name: 'sales' }, { id: 'b', name: 'Sales' }], 'Sales', { kind: 'found', id: 'b' }],
    ['a single case-only match', [{ id: 'a', name: 'SALES' }], 'Sales', { kind: 'found', id: 'a' }],
    ['no match', [{ id: 'a', name: 'Finance' }], 'Sales', { kind: 'none' }],
    ['two models with one name', [{ id: 'a', name: 'Sales' }, { id: 'b', name: 'Sales' }], 'Sales', { kind: 'ambiguous', ids: ['a', 'b'] }],
  ])('picks by name: %s', (_name, items, name, expected) => {
    expect(pickByName(items, name)).toEqual(expected);
  });
});

describe('Power BI refresh body', () => {
  it('sends the REST reference enum spellings, the defaults and no notifyOption', () => {
    const body = toPowerBiRefreshBody(refresh({ type: 'dataOnly', objects: [{ table: 'DimDate' }, { table: 'FactInternetSales', partition: 'FactInternetSales 2013' }] }));
    expect(body).toEqual({
      type: 'DataOnly',
      commitMode: 'Transactional',
      maxParallelism: 10,
      retryCount: 0,
      objects: [{ table: 'DimDate' }, { table: 'FactInternetSales', partition: 'FactInternetSales 2013' }],
    });
    expect(body).not.toHaveProperty('notifyOption');
  });

  it('sends applyRefreshPolicy false with partialBatch when the request left it out (the service default true is unsupported there)', () => {
    expect(toPowerBiRefreshBody(refresh({ commitMode: 'partialBatch' }))).toMatchObject({ commitMode: 'PartialBatch', applyRefreshPolicy: false });
    expect(toPowerBiRefreshBody(refresh())).not.toHaveProperty('applyRefreshPolicy');
    expect(toPowerBiRefreshBody(refresh({ applyRefreshPolicy: false, effectiveDate: '2024-02-29' }))).toMatchObject({ applyRefreshPolicy: false, effectiveDate: '2024-02-29' });
  });

  it.each([
    [60_000, '00:01:00'],
    [1, '00:00:01'],
    [2 * 3600_000 + 1, '02:00:01'],
    [7 * 24 * 3600_000, '23:59:59'],
  ])('sends the run time left (%d ms) as the per-attempt timeout %s', (ms, text) => {
    expect(toPowerBiRefreshBody(refresh(), ms).timeout).toBe(text);
    expect(formatAttemptTimeout(ms / 1000)).toBe(text);
  });

  it('sends no timeout when no time is left (rather than one second)', () => {
    expect(toPowerBiRefreshBody(refresh(), 0)).not.toHaveProperty('timeout');
    expect(toPowerBiRefreshBody(refresh(), -5_000)).not.toHaveProperty('timeout');
    expect(toPowerBiRefreshBody(refresh(), Number.NaN)).not.toHaveProperty('timeout');
  });

  it.each([
    ['type add', refresh({ type: 'add' as RefreshRequest['type'] }), /type "add" is not supported/],
    ['partialBatch with applyRefreshPolicy true', refresh({ commitMode: 'partialBatch', applyRefreshPolicy: true }), /applyRefreshPolicy must be false with commitMode "partialBatch"/],
    ['a date that does not exist', refresh({ effectiveDate: '2023-02-29' }), /effectiveDate must be a date as yyyy-mm-dd/],
    ['a date in another format', refresh({ effectiveDate: '12/31/2023' }), /effectiveDate must be a date/],
    ['maxParallelism 0', refresh({ maxParallelism: 0 }), /maxParallelism must be an integer >= 1/],
  ])('refuses %s before anything is sent', (_name, request, message) => {
    expect(powerBiRefreshProblems(request).join('; ')).toMatch(message);
    let error: unknown;
    try {
      toPowerBiRefreshBody(request);
    } catch (caught) {
      error = caught;
    }
    expect(codeOf(error)).toBe('POWERBI_BAD_REQUEST');
  });
});

describe('Power BI status map', () => {
  it.each([
    ['Unknown', 'NotStarted', 'notStarted'],
    ['Unknown', 'InProgress', 'inProgress'],
    ['Unknown', undefined, 'inProgress'],
    ['Unknown', 'Unknown', 'inProgress'],
    ['Completed', 'Completed', 'succeeded'],
    ['Completed', undefined, 'succeeded'],
    ['Failed', 'TimedOut', 'timedOut'],
    ['Failed', 'Failed', 'failed'],
    ['Disabled', 'Disabled', 'failed'],
    ['Cancelled', 'Cancelled', 'cancelled'],
    ['Unknown', 'Cancelled', 'cancelled'],
    ['Failed', 'SomethingNew', 'failed'],
    ['completed', undefined, 'succeeded'],
    [undefined, undefined, undefined],
    ['Weird', undefined, undefined],
  ])('status %s / extendedStatus %s → %s', (status, extended, expected) => {
    expect(refreshStatusOf(status, extended)).toBe(expected);
  });

  it('maps object statuses it knows and keeps the others', () => {
    expect(['Completed', 'InProgress', 'NotStarted', 'Failed', 'Partial'].map(objectStatusOf)).toEqual(['succeeded', 'inProgress', 'notStarted', 'failed', 'Partial']);
  });
});

describe('Power BI answers', () => {
  it('reads execution details (the REST reference example) into the neutral shape', () => {
    const details = parseRefreshDetails(
      {
        startTime: '2021-12-10T08:40:31.57',
        endTime: '2021-12-10T08:40:43.87',
        type: 'Full',
        commitMode: 'Transactional',
        status: 'Failed',
        extendedStatus: 'Failed',
        currentRefreshType: 'Full',
        numberOfAttempts: 2,
        objects: [{ table: 'DimDate', partition: 'DimDate-62e2', status: 'Failed' }],
        messages: [{ code: '0xC11C0020', message: 'Session cancelled because it is connected to a database that has been evicted', type: 'Error' }],
      },
      '87f31ef7-1e3a-4006-9b0b-191693e79e9e',
    );
    expect(details).toEqual({
      refreshId: '87f31ef7-1e3a-4006-9b0b-191693e79e9e',
      status: 'failed',
      startTime: '2021-12-10T08:40:31.570Z',
      endTime: '2021-12-10T08:40:43.870Z',
      type: 'Full',
      currentRefreshType: 'Full',
      objects: [{ table: 'DimDate', partition: 'DimDate-62e2', status: 'failed' }],
      messages: [{ code: '0xC11C0020', message: 'Session cancelled because it is connected to a database that has been evicted', type: 'Error' }],
      numberOfAttempts: 2,
      serviceStatus: 'Failed / Failed',
    });
  });

  it('reads the in-progress example (202, no objects yet, seven-digit fraction elsewhere)', () => {
    const details = parseRefreshDetails({ startTime: '2021-12-14T03:46:04.8330000Z', type: 'Full', status: 'Unknown', extendedStatus: 'NotStarted', numberOfAttempts: 0 }, 'id-1');
    expect(details).toMatchObject({ status: 'notStarted', startTime: '2021-12-14T03:46:04.833Z', objects: [], messages: [] });
  });

  it('refuses details without any status word it knows', () => {
    expect(() => parseRefreshDetails({ status: 'Sideways' }, 'id')).toThrow(/unknown refresh status ."Sideways."/);
  });

  it('reads history rows: requestId is the refresh id (not the integer id), running rows are Unknown, rows without one are left out', () => {
    const rows = parseRefreshHistory({
      value: [
        { requestId: 'fed4279a-3cff-4923-b689-ea2697525313', id: 79783403, refreshType: 'ViaEnhancedApi', startTime: '2022-03-03T16:34:34.133Z', status: 'Unknown', extendedStatus: 'InProgress' },
        { requestId: '9399bb89-25d1-44f8-8576-136d7e9014b1', refreshType: 'ViaApi', startTime: '2017-06-13T09:25:43.153Z', endTime: '2017-06-13T09:31:43.153Z', status: 'Completed' },
        { requestId: '11bf290a-346b-48b7-8973-c5df149337ff', refreshType: 'Scheduled', status: 'Failed', serviceExceptionJson: '{"errorCode":"ModelRefreshFailed_CredentialsNotSpecified"}' },
        { id: 12, refreshType: 'OnDemand', status: 'Unknown' },
      ],
    });
    expect(rows).toEqual([
      { refreshId: 'fed4279a-3cff-4923-b689-ea2697525313', status: 'inProgress', startTime: '2022-03-03T16:34:34.133Z', refreshType: 'ViaEnhancedApi' },
      { refreshId: '9399bb89-25d1-44f8-8576-136d7e9014b1', status: 'succeeded', startTime: '2017-06-13T09:25:43.153Z', endTime: '2017-06-13T09:31:43.153Z', refreshType: 'ViaApi' },
      { refreshId: '11bf290a-346b-48b7-8973-c5df149337ff', status: 'failed', refreshType: 'Scheduled' },
    ]);
    expect(() => parseRefreshHistory([{ requestId: 'x', status: 'Completed' }])).toThrow();
    expect(() => parseRefreshHistory({ value: [{ requestId: 'x', status: 'Sideways' }] })).toThrow(/unknown status/);
  });

  it('keeps int64 commit versions exact (JSON.parse would round them) and compares them as integers', () => {
    const text = '{"commitVersion":133186221251720662,"commitTimestamp":"2023-01-19T17:15:25.1720662Z","targetSyncVersion":133184583205771509,"triggerReason":"explicit","minActiveReadVersion":133186221251720661,"scaleOutStatus":"Enabled"}';
    expect((JSON.parse(text) as { commitVersion: number }).commitVersion).toBe(133186221251720660);
    const status = parseQueryScaleOutStatus(text);
    expect(status.commitVersion).toBe(133186221251720662n);
    expect(status.minActiveReadVersion).toBe(133186221251720661n);
    expect(status.commitVersion === status.minActiveReadVersion).toBe(false);
    expect(status).toMatchObject({ scaleOutStatus: 'Enabled', triggerReason: 'explicit', commitTimestamp: '2023-01-19T17:15:25.172Z' });
    expect(quoteVersionNumbers('{"note":"commitVersion","commitVersion": 5}')).toBe('{"note":"commitVersion","commitVersion": "5"}');
    expect(parseQueryScaleOutStatus('')).toEqual({});
  });
});

describe('Power BI error classification', () => {
  const answer = (status: number, body: unknown = '', headers: Record<string, string> = {}) => ({ status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const anotherRefresh = { error: { code: 'InvalidRequest', message: 'Invalid dataset refresh request. Another refresh request is already executing' } };

  it.each<[string, PowerBiOperation, ReturnType<typeof answer>, string, string, boolean]>([
    ['400 another refresh (AAS: 409)', 'submitRefresh', answer(400, anotherRefresh), 'POWERBI_CONFLICT', 'conflict', false],
    ['409 (the preview documentation)', 'submitRefresh', answer(409, ''), 'POWERBI_CONFLICT', 'conflict', false],
    ['another 400 on submit', 'submitRefresh', answer(400, { error: { code: 'InvalidRequest', message: 'Table DimX does not exist' } }), 'POWERBI_BAD_REQUEST', 'rejected', false],
    ['a cancel of an ended refresh', 'cancelRefresh', answer(400, { error: { code: 'InvalidRequest', message: 'The refresh is not in progress' } }), 'POWERBI_CONFLICT', 'conflict', false],
    ['"another refresh" on a status call is not a conflict', 'getRefresh', answer(400, anotherRefresh), 'POWERBI_BAD_REQUEST', 'rejected', false],
    ['429', 'getRefresh', answer(429, { message: 'You have exceeded the amount of requests allowed' }, { 'retry-after': '3392' }), 'POWERBI_THROTTLED', 'throttled', true],
    ['500', 'listRefreshes', answer(500), 'POWERBI_TRANSIENT', 'transient', true],
    ['503', 'submitSync', answer(503), 'POWERBI_TRANSIENT', 'transient', true],
    ['408', 'getSync', answer(408), 'POWERBI_TRANSIENT', 'transient', true],
    ['401', 'submitRefresh', answer(401, { error: { code: 'PowerBINotAuthorizedException' } }), 'POWERBI_UNAUTHORIZED', 'unauthorized', true],
    ['403', 'cancelRefresh', answer(403), 'POWERBI_UNAUTHORIZED', 'unauthorized', true],
    ['404', 'getRefresh', answer(404, { error: { code: 'PowerBIEntityNotFound', 'pbi.error': { code: 'PowerBIEntityNotFound', parameters: {}, details: [], exceptionCulprit: 1 } } }), 'POWERBI_NOT_FOUND', 'notFound', false],
    ['a redirect', 'getRefresh', answer(302, '', { location: 'https://elsewhere.example/' }), 'POWERBI_BAD_RESPONSE', 'rejected', false],
  ])('%s', (_name, operation, reply, code, kind, retryable) => {
    const classified = classifyAnswer(operation, reply, 0);
    expect(classified).toBeDefined();
    const error = answerError(operation, 'workspace "W" semantic model "S"', reply, classified!);
    expect(error.code).toBe(code);
    expect(kindOf(error)).toBe(kind);
    expect(error.retryable).toBe(retryable);
    expect(error.httpStatus).toBe(reply.status);
  });

  it('carries Retry-After, the service words and its request id, never a token-shaped text', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2FuYWx5c2lzIn0.c2lnbmF0dXJlLXBhcnQ';
    const reply = answer(400, { error: { code: 'InvalidRequest', message: `Bad\nobject name; token ${jwt} was used` } }, { 'x-ms-request-id': '87f31ef7-1e3a-4006-9b0b-191693e79e9e' });
    const error = answerError('submitRefresh', 'workspace "W" semantic model "S"', reply, classifyAnswer('submitRefresh', reply)!);
    expect(error.message).toBe(
      '[POWERBI_BAD_REQUEST] Power BI submitRefresh on workspace "W" semantic model "S": HTTP 400 bad request (Power BI said: InvalidRequest: Bad object name; token [redacted] was used; request id 87f31ef7-1e3a-4006-9b0b-191693e79e9e)',
    );
    expect(error.rootActivityId).toBe('87f31ef7-1e3a-4006-9b0b-191693e79e9e');
    const throttled = classifyAnswer('getRefresh', answer(429, '', { 'retry-after': '20' }));
    expect(throttled?.retryAfterMs).toBe(20_000);
    expect(sanitiseServiceText('word '.repeat(200))).toHaveLength(500);
    expect(sanitiseServiceText(`secret ${'A1b2'.repeat(30)} end`)).toBe('secret [redacted] end');
  });

  it('says nothing for 2xx (200 done, 202 still running)', () => {
    expect(classifyAnswer('getRefresh', answer(200))).toBeUndefined();
    expect(classifyAnswer('getRefresh', answer(202))).toBeUndefined();
  });
});
