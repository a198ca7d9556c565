import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { loadLocalTls } from '../../local/tls';
import { modelName, startAppStack, type ApiAnswer, type AppStack } from '../support/appStack';

// Hostile input against the real app on the local durable host (issue 7): every crafted request
// gets its documented 4xx and error code, nothing is started on bad input, no request (let alone a
// token) reaches a host outside the allow-list, and nothing captured holds a secret or a token.

interface CanaryHit {
  method: string;
  url: string;
  authorization: string | undefined;
}

let stack: AppStack;
let canary: https.Server;
let canaryPort = 0;
const canaryHits: CanaryHit[] = [];
const answers: ApiAnswer[] = [];

beforeAll(async () => {
  const tls = loadLocalTls();
  canary = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    canaryHits.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
  canaryPort = (canary.address() as AddressInfo).port;
  stack = await startAppStack();
});

afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => (canary ? canary.close(() => resolve()) : resolve()));
});

type RequestOptions = Parameters<AppStack['request']>[2];

async function send(method: string, route: string, options?: RequestOptions): Promise<ApiAnswer> {
  const answer = await stack.request(method, route, options);
  answers.push(answer);
  return answer;
}

function footprint() {
  return {
    instances: stack.host.listInstances().length,
    aasRequests: stack.emulators.aas.requests.length,
    identityRequests: stack.emulators.identity.requests.length,
  };
}

/** Sends a request that must be refused, and checks that nothing was started or called because of it. */
async function refused(method: string, route: string, options: RequestOptions, status: number): Promise<ApiAnswer> {
  const before = footprint();
  const answer = await send(method, route, options);
  expect({ status: answer.status, text: answer.text.slice(0, 300) }).toEqual({ status, text: expect.any(String) as unknown });
  await stack.host.runUntilIdle({ maxVirtualMs: 60_000 });
  expect(footprint()).toEqual(before);
  return answer;
}

interface ErrorBody {
  error: { code: string; message: string; problems?: string[] };
}

function errorOf(answer: ApiAnswer): ErrorBody['error'] {
  expect(answer.headers.get('content-type') ?? '').toMatch(/application\/json/);
  const body = answer.body as ErrorBody;
  expect(typeof body.error?.message).toBe('string');
  return body.error;
}

const valid = () => ({ server: stack.server, model: modelName(1) });

describe('SSRF server names: 400 INVALID_REQUEST naming the server, no token requested', () => {
  const aasPort = () => stack.emulators.aas.host.split(':')[1] ?? '';
  const cases: [string, () => unknown][] = [
    ['the canary port on the allowed IP', () => `asazure://127.0.0.1:${canaryPort}/myserver`],
    ['asazure://127.0.0.1:<other port>/x', () => `asazure://127.0.0.1:${canaryPort}/x`],
    ['userinfo before the host', () => `asazure://evil.example@127.0.0.1:${aasPort()}/myserver`],
    ['userinfo after the host', () => `asazure://127.0.0.1:${aasPort()}@127.0.0.1:${canaryPort}/myserver`],
    ['an evil suffix after the port', () => `asazure://127.0.0.1:${aasPort()}.evil.example/myserver`],
    ['an evil suffix after the IP', () => `asazure://127.0.0.1.evil.example:${aasPort()}/myserver`],
    ['a look-alike Azure host', () => 'asazure://westeurope.asazure.windows.net.evil.example/myserver'],
    ['the real Azure suffix, not allow-listed here', () => 'asazure://westeurope.asazure.windows.net/myserver'],
    ['a backslash', () => `asazure://127.0.0.1:${canaryPort}\\@127.0.0.1:${aasPort()}/myserver`],
    ['a backslash path', () => `asazure:\\\\127.0.0.1:${aasPort()}\\myserver`],
    ['a percent-encoded colon', () => `asazure://127.0.0.1%3a${aasPort()}/myserver`],
    ['percent-encoded digits', () => `asazure://%31%32%37.0.0.1:${aasPort()}/myserver`],
    ['a percent-encoded slash in the server', () => `asazure://127.0.0.1:${aasPort()}/my%2fserver`],
    ['upper case scheme and other port', () => `ASAZURE://127.0.0.1:${canaryPort}/MYSERVER`],
    ['a long s (ſ, upper-cases to S)', () => `asazure://127.0.0.1:${aasPort()}/myſerver`],
    ['fullwidth digits', () => `asazure://１２７.0.0.1:${aasPort()}/myserver`],
    ['a Cyrillic a in the scheme', () => `аsazure://127.0.0.1:${aasPort()}/myserver`],
    ['a Kelvin sign (K) in the server', () => `asazure://127.0.0.1:${aasPort()}/myserver\u212a`],
    ['a zero-width space', () => `asazure://127.0.0.1:${aasPort()}/my\u200bserver`],
    ['file: scheme', () => 'file:///etc/passwd'],
    ['http: scheme', () => `http://127.0.0.1:${aasPort()}/myserver`],
    ['https: scheme', () => `https://127.0.0.1:${aasPort()}/myserver`],
    ['no scheme', () => `127.0.0.1:${aasPort()}/myserver`],
    ['hexadecimal IPv4', () => `asazure://0x7f.0.0.1:${aasPort()}/myserver`],
    ['decimal IPv4', () => `asazure://2130706433:${aasPort()}/myserver`],
    ['octal IPv4', () => `asazure://0177.0.0.1:${aasPort()}/myserver`],
    ['IPv6 loopback', () => `asazure://[::1]:${aasPort()}/myserver`],
    ['localhost', () => `asazure://localhost:${aasPort()}/myserver`],
    ['port with a leading zero', () => `asazure://127.0.0.1:0${aasPort()}/myserver`],
    ['port beyond 65535', () => `asazure://127.0.0.1:${Number(aasPort()) + 65536}/myserver`],
    ['two ports', () => `asazure://127.0.0.1:${aasPort()}:${canaryPort}/myserver`],
    ['a query string', () => `asazure://127.0.0.1:${aasPort()}/myserver?x=1`],
    ['a fragment', () => `asazure://127.0.0.1:${aasPort()}/myserver#x`],
    ['a dot-dot path', () => `asazure://127.0.0.1:${aasPort()}/myserver/../../x`],
    ['CRLF header injection', () => `asazure://127.0.0.1:${aasPort()}/myserver\r\nHost: evil.example`],
    ['a space', () => `asazure://127.0.0.1:${aasPort()}/my server`],
    ['an empty server', () => `asazure://127.0.0.1:${aasPort()}/`],
    ['no path', () => `asazure://127.0.0.1:${aasPort()}`],
    ['an empty host', () => 'asazure:///myserver'],
    ['an empty string', () => ''],
    ['a number', () => 42],
    ['null', () => null],
    ['an object', () => ({ host: '127.0.0.1' })],
    ['an array', () => [`asazure://127.0.0.1:${aasPort()}/myserver`]],
  ];
  it.each(cases)('refuses %s', async (_label, server) => {
    const answer = await refused('POST', 'refreshes', { body: { server: server(), model: modelName(1) } }, 400);
    const error = errorOf(answer);
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.problems?.some((p) => /server/i.test(p))).toBe(true);
  });

  it('refuses the same names on the model-history route, with no AAS request', async () => {
    for (const [, server] of cases.slice(0, 20)) {
      const value = server();
      if (typeof value !== 'string') continue;
      const answer = await refused('GET', `models/refreshes?server=${encodeURIComponent(value)}&model=${modelName(1)}`, {}, 400);
      expect(errorOf(answer).code).toBe('INVALID_REQUEST');
    }
  });
});

describe('wrong types and values: 400 listing every problem', () => {
  const cases: [string, () => Record<string, unknown>, RegExp][] = [
    ['model missing', () => ({ server: stack.server }), /model/],
    ['model a number', () => ({ ...valid(), model: 42 }), /model must be a string/],
    ['model empty', () => ({ ...valid(), model: '' }), /model must not be empty/],
    ['model too long', () => ({ ...valid(), model: 'M'.repeat(257) }), /longer than 256/],
    ['type add', () => ({ ...valid(), type: 'add' }), /add/],
    ['type unknown', () => ({ ...valid(), type: 'everything' }), /type "everything"/],
    ['type an array', () => ({ ...valid(), type: ['full'] }), /type must be a string/],
    ['commitMode unknown', () => ({ ...valid(), commitMode: 'yolo' }), /commitMode/],
    ['maxParallelism negative', () => ({ ...valid(), maxParallelism: -1 }), /maxParallelism must be at least 1/],
    ['maxParallelism fractional', () => ({ ...valid(), maxParallelism: 1.5 }), /whole number/],
    ['maxParallelism a string', () => ({ ...valid(), maxParallelism: '10' }), /maxParallelism must be a number/],
    ['maxParallelism huge', () => ({ ...valid(), maxParallelism: 1e308 }), /at most 256/],
    ['retryCount over 100', () => ({ ...valid(), retryCount: 101 }), /retryCount/],
    ['objects a string', () => ({ ...valid(), objects: 'DimDate' }), /objects must be an array/],
    ['objects without table', () => ({ ...valid(), objects: [{}] }), /table/],
    ['objects with a numeric table', () => ({ ...valid(), objects: [{ table: 1 }] }), /table must be a string/],
    ['objects with an unknown field', () => ({ ...valid(), objects: [{ table: 'DimDate', database: 'master' }] }), /unknown field "database"/],
    ['objects over 1000', () => ({ ...valid(), objects: Array.from({ length: 1001 }, () => ({ table: 'T' })) }), /more than 1000/],
    ['sync a string', () => ({ ...valid(), sync: 'yes' }), /sync must be true or false/],
    ['timeout too short', () => ({ ...valid(), timeout: 'PT1S' }), /timeout must be between/],
    ['timeout not a duration', () => ({ ...valid(), timeout: 'forever' }), /timeout/],
    ['timeout a number', () => ({ ...valid(), timeout: 3600 }), /timeout must be an ISO 8601/],
    ['onConflict unknown', () => ({ ...valid(), onConflict: 'maybe' }), /onConflict/],
    ['an unknown field', () => ({ ...valid(), database: 'master' }), /unknown field "database"/],
    ['a prototype-pollution field', () => JSON.parse(`{"server":"${stack.server}","model":"Model01","__proto__":{"admin":true}}`) as Record<string, unknown>, /unknown field "__proto__"/],
    ['a constructor field', () => ({ ...valid(), constructor: { prototype: { admin: true } } }), /unknown field "constructor"/],
    ['a toString field', () => ({ ...valid(), toString: 'x' }), /unknown field "toString"/],
    ['a field given twice in two casings', () => ({ ...valid(), Model: 'Model02' }), /given twice/],
    ['control characters in the model', () => ({ ...valid(), model: 'Model01\r\nX-Injected: 1' }), /control characters/],
    ['a NUL in a table', () => ({ ...valid(), objects: [{ table: 'DimDate\u0000' }] }), /control characters/],
    ['a CRLF in a partition', () => ({ ...valid(), objects: [{ table: 'FactSales', partition: 'FactSales 2026\r\n' }] }), /control characters/],
    ['a tab in a table', () => ({ ...valid(), objects: [{ table: 'Dim\tDate' }] }), /control characters/],
  ];
  it.each(cases)('refuses %s', async (_label, body, expected) => {
    const answer = await refused('POST', 'refreshes', { body: body() }, 400);
    const error = errorOf(answer);
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.problems?.join('\n')).toMatch(expected);
  });

  it('lists every problem of a body wrong in many ways at once', async () => {
    const answer = await refused('POST', 'refreshes', { body: { server: 'http://evil.example/x', model: 7, type: 'add', maxParallelism: -2, retryCount: 'x', objects: [{}], sync: 1, timeout: 'never', onConflict: 'x', extra: true } }, 400);
    expect(errorOf(answer).problems?.length).toBeGreaterThanOrEqual(10);
  });

  it.each<[string, () => unknown]>([
    ['an array', () => [valid()]],
    ['null', () => null],
    ['a string', () => 'refresh please'],
    ['a number', () => 42],
  ])('refuses a body that is %s', async (_label, body) => {
    const answer = await refused('POST', 'refreshes', { rawBody: JSON.stringify(body()), headers: { 'content-type': 'application/json' } }, 400);
    expect(errorOf(answer).problems).toContain('the body must be a JSON object');
  });
});

describe('bad callback URLs: 400, nothing called', () => {
  const callbackPort = () => new URL(stack.callbackUrl).port;
  const cases: [string, () => string][] = [
    ['http', () => `http://127.0.0.1:${callbackPort()}/callback`],
    ['credentials', () => `https://user:secret@127.0.0.1:${callbackPort()}/callback`],
    ['a user name only', () => `https://admin@127.0.0.1:${callbackPort()}/callback`],
    ['another host', () => 'https://evil.example/callback'],
    ['another port (the canary)', () => `https://127.0.0.1:${canaryPort}/callback`],
    ['the AAS emulator', () => `https://${stack.emulators.aas.host}/callback`],
    ['localhost on the allowed port', () => `https://localhost:${callbackPort()}/callback`],
    ['userinfo tricking the host', () => `https://127.0.0.1:${callbackPort()}@evil.example/callback`],
    ['the default port', () => 'https://127.0.0.1/callback'],
    ['not a URL', () => 'call me back'],
    ['javascript:', () => 'javascript:alert(1)'],
    ['file:', () => 'file:///etc/passwd'],
    ['IPv6 loopback', () => `https://[::1]:${callbackPort()}/callback`],
    ['over 2048 characters', () => `${stack.callbackUrl}?pad=${'x'.repeat(2100)}`],
  ];
  it.each(cases)('refuses %s', async (_label, url) => {
    const answer = await refused('POST', 'refreshes', { body: { ...valid(), callbackUrl: url() } }, 400);
    expect(errorOf(answer).problems?.join('\n')).toMatch(/callbackUrl/);
  });
  it('refuses a bad callBackUri (the ADF spelling) the same way', async () => {
    const answer = await refused('POST', 'refreshes', { body: { ...valid(), callBackUri: `https://127.0.0.1:${canaryPort}/callback` } }, 400);
    expect(errorOf(answer).problems?.join('\n')).toMatch(/callbackUrl .*CALLBACK_ALLOWED_HOSTS/);
  });
});

describe('malformed JSON, content types, sizes and nesting', () => {
  it.each<[string, string]>([
    ['an unterminated object', '{'],
    ['a missing value', '{"server":}'],
    ['a trailing comma', `{"server":"x","model":"y",}`],
    ['single quotes', "{'server':'x'}"],
    ['NaN', '{"maxParallelism": NaN}'],
    ['an empty body', ''],
    ['a JSON fragment after the object', '{"model":"a"} {"model":"b"}'],
    ['invalid UTF-8 escapes', '{"model":"\\uZZZZ"}'],
  ])('answers 400 to %s without echoing it', async (_label, raw) => {
    const answer = await refused('POST', 'refreshes', { rawBody: raw, headers: { 'content-type': 'application/json' } }, 400);
    const error = errorOf(answer);
    expect(error.problems).toEqual(['malformed JSON']);
  });

  it.each<[string, Record<string, string>]>([
    ['no content type', {}],
    ['text/plain', { 'content-type': 'text/plain' }],
    ['form encoded', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }],
    ['text/json', { 'content-type': 'text/json' }],
    ['application/jsonp', { 'content-type': 'application/jsonp' }],
    ['application/xml', { 'content-type': 'application/xml' }],
  ])('answers 415 to %s (a deliberate choice over 400: the body is not read at all)', async (_label, headers) => {
    const answer = await refused('POST', 'refreshes', { rawBody: JSON.stringify(valid()), headers }, 415);
    expect(errorOf(answer).code).toBe('INVALID_REQUEST');
  });

  it('answers 413 to a body just over 64 KiB', async () => {
    const raw = JSON.stringify({ ...valid(), pad: 'x'.repeat(64 * 1024) });
    const answer = await refused('POST', 'refreshes', { rawBody: raw, headers: { 'content-type': 'application/json' } }, 413);
    expect(errorOf(answer).code).toBe('INVALID_REQUEST');
  });

  it('answers 413 to a 3 MB body', async () => {
    const raw = JSON.stringify({ ...valid(), objects: Array.from({ length: 100_000 }, (_, i) => ({ table: `T${i}` })) });
    expect(raw.length).toBeGreaterThan(1_000_000);
    await refused('POST', 'refreshes', { rawBody: raw, headers: { 'content-type': 'application/json' } }, 413);
  });

  it.each<[string, () => string, RegExp]>([
    ['10,000 nested arrays', () => `${'['.repeat(10_000)}${']'.repeat(10_000)}`, /JSON object/],
    ['30,000 nested arrays (just under 64 KiB)', () => `${'['.repeat(30_000)}${']'.repeat(30_000)}`, /JSON object/],
    ['10,000 nested objects as the server', () => `{"model":"Model01","server":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`, /server/],
    ['10,000 nested arrays as objects', () => `{"server":"${stack.server}","model":"Model01","objects":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, /objects/],
    ['10,000 nested arrays as a table', () => `{"server":"${stack.server}","model":"Model01","objects":[{"table":${'['.repeat(10_000)}${']'.repeat(10_000)}}]}`, /table/],
  ])('answers 400 quickly to %s, and stays up', async (_label, raw, expected) => {
    const started = Date.now();
    const answer = await refused('POST', 'refreshes', { rawBody: raw(), headers: { 'content-type': 'application/json' } }, 400);
    console.log(`deeply nested body answered in ${Date.now() - started} ms`);
    expect(errorOf(answer).problems?.join('\n')).toMatch(expected);
    expect((await send('GET', 'refreshes?limit=1')).status).toBe(200);
  });
});

describe('function keys: 401 on every route without a valid key', () => {
  const id = '00000000-0000-4000-8000-000000000000';
  const routes: [string, string, () => RequestOptions][] = [
    ['POST', 'refreshes', () => ({ body: valid() })],
    ['GET', 'refreshes', () => ({})],
    ['GET', `refreshes/${id}`, () => ({})],
    ['DELETE', `refreshes/${id}`, () => ({})],
    ['GET', `models/refreshes?model=${modelName(1)}&server=`, () => ({})],
  ];
  const keys: [string, (route: string) => { route: string; key: string | null; headers?: Record<string, string> }][] = [
    ['no key', (route) => ({ route, key: null })],
    ['a wrong key', (route) => ({ route, key: 'wrong-key' })],
    ['an empty key', (route) => ({ route, key: '' })],
    ['the key in upper case', (route) => ({ route, key: stack.functionKey.toUpperCase() })],
    ['a prefix of the key', (route) => ({ route, key: stack.functionKey.slice(0, -1) })],
    ['the key with a suffix', (route) => ({ route, key: `${stack.functionKey}x` })],
    ['a wrong ?code=', (route) => ({ route: `${route}${route.includes('?') ? '&' : '?'}code=wrong-key`, key: null })],
    ['a Bearer token instead of a key', (route) => ({ route, key: null, headers: { authorization: `Bearer ${stack.functionKey}` } })],
  ];
  const table = routes.flatMap(([method, route, options]) => keys.map(([label, key]) => [`${method} ${route.split('?')[0]} with ${label}`, method, route, options, key] as const));
  it.each(table)('%s', async (_label, method, route, options, key) => {
    const presented = key(route.endsWith('server=') ? `${route}${encodeURIComponent(stack.server)}` : route);
    const opts = options();
    const answer = await refused(method, presented.route, { ...opts, key: presented.key, headers: { ...opts?.headers, ...presented.headers } }, 401);
    expect(answer.text).toBe('');
  });

  it('accepts the key through ?code= (what ADF follows in Location)', async () => {
    const answer = await send('GET', `refreshes?limit=1&code=${stack.functionKey}`, { key: null });
    expect(answer.status).toBe(200);
  });
});

describe('unknown run ids and path traversal: 404', () => {
  // `app`: the app answers (its Error body); `host`: the URL never reaches a route (fetch folds
  // `%2e%2e` into `..` as the URL standard says), so the host's bare 404 answers.
  const ids: [string, string, 'app' | 'host'][] = [
    ['an unknown UUID', '00000000-0000-4000-8000-000000000000', 'app'],
    ['not a UUID', 'not-a-run', 'app'],
    ['36 dashes', '-'.repeat(36), 'app'],
    ['an encoded ../ traversal', '..%2F..%2Fruntime%2Fwebhooks%2Fdurabletask%2Finstances', 'app'],
    ['encoded dots', '%2e%2e', 'host'],
    ['encoded dots and a slash', '%2e%2e%2fopenapi.json', 'app'],
    ['a NUL', 'abc%00def', 'app'],
    ['a very long id', 'a'.repeat(2000), 'app'],
    ['a UUID with a suffix', '00000000-0000-4000-8000-000000000000%3Bdrop', 'app'],
    ['a query-like id', '%3Fshow%3Dall', 'app'],
  ];
  it.each(ids)('GET %s', async (_label, id, answeredBy) => {
    const answer = await refused('GET', `refreshes/${id}`, {}, 404);
    if (answeredBy === 'app') expect(errorOf(answer).code).toBe('RUN_NOT_FOUND');
    else expect(answer.text).toBe('');
  });
  it.each(ids)('DELETE %s', async (_label, id, answeredBy) => {
    const answer = await refused('DELETE', `refreshes/${id}`, {}, 404);
    if (answeredBy === 'app') expect(errorOf(answer).code).toBe('RUN_NOT_FOUND');
    else expect(answer.text).toBe('');
  });
});

describe('list and history queries', () => {
  it.each<[string, string]>([
    ['limit 0', 'refreshes?limit=0'],
    ['limit 201', 'refreshes?limit=201'],
    ['limit not a number', 'refreshes?limit=abc'],
    ['limit fractional', 'refreshes?limit=1.5'],
    ['limit in exponent notation', 'refreshes?limit=1e2'],
    ['limit in hexadecimal', 'refreshes?limit=0x10'],
    ['limit with a leading space', 'refreshes?limit=%205'],
    ['limit given twice', 'refreshes?limit=5&limit=6'],
    ['a list filter with a bad model', `refreshes?model=${encodeURIComponent('Model01\r\nX: 1')}`],
    ['a list filter with a server off the allow-list', `refreshes?server=${encodeURIComponent('asazure://evil.example.com/myserver')}`],
    ['an unknown status', 'refreshes?status=everything'],
    ['history without server', `models/refreshes?model=${modelName(1)}`],
    ['history without model', `models/refreshes?server=${encodeURIComponent('asazure://127.0.0.1:1/myserver')}`],
  ])('400 for %s', async (_label, route) => {
    const answer = await refused('GET', route, {}, 400);
    expect(errorOf(answer).code).toBe('INVALID_REQUEST');
  });
});

describe('the model-history route refuses what POST refuses, with 400 naming the field and no AAS call', () => {
  const history = (model: string) => `models/refreshes?server=${encodeURIComponent(stack.server)}&model=${encodeURIComponent(model)}`;
  it.each<[string, string, string]>([
    ['".."', '..', 'model must not be "." or ".."'],
    ['control characters', 'Model01\u0001', 'model must not contain control characters'],
    ['a CRLF', 'Model01\r\nX-Injected: 1', 'model must not contain control characters'],
    ['10,000 characters', 'M'.repeat(10_000), 'model is longer than 256 characters'],
  ])('model %s', async (_label, model, expected) => {
    const answer = await refused('GET', history(model), {}, 400);
    const error = errorOf(answer);
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.problems).toEqual([expected]);
  });
});

describe('a server that does not exist (AAS gives the same answer as for a missing admin)', () => {
  const missing = () => stack.emulators.aas.serverName('nosuchserver');
  it('the history route answers 404 with a code and message naming both causes, not AAS_NOT_ADMIN', async () => {
    const answer = await send('GET', `models/refreshes?server=${encodeURIComponent(missing())}&model=${modelName(1)}`);
    expect(answer.status).toBe(404);
    const error = errorOf(answer);
    expect(error.code).toBe('AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN');
    expect(error.message).toContain('the server does not exist, or the identity is not one of its administrators (AAS does not say which)');
  });
  it('a run on it fails with the same code', async () => {
    const answer = await send('POST', 'refreshes', { body: { server: missing(), model: modelName(1) } });
    expect(answer.status).toBe(202);
    await stack.host.runUntilIdle({ maxVirtualMs: 3_600_000 });
    const run = (await send('GET', `refreshes/${(answer.body as { id: string }).id}`)).body as { status: string; error?: { code: string } };
    expect([run.status, run.error?.code]).toEqual(['failed', 'AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN']);
  });
});

describe('ill-formed Unicode, repeated keys and repeated objects in a body: 400, nothing sent to AAS', () => {
  const raw = (text: () => string) => () => ({ rawBody: text(), headers: { 'content-type': 'application/json' } });
  it.each<[string, () => RequestOptions, string]>([
    ['a lone high surrogate as the model', raw(() => `{"server":"${stack.server}","model":"\\ud800"}`), 'model is not well-formed Unicode (it has a lone surrogate such as \\ud800)'],
    ['a lone low surrogate in a table', raw(() => `{"server":"${stack.server}","model":"Model01","objects":[{"table":"Dim\\udc00"}]}`), 'objects.0.table: table is not well-formed Unicode (it has a lone surrogate such as \\ud800)'],
    ['the model key twice', raw(() => `{"server":"${stack.server}","model":"Model01","model":"Model02"}`), 'field "model" is given twice'],
    ['a table key twice in one object', raw(() => `{"server":"${stack.server}","model":"Model01","objects":[{"table":"DimDate","table":"FactSales"}]}`), 'field "objects.0.table" is given twice'],
    ['one object 1,000 times', () => ({ body: { ...valid(), objects: Array.from({ length: 1000 }, () => ({ table: 'DimDate' })) } }), 'objects.1: table "DimDate" is already refreshed by objects.0, which names the whole table'],
  ])('refuses %s', async (_label, options, expected) => {
    const answer = await refused('POST', 'refreshes', options(), 400);
    const error = errorOf(answer);
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.problems?.[0]).toBe(expected);
    expect(answer.text).not.toMatch(/URIError|\bat \S+ \(|\/src\/|\/work\//);
  });

  it('accepts a well-formed surrogate pair (an emoji) and lets AAS judge the name', async () => {
    const answer = await send('POST', 'refreshes', { rawBody: `{"server":"${stack.server}","model":"Model01 \\ud83d\\udcc8"}`, headers: { 'content-type': 'application/json' } });
    expect(answer.status).toBe(202);
    expect((answer.body as { model: string }).model).toBe('Model01 📈');
    const id = (answer.body as { id: string }).id;
    await stack.host.runUntilIdle({ maxVirtualMs: 48 * 3600 * 1000 });
    const run = (await send('GET', `refreshes/${id}`)).body as { status: string; error?: { code: string; message: string } };
    expect(run.status).toBe('failed');
    expect(run.error?.code).toBe('AAS_NOT_FOUND');
    expect(run.error?.message).not.toMatch(/URIError|\bat \S+ \(|\/src\/|\/work\//);
  });
});

describe('dot-segment model names', () => {
  it.each(['.', '..', '...'])('400 for model %j, which URL parsers would collapse', async (model) => {
    const answer = await refused('POST', 'refreshes', { body: { server: stack.server, model } }, 400);
    expect(errorOf(answer).problems?.join(' ')).toContain('model must not be');
  });
});

describe('injection in names is passed as data, only ever to the allow-listed host', () => {
  const modelInjections = [
    `Model01/../../servers/other/models/x`,
    '../Model01',
    'Model01?api-version=evil',
    'Model01#fragment',
    'Model01%2F..%2Fx',
    "Model01'; DROP TABLE DimDate; --",
    '{"refresh":{"type":"full","objects":[{"database":"master"}]}}',
    '<Batch xmlns="http://schemas.microsoft.com/analysisservices/2003/engine"/>',
  ];
  const tableInjections: { table: string; partition?: string }[] = [
    { table: 'DimDate", "type": "clearValues' },
    { table: "DimDate'); EVALUATE ROW(\"x\", 1) //" },
    { table: '{"delete":{"object":{"database":"AdventureWorks"}}}' },
    { table: '../../refreshes' },
    { table: 'FactSales', partition: '"; "sequence": { "maxParallelism": 1000 } //' },
  ];

  it('starts runs that fail cleanly, with every AAS request on the allow-listed host and the right path', async () => {
    const aas = stack.emulators.aas;
    const first = aas.requests.length;
    const ids: string[] = [];
    for (const model of modelInjections) {
      const answer = await send('POST', 'refreshes', { body: { server: stack.server, model } });
      expect(answer.status).toBe(202);
      expect((answer.body as { model: string }).model).toBe(model);
      ids.push((answer.body as { id: string }).id);
    }
    for (const [index, object] of tableInjections.entries()) {
      const answer = await send('POST', 'refreshes', { body: { server: stack.server, model: modelName(index + 2), objects: [object] } });
      expect(answer.status).toBe(202);
      ids.push((answer.body as { id: string }).id);
    }
    await stack.host.runUntilIdle({ maxVirtualMs: 48 * 3600 * 1000 });
    for (const id of ids) {
      const run = await send('GET', `refreshes/${id}`);
      expect(['failed', 'succeeded']).toContain((run.body as { status: string }).status);
      expect(run.status).not.toBe(202);
    }
    const seen = aas.requests.slice(first);
    expect(seen.length).toBeGreaterThan(0);
    const allowed = new Set([...modelInjections, ...tableInjections.map((_, index) => modelName(index + 2))]);
    for (const entry of seen) {
      // The raw path has exactly the expected shape: /servers/myserver/models/<one encoded segment>/...
      expect(entry.path).toMatch(/^\/servers\/myserver\/models\/[^/]+\/(refreshes(\/[0-9a-f-]{36})?|sync)?$/);
      expect(entry.server).toBe('myserver');
      expect(allowed.has(entry.model ?? '')).toBe(true);
      expect(entry.authorized).toBe(true);
    }
    // Table injections were sent as JSON data to their own model; AAS refused the unknown objects.
    for (const index of tableInjections.keys()) expect(aas.countRequests('any', modelName(index + 2))).toBeGreaterThan(0);
  });
});

describe('nothing left the allow-list and nothing leaked', () => {
  it('the canary HTTPS server never received a request, let alone an Authorization header', () => {
    expect(canaryHits).toEqual([]);
    expect(canaryHits.filter((hit) => hit.authorization !== undefined)).toEqual([]);
  });

  it('no token, secret or Authorization header in any answer, log or emulator request log', async () => {
    const { identity, issuer } = stack.emulators;
    // The service principal's secret, read from the emulated Key Vault the way the app reads it.
    const vaultToken = issuer.issue({ aud: 'https://vault.azure.net', tid: identity.tenantId, appid: 'scan', iss: 'x' }).token;
    const stored = await fetch(`${identity.keyVaultUrl}/secrets/${identity.secretName}/?api-version=2025-07-01`, { headers: { authorization: `Bearer ${vaultToken}` } });
    const secret = ((await stored.json()) as { value: string }).value;
    expect(secret.length).toBeGreaterThan(10);
    // Tokens were really issued during the suite, so there was something to leak.
    expect(identity.count('token', 200) + identity.count('managedIdentity', 200)).toBeGreaterThan(0);

    const captured: [string, string][] = [
      ...answers.map((answer, i): [string, string] => [`answer ${i}`, `${answer.status} ${JSON.stringify([...answer.headers.entries()])} ${answer.text}`]),
      ...stack.logs.map((line, i): [string, string] => [`log ${i}`, line]),
      ['aas requests', JSON.stringify(stack.emulators.aas.requests)],
      ['identity requests', JSON.stringify(identity.requests)],
      ['callbacks', JSON.stringify(stack.callbacks)],
      ['canary', JSON.stringify(canaryHits)],
    ];
    expect(answers.length).toBeGreaterThan(200);
    expect(stack.logs.length).toBeGreaterThan(0);
    const leaks = captured.filter(([, text]) => /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*/.test(text) || text.includes(secret) || /authorization|bearer /i.test(text));
    expect(leaks.map(([where, text]) => `${where}: ${text.slice(0, 200)}`)).toEqual([]);
  });
});
