import { parseRunRequest } from '../../src/api/requestSchema';
import { loadConfig } from '../../src/config/config';

const config = loadConfig({ AUTH_MODE: 'managedIdentity', CALLBACK_ALLOWED_HOSTS: '*.datafactory.azure.com,127.0.0.1:9443', REFRESH_DEFAULT_TIMEOUT: 'PT6H' });
const server = 'asazure://westeurope.asazure.windows.net/myserver';

function problemsOf(body: unknown): string[] {
  const parsed = parseRunRequest(body, config, 'http');
  if (parsed.ok) throw new Error('expected the request to be refused');
  return parsed.problems;
}

describe('refresh request schema', () => {
  it('applies the documented AAS defaults and the settings defaults', () => {
    const parsed = parseRunRequest({ server, model: 'Sales' }, config, 'http');
    expect(parsed).toEqual({
      ok: true,
      request: {
        backend: 'aas',
        server,
        model: 'Sales',
        refresh: { type: 'automatic', commitMode: 'transactional', maxParallelism: 10, retryCount: 0, objects: [] },
        sync: true,
        timeoutMs: 6 * 3600 * 1000,
        onConflict: 'fail',
        source: 'http',
        polling: config.polling,
      },
    });
  });

  it('accepts the documented PascalCase and any casing of enum values', () => {
    const parsed = parseRunRequest(
      { Server: server, Model: 'Sales', Type: 'Full', CommitMode: 'PARTIALBATCH', MaxParallelism: 2, RetryCount: 2, Objects: [{ Table: 'DimCustomer', Partition: 'DimCustomer' }, { table: 'DimDate' }] },
      config,
      'http',
    );
    expect(parsed.ok && parsed.request.refresh).toEqual({
      type: 'full',
      commitMode: 'partialBatch',
      maxParallelism: 2,
      retryCount: 2,
      objects: [{ table: 'DimCustomer', partition: 'DimCustomer' }, { table: 'DimDate' }],
    });
  });

  it("accepts ADF's callBackUri as the callback URL", () => {
    const parsed = parseRunRequest({ server, model: 'm', callBackUri: 'https://dp.svc.datafactory.azure.com/cb?x=1' }, config, 'http');
    expect(parsed.ok && parsed.request.callbackUrl).toBe('https://dp.svc.datafactory.azure.com/cb?x=1');
  });

  it.each([
    [{ model: 'm' }, 'server is required'],
    [{ server }, 'model'],
    [{ server, model: 'm', type: 'add' }, 'type "add" is not supported'],
    [{ server, model: 'm', type: 'fast' }, 'type "fast" is not one of'],
    [{ server, model: 'm', commitMode: 'eventual' }, 'commitMode "eventual"'],
    [{ server, model: 'm', maxParallelism: -1 }, 'maxParallelism must be at least 1'],
    [{ server, model: 'm', retryCount: -2 }, 'retryCount must be at least 0'],
    [{ server, model: 'm', retryCount: 1.5 }, 'retryCount must be a whole number'],
    [{ server, model: 'm', maxParallelism: '4' }, 'maxParallelism must be a number'],
    [{ server, model: 'm', objects: [{ partition: 'p' }] }, 'table'],
    [{ server, model: 'm', objects: [{ table: 't', column: 'c' }] }, 'unknown field "column"'],
    [{ server, model: 'm', objects: 'DimDate' }, 'objects must be an array'],
    [{ server, model: 'm', colour: 'blue' }, 'unknown field "colour"'],
    [{ server, model: 'm', Type: 'full', type: 'full' }, 'given twice'],
    [{ server: 'asazure://evil.example.com/myserver', model: 'm' }, 'AAS_ALLOWED_HOSTS'],
    [{ server: 'https://westeurope.asazure.windows.net/myserver', model: 'm' }, 'server'],
    [{ server, model: 'm', callbackUrl: 'https://evil.example.com/cb' }, 'CALLBACK_ALLOWED_HOSTS'],
    [{ server, model: 'm', callbackUrl: 'http://dp.svc.datafactory.azure.com/cb' }, 'https'],
    [{ server, model: 'm', callbackUrl: 'https://user:pw@dp.svc.datafactory.azure.com/cb' }, 'credentials'],
    [{ server, model: 'm', timeout: 'PT10S' }, 'between PT1M and P7D'],
    [{ server, model: 'm', timeout: 'P30D' }, 'between PT1M and P7D'],
    [{ server, model: 'm', timeout: 'soon' }, 'ISO 8601'],
    [{ server, model: 'm', onConflict: 'queue' }, 'onConflict'],
    [{ server, model: 'm', sync: 'yes' }, 'sync must be true or false'],
    [{ server, model: 'bad\u0000name' }, 'control characters'],
    [{ server, model: '\ud800' }, 'model is not well-formed Unicode'],
    [{ server, model: 'Sales\udfff' }, 'model is not well-formed Unicode'],
    [{ server, model: 'm', objects: [{ table: 'Dim\ud83d' }] }, 'table is not well-formed Unicode'],
    [{ server, model: 'm', objects: [{ table: 'T', partition: '\udc00P' }] }, 'partition is not well-formed Unicode'],
    [{ server, model: 'm', callbackUrl: 'https://dp.svc.datafactory.azure.com/cb\ud800' }, 'callbackUrl is not well-formed Unicode'],
    [{ server, model: 'm', objects: [{ table: 'DimDate' }, { table: 'DimDate' }] }, 'objects.1: table "DimDate" is already refreshed by objects.0'],
    [{ server, model: 'm', objects: [{ table: 'DimDate' }, { table: 'dimdate' }] }, 'objects.1: table "dimdate" is already refreshed by objects.0'],
    [{ server, model: 'm', objects: [{ table: 'F', partition: 'F 2026' }, { table: 'F', partition: 'F 2026' }] }, 'objects.1: partition "F 2026" of table "F" is given twice (also objects.0)'],
    [{ server, model: 'm', objects: [{ table: 'F', partition: 'F 2026' }, { table: 'F' }] }, 'objects.0: partition "F 2026" of table "F" is already refreshed by objects.1, which names the whole table'],
    [[server], 'JSON object'],
    [null, 'JSON object'],
  ])('refuses %j', (body, expected) => {
    expect(problemsOf(body).join(' | ')).toContain(expected);
  });

  it('keeps a well-formed surrogate pair (an emoji) and distinct partitions of one table', () => {
    const parsed = parseRunRequest({ server, model: 'Sales \ud83d\udcc8', objects: [{ table: 'F', partition: 'F 2025' }, { table: 'F', partition: 'F 2026' }, { table: 'G' }] }, config, 'http');
    expect(parsed.ok && parsed.request.backend === 'aas' && parsed.request.model).toBe('Sales 📈');
    expect(parsed.ok && parsed.request.refresh.objects).toHaveLength(3);
  });

  it('refuses 1,000 copies of one object, naming each repeat, instead of sending them to AAS', () => {
    const problems = problemsOf({ server, model: 'm', objects: Array.from({ length: 1000 }, () => ({ table: 'DimDate' })) });
    expect(problems).toHaveLength(999);
    expect(problems[998]).toBe('objects.999: table "DimDate" is already refreshed by objects.0, which names the whole table');
  });

  it('quotes at most 64 characters of a wrong value, as it does for names', () => {
    expect(problemsOf({ server, model: 'm', type: 'x'.repeat(10_000) })).toEqual([`type "${'x'.repeat(64)}" is not one of full, clearValues, calculate, dataOnly, automatic, defragment`]);
  });

  it('lists every problem at once', () => {
    const problems = problemsOf({ server: 'asazure://evil.example.com/x', type: 'add', maxParallelism: 0, extra: 1 });
    expect(problems.length).toBeGreaterThanOrEqual(4);
  });
});

describe('Power BI / Fabric semantic model requests', () => {
  const pbi = { workspace: 'Finance', semanticModel: 'Sales' };

  it('reads workspace + semanticModel as a Power BI target, with the Power BI options', () => {
    const parsed = parseRunRequest({ Workspace: 'Finance', SemanticModel: 'Sales', applyRefreshPolicy: false, effectiveDate: '2025-12-31', type: 'full' }, config, 'http');
    expect(parsed.ok && parsed.request).toEqual(
      expect.objectContaining({ backend: 'powerbi', workspace: 'Finance', semanticModel: 'Sales', refresh: expect.objectContaining({ type: 'full', applyRefreshPolicy: false, effectiveDate: '2025-12-31' }) }),
    );
  });

  it.each([
    [{ ...pbi, server, model: 'm' }, 'not both'],
    [{ workspace: 'Finance', model: 'm' }, 'not both'],
    [{ workspace: 'Finance' }, 'semanticModel is required'],
    [{ semanticModel: 'Sales' }, 'workspace is required'],
    [{ workspace: '..', semanticModel: 'Sales' }, 'workspace must not be "." or ".."'],
    [{ workspace: 'Fin\u0007ance', semanticModel: 'Sales' }, 'workspace must not contain control characters'],
    [{ ...pbi, commitMode: 'partialBatch', applyRefreshPolicy: true }, 'applyRefreshPolicy must be false with commitMode "partialBatch"'],
    [{ ...pbi, effectiveDate: '31/12/2025' }, 'effectiveDate must be a date such as 2025-12-31'],
    [{ ...pbi, effectiveDate: '2025-02-30' }, 'effectiveDate is not a calendar date'],
    [{ ...pbi, applyRefreshPolicy: 'yes' }, 'applyRefreshPolicy must be true or false'],
    [{ ...pbi, type: 'add' }, 'type "add" is not supported'],
    // The AAS adapter refuses what only Power BI takes, naming it.
    [{ server, model: 'm', applyRefreshPolicy: false }, 'applyRefreshPolicy is a Power BI option'],
    [{ server, model: 'm', effectiveDate: '2025-12-31' }, 'effectiveDate is a Power BI option'],
  ])('refuses %j', (body, expected) => {
    expect(problemsOf(body).join(' | ')).toContain(expected);
  });
});
