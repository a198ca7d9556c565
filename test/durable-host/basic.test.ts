import * as path from 'node:path';
import { startLocalHost, type LocalHost } from '../../local/durable-host';

const entry = path.join(__dirname, 'fixtures', 'basicApp.ts');

describe('local durable host: orchestrations', () => {
  let host: LocalHost;
  const logs: string[] = [];
  beforeAll(async () => {
    host = await startLocalHost({ entry, clock: 'virtual', port: 0, log: (l) => logs.push(l), functionKeys: { default: 'k1', master: 'm1' } });
  });
  afterAll(async () => {
    await host.stop();
  });

  it('runs activities in sequence with custom status', async () => {
    const id = host.startNew('HelloSeq', 'World');
    const inst = await host.waitForInstance(id);
    expect(inst.status).toBe('Completed');
    expect(inst.output).toEqual(['Hello Tokyo', 'Hello x', 'Hello World']);
    expect(inst.customStatus).toEqual({ step: 2 });
  });
});
