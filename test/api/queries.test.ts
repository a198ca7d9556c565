import { parseHistoryQuery, parseListQuery, parseRunRequest } from '../../src/api/requestSchema';
import { loadConfig } from '../../src/config/config';

// One rule for server and model names on every route: what POST /api/refreshes refuses, the
// list and history queries refuse too, with the same words.

const config = loadConfig({ AUTH_MODE: 'managedIdentity', AAS_ALLOWED_HOSTS: '*.asazure.windows.net' });
const server = 'asazure://westeurope.asazure.windows.net/myserver';

function listProblems(query: string | URLSearchParams): string[] {
  const parsed = parseListQuery(typeof query === 'string' ? new URLSearchParams(query) : query, config);
  if (parsed.ok) throw new Error(`expected ${query} to be refused`);
  return parsed.problems;
}

function historyProblems(query: URLSearchParams): string[] {
  const parsed = parseHistoryQuery(query, config);
  if (parsed.ok) throw new Error(`expected ${query.toString()} to be refused`);
  return parsed.problems;
}

describe('server and model names: the same schema on every route', () => {
  const badModels: [string, string, string][] = [
    ['control characters', 'Model\r\nX-Injected: 1', 'model must not contain control characters'],
    ['a NUL', 'Model\u0000', 'model must not contain control characters'],
    ['10,000 characters', 'M'.repeat(10_000), 'model is longer than 256 characters'],
    ['..', '..', 'model must not be "." or ".."'],
    ['empty', '', 'model must not be empty'],
  ];
  // (A lone surrogate cannot reach a query: URLSearchParams holds USV strings, U+FFFD in its place.)
  it.each(badModels)('refuses a model with %s in the body, the history and the list query alike', (_label, model, expected) => {
    const body = parseRunRequest({ server, model }, config, 'http');
    expect(body.ok ? [] : body.problems).toContain(expected);
    expect(historyProblems(new URLSearchParams({ server, model }))).toContain(expected);
    expect(listProblems(new URLSearchParams({ model }))).toContain(expected);
  });

  const badServers: [string, string, RegExp][] = [
    ['not allow-listed', 'asazure://evil.example.com/myserver', /^server: AAS host "evil.example.com" is not in AAS_ALLOWED_HOSTS/],
    ['the wrong scheme', 'https://westeurope.asazure.windows.net/myserver', /^server: Invalid AAS server name: the scheme must be asazure:\/\//],
    ['control characters', `${server}\r\nHost: evil`, /^server: Invalid AAS server name: it contains characters/],
    ['empty', '', /^server: Invalid AAS server name: empty/],
  ];
  it.each(badServers)('refuses a server %s in the body, the history and the list query alike', (_label, bad, expected) => {
    const body = parseRunRequest({ server: bad, model: 'm' }, config, 'http');
    expect(body.ok ? [] : body.problems).toEqual([expect.stringMatching(expected)]);
    expect(historyProblems(new URLSearchParams({ server: bad, model: 'm' }))).toEqual([expect.stringMatching(expected)]);
    expect(listProblems(new URLSearchParams({ server: bad }))).toEqual([expect.stringMatching(expected)]);
  });

  it('names each missing field of the history query', () => {
    expect(historyProblems(new URLSearchParams())).toEqual([expect.stringMatching(/^server is required/), 'model is required']);
  });

  it('refuses a field given twice in a query rather than picking one', () => {
    expect(historyProblems(new URLSearchParams(`server=${encodeURIComponent(server)}&model=a&model=b`))).toEqual(['model is given 2 times; give it once']);
    expect(listProblems('limit=5&limit=6')).toEqual(['limit is given 2 times; give it once']);
  });

  it('accepts a valid history query and a list query without filters', () => {
    expect(parseHistoryQuery(new URLSearchParams({ server, model: 'Sales 📈' }), config)).toEqual({ ok: true, value: { backend: 'aas', server, model: 'Sales 📈' } });
    expect(parseListQuery(new URLSearchParams(''), config)).toEqual({ ok: true, value: { limit: 50 } });
    expect(parseListQuery(new URLSearchParams('limit=200&status=cancelling&code=key'), config)).toEqual({ ok: true, value: { limit: 200, status: 'cancelling' } });
  });
});

describe('limit: whole decimal numbers only', () => {
  it.each(['1e2', '0x10', ' 5', '5 ', '+5', '-1', '1.0', '1.5', '0', '201', '', 'abc', '1_0', '٥'])('refuses limit=%j', (limit) => {
    expect(listProblems(new URLSearchParams({ limit }).toString())).toEqual([expect.stringMatching(/^limit must be a whole number from 1 to 200/)]);
  });
  it.each([
    ['1', 1],
    ['50', 50],
    ['200', 200],
    ['007', 7],
  ])('accepts limit=%s', (limit, expected) => {
    const parsed = parseListQuery(new URLSearchParams({ limit }), config);
    expect(parsed.ok && parsed.value.limit).toBe(expected);
  });
  it('refuses an unknown status, listing the known ones', () => {
    expect(listProblems('status=everything')).toEqual([expect.stringContaining('status "everything" is not a run status (pending, waiting, refreshing, cancelling, syncing')]);
  });
});
