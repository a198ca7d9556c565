/**
 * The Durable HTTP API held to Azure: the system key on the public webhook path (the Functions
 * host), the extension's keyless loopback RPC listener (LocalHttpListener.cs), and the answers of
 * HttpApiHandler.cs; status queries page like the Azure Storage backend.
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalHost, type LocalHost } from '../../local/durable-host';

const entry = path.join(__dirname, 'fixtures', 'strictApp.ts');
const API = '/runtime/webhooks/durabletask';

/** A raw request, so the Host header and the body are exactly what a browser page could send. */
function rawRequest(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    // The server may answer (401) and close before the whole body is sent.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    if (init.body) req.write(init.body);
    req.end();
  });
}

describe('Durable HTTP API: keys, Host header, answers (HttpApiHandler.cs, LocalHttpListener.cs)', () => {
  let host: LocalHost;
  let key: string;
  beforeAll(async () => {
    host = await startLocalHost({ entry, clock: 'virtual', port: 0, log: () => undefined, functionKeys: { default: 'k1', master: 'm1' } });
    key = host.systemKey;
  });
  afterAll(async () => {
    await host.stop();
  });

  const running = async (id: string): Promise<void> => {
    host.startNew('WaitsForGo', null, id);
    await host.runUntilIdle();
  };

  it.each([
    ['no key', {}],
    ['a function key', { 'x-functions-key': 'k1' }],
    ['a wrong key', { 'x-functions-key': 'nope' }],
  ])('answers 401 to %s, and terminates nothing', async (_label, headers) => {
    await running('guarded-1');
    expect((await host.fetch(`${API}/instances/guarded-1/terminate?reason=x`, { method: 'POST', headers })).status).toBe(401);
    expect((await host.fetch(`${API}/instances/guarded-1`, { headers })).status).toBe(401);
    expect((await host.fetch(`${API}/instances/guarded-1`, { method: 'DELETE', headers })).status).toBe(401);
    expect((await host.fetch(`${API}/instances/`, { headers })).status).toBe(401);
    await host.runUntilIdle();
    expect(host.getInstance('guarded-1')?.status).toBe('Running');
    host.raiseEvent('guarded-1', 'go', 1);
    await host.waitForInstance('guarded-1');
    host.engine.purge('guarded-1');
  });

  it('opens with the system key (?code= or x-functions-key) or the master key', async () => {
    await running('keyed-1');
    expect((await host.fetch(`${API}/instances/keyed-1?code=${key}`)).status).toBe(202);
    expect((await host.fetch(`${API}/instances/keyed-1`, { headers: { 'x-functions-key': key } })).status).toBe(202);
    expect((await host.fetch(`${API}/instances/keyed-1`, { headers: { 'x-functions-key': 'm1' } })).status).toBe(202);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
  });

  it('checks the key before reading a body or routing', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 0x61);
    expect((await rawRequest(`${host.baseUrl}${API}/orchestrators/WaitsForGo`, { method: 'POST', body: big, headers: { 'content-length': String(big.length) } })).status).toBe(401);
    expect((await host.fetch(`${API}/instances/keyed-1`, { method: 'PUT' })).status).toBe(401);
    // With the key, a method the extension does not route is 404, as HttpApiHandler.cs answers.
    expect((await host.fetch(`${API}/instances/keyed-1?code=${key}`, { method: 'PUT' })).status).toBe(404);
  });

  it('refuses a foreign Host header (DNS rebinding) on the webhook path, the RPC listener and /api', async () => {
    for (const url of [`${host.baseUrl}${API}/instances/?code=${key}`, `${host.rpcBaseUrl}instances/`, `${host.baseUrl}/api/ping`]) {
      const rebound = await rawRequest(url, { headers: { host: 'evil.example:80' } });
      expect(rebound.status).toBe(400);
      expect(rebound.body).toContain('Host header');
    }
    const port = new URL(host.baseUrl).port;
    expect((await rawRequest(`${host.baseUrl}/api/ping`, { headers: { host: `localhost:${port}` } })).status).toBe(200);
  });

  it('serves the client binding on a separate loopback RPC listener without a key', async () => {
    expect(new URL(host.rpcBaseUrl).port).not.toBe(new URL(host.baseUrl).port);
    expect(new URL(host.rpcBaseUrl).pathname).toBe('/durabletask/');
    expect((await fetch(`${host.rpcBaseUrl}instances/keyed-1`)).status).toBe(202);
    // The public path under the RPC listener does not exist.
    expect((await fetch(`${host.rpcBaseUrl.replace('/durabletask/', API)}/instances/keyed-1`)).status).toBe(404);
  });

  it('answers malformed percent-encoding with 400, not 500', async () => {
    expect((await host.fetch(`${API}/instances/%E0%A4%A?code=${key}`)).status).toBe(400);
    expect((await host.fetch(`${API}/instances/%ZZ/terminate?code=${key}`, { method: 'POST' })).status).toBe(400);
    expect((await host.fetch('/api/%E0%A4%A')).status).toBe(400);
  });

  it('raiseEvent takes application/json only, and delivers nothing otherwise', async () => {
    await running('raise-1');
    const plain = await host.fetch(`${API}/instances/raise-1/raiseEvent/go?code=${key}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '"x"' });
    expect(plain.status).toBe(400);
    expect(await plain.json()).toEqual({ Message: 'Only application/json request content is supported' });
    const broken = await host.fetch(`${API}/instances/raise-1/raiseEvent/go?code=${key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(broken.status).toBe(400);
    await host.runUntilIdle();
    expect(host.getInstance('raise-1')?.status).toBe('Running');
    const ok = await host.fetch(`${API}/instances/raise-1/raiseEvent/go?code=${key}`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '"went"' });
    expect(ok.status).toBe(202);
    expect(await host.waitForInstance('raise-1')).toMatchObject({ status: 'Completed', output: 'went' });
    const late = await host.fetch(`${API}/instances/raise-1/raiseEvent/go?code=${key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '1' });
    expect(late.status).toBe(410);
  });

  it('startNew: 500 on a running id (OrchestrationAlreadyExistsException), 400 for an unknown orchestrator or a bad id', async () => {
    await running('dup-1');
    const again = await host.fetch(`${API}/orchestrators/WaitsForGo/dup-1?code=${key}`, { method: 'POST' });
    expect(again.status).toBe(500);
    expect(await again.json()).toEqual({ Message: 'Something went wrong while processing your request', ExceptionMessage: 'An Orchestration instance with the status Running already exists.' });
    const unknown = await host.fetch(`${API}/orchestrators/NoSuchOrchestrator?code=${key}`, { method: 'POST' });
    expect(unknown.status).toBe(400);
    const body = (await unknown.json()) as { Message: string; ExceptionMessage: string };
    expect(body.Message).toBe('One or more of the arguments submitted is incorrect');
    expect(body.ExceptionMessage).toMatch(/^The function 'NoSuchOrchestrator' doesn't exist, is disabled, or is not an orchestrator function\. Additional info: The following are the known orchestrator functions: .*'WaitsForGo'/);
    expect((await host.fetch(`${API}/orchestrators/WaitsForGo/@bad?code=${key}`, { method: 'POST' })).status).toBe(400);
    expect((await host.fetch(`${API}/orchestrators/WaitsForGo/${'x'.repeat(257)}?code=${key}`, { method: 'POST' })).status).toBe(400);
    expect(host.getInstance('@bad')).toBeUndefined();
  });
});

describe('status queries page like Azure Storage (OrchestrationStatusQueryCondition.cs, AzureTableTrackingStore.cs)', () => {
  let host: LocalHost;
  let stateDir: string;
  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-paging-'));
    host = await startLocalHost({ entry, clock: 'virtual', port: 0, log: () => undefined, stateDir, statusPageLatencyMs: 40 });
    for (let i = 0; i < 250; i++) host.startNew('WaitsForGo', { n: i }, `page-${String(249 - i).padStart(3, '0')}`);
    await host.runUntilIdle();
  });
  afterAll(async () => {
    await host.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('returns 100 instances a page in instance-id order, with x-ms-continuation-token until the last page', async () => {
    const pages: string[][] = [];
    let token: string | null = null;
    const started = Date.now();
    do {
      const res: Response = await fetch(`${host.rpcBaseUrl}instances/`, { headers: token ? { 'x-ms-continuation-token': token } : {} });
      expect(res.status).toBe(200);
      pages.push(((await res.json()) as { instanceId: string }[]).map((s) => s.instanceId));
      token = res.headers.get('x-ms-continuation-token');
    } while (token && pages.length < 10);
    const elapsed = Date.now() - started;
    expect(pages.map((p) => p.length)).toEqual([100, 100, 50]);
    const all = pages.flat();
    expect(all).toEqual([...all].sort());
    expect(new Set(all).size).toBe(250);
    // The optional per-page latency was applied to each of the three pages.
    expect(elapsed).toBeGreaterThanOrEqual(3 * 40);
  });

  it('honours top below 100', async () => {
    const res = await fetch(`${host.rpcBaseUrl}instances/?top=7`);
    expect(((await res.json()) as unknown[]).length).toBe(7);
    expect(res.headers.get('x-ms-continuation-token')).toBeTruthy();
  });

  it('the real DurableClient follows the continuation token and lists all 250', async () => {
    expect(await (await host.fetch('/api/count')).json()).toEqual({ count: 250 });
  });

  it('stores an input over 60 KB of UTF-16 apart and fetches it on each status read', async () => {
    const big = { blob: 'b'.repeat(40_000) };
    host.startNew('WaitsForGo', big, 'large-1');
    await host.runUntilIdle();
    const status = (await (await fetch(`${host.rpcBaseUrl}instances/large-1`)).json()) as { input: unknown };
    expect(status.input).toEqual(big);
    const db = new Database(path.join(stateDir, 'durable.sqlite'), { readonly: true });
    try {
      const row = db.prepare('SELECT data FROM instances WHERE id = ?').get('large-1') as { data: string };
      expect(row.data.includes('bbbbbbbbbb')).toBe(false);
      expect((db.prepare('SELECT input FROM large_inputs WHERE instance_id = ?').get('large-1') as { input: string }).input).toBe(JSON.stringify(big));
    } finally {
      db.close();
    }
  });
});

it('keeps a generated system key with the state, as the Functions host keeps its keys', async () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-keys-'));
  try {
    const first = await startLocalHost({ entry, clock: 'virtual', port: 0, log: () => undefined, stateDir });
    const key = first.systemKey;
    await first.stop();
    const second = await startLocalHost({ entry, clock: 'virtual', port: 0, log: () => undefined, stateDir });
    try {
      expect(second.systemKey).toBe(key);
      expect((await second.fetch(`${API}/instances/?code=${key}`)).status).toBe(200);
    } finally {
      await second.stop();
    }
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
