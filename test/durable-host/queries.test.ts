import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalHost, type LocalHost } from '../../local/durable-host';
import { STATUS_QUERY_SCAN_LIMIT, Store } from '../../local/durable-host/store';

const entry = path.join(__dirname, 'fixtures', 'basicApp.ts');
const SYSTEM_KEY = 'queries-test-system-key';

/** Status queries answer one bounded segment per request, as Azure Storage's instances table does. */
describe('status queries examine a bounded number of instances per request', () => {
  let host: LocalHost;
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-host-queries-'));
  const t0 = Date.parse('2026-01-01T00:00:00Z');

  beforeAll(async () => {
    // 1,500 finished runs written straight into the store, then the host opens it.
    const store = new Store(stateDir);
    store.tx(() => {
      for (let i = 0; i < 1500; i++) {
        const id = `${i < 5 ? 'model-a' : 'model-b'}|run-${String(i).padStart(5, '0')}`;
        const status = id === 'model-b|run-01499' ? 'Failed' : 'Completed';
        const record = { id, name: 'HelloSeq', status, input: { i }, output: null, customStatus: null, createdTime: t0 + i * 1000, lastUpdatedTime: t0 + i * 1000, execution: 0, dispatched: [], nextId: 0, tasks: {}, historyLength: 0 };
        store.putInstance(id, record);
      }
    });
    store.close();
    host = await startLocalHost({ entry, clock: 'virtual', port: 0, stateDir, log: () => undefined, functionKeys: { durabletask_extension: SYSTEM_KEY } });
  });
  afterAll(async () => {
    await host.stop();
  });

  const page = async (query: string, token?: string): Promise<{ ids: string[]; token?: string }> => {
    const res = await host.fetch(`/runtime/webhooks/durabletask/instances/?${query}&code=${SYSTEM_KEY}`, { headers: token ? { 'x-ms-continuation-token': token } : {} });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { instanceId: string }[];
    return { ids: body.map((b) => b.instanceId), token: res.headers.get('x-ms-continuation-token') ?? undefined };
  };

  it('a filter that matches late returns empty pages with a token until the segment that holds the match', async () => {
    const first = await page('runtimeStatus=Failed&showInput=false');
    // The first segment examined 1,000 rows and found nothing: an empty page, and a token.
    expect(STATUS_QUERY_SCAN_LIMIT).toBe(1000);
    expect(first.ids).toEqual([]);
    expect(first.token).toBeDefined();
    const second = await page('runtimeStatus=Failed&showInput=false', first.token);
    expect(second).toEqual({ ids: ['model-b|run-01499'], token: undefined });
  });

  it('an instance-id prefix is a key range: one page, only the matches, no token', async () => {
    const result = await page('instanceIdPrefix=model-a%7C');
    expect(result.ids).toEqual(['model-a|run-00000', 'model-a|run-00001', 'model-a|run-00002', 'model-a|run-00003', 'model-a|run-00004']);
    expect(result.token).toBeUndefined();
  });

  it('created-time bounds are inclusive (CreatedTime ge from, le to) and pages of top follow tokens', async () => {
    const from = new Date(t0 + 10_000).toISOString();
    const to = new Date(t0 + 14_000).toISOString();
    const first = await page(`createdTimeFrom=${from}&createdTimeTo=${to}&top=3`);
    expect(first.ids).toEqual(['model-b|run-00010', 'model-b|run-00011', 'model-b|run-00012']);
    const second = await page(`createdTimeFrom=${from}&createdTimeTo=${to}&top=3`, first.token);
    expect(second.ids).toEqual(['model-b|run-00013', 'model-b|run-00014']);
  });
});
