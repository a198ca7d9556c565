import os from 'node:os';
import path from 'node:path';
import { HttpRequest } from '@azure/functions';
import Ajv2020 from 'ajv/dist/2020';
import { loadApp } from '../../local/durable-host/coreModule';
import { modelName, startAppStack, type ApiAnswer, type AppStack } from '../support/appStack';
import { statusPageHandler } from '../../src/api/statusPage';
import { buildStatusPage } from '../../web/build';

// Issue 6: the OpenAPI document served by the running app (GET /api/openapi.json, fetched, not
// imported) matches the app's real answers. Every answer provoked below is checked against the
// documented response of its operation and status: the body against the schema (with the
// document's components), the documented headers present, and the status documented at all.

interface MediaType {
  schema?: Record<string, unknown>;
}
interface ResponseObject {
  description: string;
  headers?: Record<string, { schema?: { type?: string } }>;
  content?: Record<string, MediaType>;
}
interface Operation {
  operationId: string;
  security?: unknown[];
  responses: Record<string, ResponseObject>;
}
type PathItem = Record<string, Operation | unknown>;
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, PathItem>;
  components: Record<string, unknown>;
  security?: unknown[];
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];
const hour = 3_600_000;

let stack: AppStack;
let doc: OpenApiDocument;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
const checked: string[] = [];

beforeAll(async () => {
  stack = await startAppStack({
    // One schedule that runs and one that is disabled, for GET /health (virtual time never fires them here).
    settings: (emulators) => ({
      REFRESH_SCHEDULES: JSON.stringify([
        { name: 'nightly', schedule: '0 0 2 * * *', request: { server: emulators.aas.serverName('myserver'), model: modelName(12) } },
        { name: 'broken', schedule: '0 0 2 * * 7', request: { server: emulators.aas.serverName('myserver'), model: modelName(12) } },
      ]),
    }),
  });
  const served = await stack.request('GET', 'openapi.json', { key: null });
  expect(served.status).toBe(200);
  doc = served.body as OpenApiDocument;
});
afterAll(async () => {
  await stack?.stop();
});

function operation(pathKey: string, method: string): Operation {
  const op = doc.paths[pathKey]?.[method] as Operation | undefined;
  if (op === undefined) throw new Error(`${method.toUpperCase()} ${pathKey} is not in the document`);
  return op;
}

/** Checks one real answer against the document: status documented, headers present, body valid. */
function conforms(pathKey: string, method: string, answer: ApiAnswer): void {
  const op = operation(pathKey, method);
  const label = `${method.toUpperCase()} ${pathKey} -> ${answer.status}`;
  const documented = op.responses[String(answer.status)];
  expect({ label, documented: documented !== undefined, text: answer.text.slice(0, 300) }).toEqual({ label, documented: true, text: expect.any(String) as unknown });
  if (documented === undefined) return;
  for (const [name, header] of Object.entries(documented.headers ?? {})) {
    const value = answer.headers.get(name);
    expect({ label, header: name, present: value !== null }).toEqual({ label, header: name, present: true });
    if (header.schema?.type === 'integer') expect(value).toMatch(/^\d+$/);
    if (name.toLowerCase() === 'location') expect(new URL(value ?? '').protocol).toMatch(/^https?:$/);
  }
  const media = documented.content?.['application/json'];
  const otherTypes = Object.keys(documented.content ?? {}).filter((type) => type !== 'application/json');
  if (media === undefined && otherTypes.length > 0) {
    const type = (answer.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    expect({ label, type, documented: otherTypes.includes(type) }).toEqual({ label, type, documented: true });
  } else if (media?.schema === undefined) {
    expect({ label, body: answer.text }).toEqual({ label, body: '' });
  } else {
    expect(answer.headers.get('content-type') ?? '').toMatch(/^application\/json/);
    const validate = ajv.compile({ $id: `https://openapi.local/${checked.length}`, ...media.schema, components: doc.components });
    const ok = validate(answer.body);
    expect({ label, errors: ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`) }).toEqual({ label, errors: [] });
  }
  checked.push(label);
}

const body = (model: string, extra: Record<string, unknown> = {}) => ({ server: stack.server, model, ...extra });

describe('the served document', () => {
  it('is OpenAPI 3.1 and documents exactly the HTTP functions the host serves', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const functions = loadApp(path.join(__dirname, '..', '..', 'src', 'index.ts'), () => undefined);
    const served = functions.flatMap((fn) => {
      const trigger = Object.values(fn.metadata.bindings).find((b) => b.direction === 'in' && b.type === 'httpTrigger');
      if (trigger === undefined) return [];
      const methods = Array.isArray(trigger.methods) ? (trigger.methods as string[]) : ['GET', 'POST'];
      return methods.map((m) => ({ key: `${m.toLowerCase()} /${String(trigger.route)}`, anonymous: trigger.authLevel === 'anonymous' }));
    });
    const documented = Object.entries(doc.paths).flatMap(([p, item]) => METHODS.filter((m) => item[m] !== undefined).map((m) => `${m} ${p}`));
    expect(served.map((s) => s.key).sort()).toEqual(documented.sort());
    // Keyed operations inherit the function-key security and document 401; anonymous ones say so.
    for (const { key, anonymous } of served) {
      const [method = '', p = ''] = key.split(' ');
      const op = operation(p, method);
      if (anonymous) expect({ key, security: op.security }).toEqual({ key, security: [] });
      else {
        expect({ key, security: op.security ?? doc.security }).toEqual({ key, security: doc.security });
        expect({ key, has401: op.responses['401'] !== undefined }).toEqual({ key, has401: true });
      }
    }
  });

  it('compiles every response schema', () => {
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const op = item[method] as Operation | undefined;
        for (const response of Object.values(op?.responses ?? {})) {
          const schema = response.content?.['application/json']?.schema;
          if (schema !== undefined) expect(() => ajv.compile({ ...schema, components: doc.components })).not.toThrow();
        }
        void p;
      }
    }
    // Negative control: the schemas do reject wrong bodies.
    const run = ajv.compile({ $ref: '#/components/schemas/Run', components: doc.components });
    expect(run({ id: 'x', status: 'exploded' })).toBe(false);
    const error = ajv.compile({ $ref: '#/components/schemas/Error', components: doc.components });
    expect(error({ error: { code: 'NOT_A_CODE', message: 'x' } })).toBe(false);
  });
});

describe('real answers match the document', () => {
  it('POST /refreshes: 202, 400, 409, 413, 415, 502, 401', async () => {
    const accepted = await stack.request('POST', 'refreshes', { body: body(modelName(1)) });
    expect(accepted.status).toBe(202);
    conforms('/refreshes', 'post', accepted);
    const busy = await stack.request('POST', 'refreshes', { body: body(modelName(1)) });
    expect(busy.status).toBe(409);
    conforms('/refreshes', 'post', busy);
    const invalid = await stack.request('POST', 'refreshes', { body: { model: 7, type: 'add' } });
    expect(invalid.status).toBe(400);
    conforms('/refreshes', 'post', invalid);
    const malformed = await stack.request('POST', 'refreshes', { rawBody: '{', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    conforms('/refreshes', 'post', malformed);
    const large = await stack.request('POST', 'refreshes', { rawBody: JSON.stringify({ pad: 'x'.repeat(70_000) }), headers: { 'content-type': 'application/json' } });
    expect(large.status).toBe(413);
    conforms('/refreshes', 'post', large);
    const wrongType = await stack.request('POST', 'refreshes', { rawBody: 'server=x', headers: { 'content-type': 'text/plain' } });
    expect(wrongType.status).toBe(415);
    conforms('/refreshes', 'post', wrongType);
    // Power BI cannot be asked for the workspace's id: nothing starts.
    stack.emulators.powerbi.inject({ operation: 'listGroups', times: 5, fault: { status: 503 } });
    const unreachable = await stack.request('POST', 'refreshes', { body: { workspace: 'myserver', semanticModel: modelName(8) } });
    stack.emulators.powerbi.clearFaults();
    expect(unreachable.status).toBe(502);
    conforms('/refreshes', 'post', unreachable);
    const noKey = await stack.request('POST', 'refreshes', { body: body(modelName(1)), key: null });
    expect(noKey.status).toBe(401);
    conforms('/refreshes', 'post', noKey);
  });

  it('GET /refreshes/{id}: 202 while running, 200, 500 failed, 500 cancelled, 504 timed out, 404, 401', async () => {
    const ok = await stack.start(body(modelName(2)));
    const running = await stack.run(ok);
    expect(running.status).toBe(202);
    conforms('/refreshes/{id}', 'get', running);

    stack.emulators.aas.setTable('myserver', modelName(3), 'DimDate', { durationMs: 10_000, failAttempts: 5, failMessage: 'Duplicate value.' });
    const failed = await stack.start(body(modelName(3)));
    const cancelled = await stack.start(body(modelName(4), { type: 'full' }));
    stack.emulators.aas.setTable('myserver', modelName(5), 'FactSales', { durationMs: 3 * hour });
    const timedOut = await stack.start(body(modelName(5), { timeout: 'PT1H' }));

    await stack.host.runUntilIdle({ maxVirtualMs: 40_000 });
    const cancel = await stack.request('DELETE', `refreshes/${cancelled}`);
    expect(cancel.status).toBe(202);
    conforms('/refreshes/{id}', 'delete', cancel);
    await stack.host.runUntilIdle({ maxVirtualMs: 48 * hour });

    const expected: [string, number, string][] = [
      [ok, 200, 'succeeded'],
      [failed, 500, 'failed'],
      [cancelled, 500, 'cancelled'],
      [timedOut, 504, 'timedOut'],
    ];
    for (const [id, status, runStatus] of expected) {
      const answer = await stack.run(id);
      expect({ status: answer.status, runStatus: answer.body.status }).toEqual({ status, runStatus });
      conforms('/refreshes/{id}', 'get', answer);
    }
    const unknown = await stack.request('GET', 'refreshes/00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    conforms('/refreshes/{id}', 'get', unknown);
    const noKey = await stack.request('GET', `refreshes/${ok}`, { key: null });
    expect(noKey.status).toBe(401);
    conforms('/refreshes/{id}', 'get', noKey);

    // DELETE: 409 once ended, 404 unknown, 401 without a key (202 checked above).
    const ended = await stack.request('DELETE', `refreshes/${ok}`);
    expect(ended.status).toBe(409);
    conforms('/refreshes/{id}', 'delete', ended);
    const deleteUnknown = await stack.request('DELETE', 'refreshes/00000000-0000-4000-8000-000000000000');
    expect(deleteUnknown.status).toBe(404);
    conforms('/refreshes/{id}', 'delete', deleteUnknown);
    const deleteNoKey = await stack.request('DELETE', `refreshes/${ok}`, { key: null });
    expect(deleteNoKey.status).toBe(401);
    conforms('/refreshes/{id}', 'delete', deleteNoKey);
  });

  it('GET /refreshes: 200 (with runs in every final status), 400, 401', async () => {
    const all = await stack.request('GET', 'refreshes?limit=200');
    expect(all.status).toBe(200);
    expect((all.body as { runs: unknown[] }).runs.length).toBeGreaterThanOrEqual(5);
    conforms('/refreshes', 'get', all);
    const filtered = await stack.request('GET', `refreshes?server=${encodeURIComponent(stack.server)}&model=${modelName(3)}&status=failed&limit=5`);
    expect(filtered.status).toBe(200);
    conforms('/refreshes', 'get', filtered);
    const invalid = await stack.request('GET', 'refreshes?limit=0&status=nope');
    expect(invalid.status).toBe(400);
    conforms('/refreshes', 'get', invalid);
    const noKey = await stack.request('GET', 'refreshes', { key: null });
    expect(noKey.status).toBe(401);
    conforms('/refreshes', 'get', noKey);
  });

  it('GET /models/refreshes: 200, 400, 404, 502, 401', async () => {
    const history = (model: string, key?: null) => stack.request('GET', `models/refreshes?server=${encodeURIComponent(stack.server)}&model=${encodeURIComponent(model)}`, key === null ? { key } : {});
    const ok = await history(modelName(2));
    expect(ok.status).toBe(200);
    expect((ok.body as { refreshes: unknown[] }).refreshes.length).toBeGreaterThan(0);
    conforms('/models/refreshes', 'get', ok);
    const missing = await stack.request('GET', 'models/refreshes');
    expect(missing.status).toBe(400);
    conforms('/models/refreshes', 'get', missing);
    const unknown = await history('NoSuchModel');
    expect(unknown.status).toBe(404);
    conforms('/models/refreshes', 'get', unknown);
    stack.emulators.aas.inject({ operation: 'listRefreshes', model: modelName(6), times: 5, fault: { status: 503 } });
    const unavailable = await history(modelName(6));
    stack.emulators.aas.clearFaults();
    expect(unavailable.status).toBe(502);
    conforms('/models/refreshes', 'get', unavailable);
    const noKey = await history(modelName(2), null);
    expect(noKey.status).toBe(401);
    conforms('/models/refreshes', 'get', noKey);
  });

  it('POST /models/claim/free: 202 freeing the holder, 200 when nothing holds the model, 400, 502, 401', async () => {
    const free = (query: string, key?: null) => stack.request('POST', `models/claim/free${query}`, key === null ? { key } : {});
    const target = `?server=${encodeURIComponent(stack.server)}&model=${modelName(7)}`;
    stack.emulators.aas.setTable('myserver', modelName(7), 'FactSales', { durationMs: 3 * hour });
    const holder = await stack.start(body(modelName(7)));
    await stack.host.runUntilIdle({ maxVirtualMs: 0 });
    const freed = await free(target);
    expect(freed.status).toBe(202);
    expect(freed.body).toMatchObject({ freed: true, freedFrom: holder });
    conforms('/models/claim/free', 'post', freed);
    await stack.host.runUntilIdle({ maxVirtualMs: 0 });
    const nothing = await free(target);
    expect(nothing.status).toBe(200);
    conforms('/models/claim/free', 'post', nothing);
    const invalid = await free('');
    expect(invalid.status).toBe(400);
    conforms('/models/claim/free', 'post', invalid);
    stack.emulators.powerbi.inject({ operation: 'listGroups', times: 5, fault: { status: 503 } });
    const unreachable = await free(`?workspace=myserver&semanticModel=${modelName(8)}`);
    stack.emulators.powerbi.clearFaults();
    expect(unreachable.status).toBe(502);
    conforms('/models/claim/free', 'post', unreachable);
    const noKey = await free(target, null);
    expect(noKey.status).toBe(401);
    conforms('/models/claim/free', 'post', noKey);
    await stack.request('DELETE', `refreshes/${holder}`);
    await stack.host.runUntilIdle({ maxVirtualMs: hour });
  });

  it('GET /health: 200 with an active and a disabled schedule, 401', async () => {
    const answer = await stack.request('GET', 'health');
    expect(answer.status).toBe(200);
    expect((answer.body as { schedules: { state: string }[] }).schedules.map((schedule) => schedule.state)).toEqual(['active', 'disabled']);
    conforms('/health', 'get', answer);
    const noKey = await stack.request('GET', 'health', { key: null });
    expect(noKey.status).toBe(401);
    conforms('/health', 'get', noKey);
  });

  it('GET /openapi.json is itself documented and anonymous', async () => {
    const answer = await stack.request('GET', 'openapi.json', { key: null });
    conforms('/openapi.json', 'get', answer);
  });

  it('GET /status/{*asset}: 200 for each asset of the page, 404, 503 from a package without the page', async () => {
    await buildStatusPage();
    for (const asset of ['', 'app.js', 'app.css', 'icon.svg']) {
      const answer = await stack.request('GET', `status/${asset}`, { key: null });
      expect({ asset, status: answer.status }).toEqual({ asset, status: 200 });
      conforms('/status/{*asset}', 'get', answer);
    }
    const unknown = await stack.request('GET', 'status/index.html', { key: null });
    expect(unknown.status).toBe(404);
    conforms('/status/{*asset}', 'get', unknown);
    const unbuilt = await statusPageHandler(path.join(os.tmpdir(), 'no-status-page-here'))(new HttpRequest({ method: 'GET', url: 'http://127.0.0.1/api/status/', params: { asset: '' } }));
    const text = String(unbuilt.body);
    conforms('/status/{*asset}', 'get', { status: unbuilt.status ?? 200, headers: new Headers(unbuilt.headers as Record<string, string>), body: text, text });
    expect({ status: unbuilt.status, text }).toEqual({ status: 503, text: 'The status page is not built into this package.' });
  });

  it('checked every documented status of every operation', () => {
    const documented = Object.entries(doc.paths).flatMap(([p, item]) =>
      METHODS.filter((m) => item[m] !== undefined).flatMap((m) => Object.keys((item[m] as Operation).responses).map((status) => `${m.toUpperCase()} ${p} -> ${status}`)),
    );
    expect(documented.filter((label) => !checked.includes(label))).toEqual([]);
    console.log(`OpenAPI: ${checked.length} real answers checked, covering ${new Set(checked).size} documented operation/status pairs`);
  });
});
