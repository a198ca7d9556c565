import net from 'node:net';
import type { startDevStack } from '../../../local/devStack';
import { devStackFixture } from './devStackFixture';

// `npm start` settings read from the environment: a scenario chosen by AAS_EMULATOR_SCENARIO,
// and a port in use naming the setting (PORT, AAS_EMULATOR_PORT, IDENTITY_EMULATOR_PORT).
// One app start per file: the app reads its settings once when it loads, as in Azure.

const { start } = devStackFixture();

async function occupyPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

afterEach(() => {
  delete process.env.AAS_EMULATOR_SCENARIO;
});

describe('AAS_EMULATOR_SCENARIO', () => {
  it('applies the named scenario at start', async () => {
    process.env.AAS_EMULATOR_SCENARIO = 'not-admin';
    const stack = await start({ readLocalSettings: false });
    expect(stack.scenarios).toEqual(['not-admin']);
    const history = await fetch(`${stack.apiBase}/models/refreshes?server=${encodeURIComponent(stack.sampleServer)}&model=AdventureWorks`, { headers: { 'x-functions-key': stack.functionKey } });
    expect(((await history.json()) as { error: { code: string } }).error.code).toBe('AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN');
  });

  it('refuses an unknown scenario, naming the known ones', async () => {
    process.env.AAS_EMULATOR_SCENARIO = 'meteor';
    await expect(start({ readLocalSettings: false })).rejects.toThrow('AAS_EMULATOR_SCENARIO: "meteor" is not a scenario (fail-table, slow-refresh, throttle, fail-sync, busy, not-admin)');
  });
});

describe('a port in use', () => {
  it.each<[string, (port: number) => Parameters<typeof startDevStack>[0]]>([
    ['AAS_EMULATOR_PORT', (port) => ({ emulatorPorts: { aas: port, identity: 0 } })],
    ['IDENTITY_EMULATOR_PORT', (port) => ({ emulatorPorts: { aas: 0, identity: port } })],
    ['PORT', (port) => ({ port })],
  ])('names %s, the setting to change', async (setting, options) => {
    const busy = await occupyPort();
    try {
      await expect(start({ readLocalSettings: false, ...options(busy.port) })).rejects.toThrow(`Port ${busy.port} on 127.0.0.1 is already in use (${setting}); set ${setting} to a free port`);
    } finally {
      await busy.close();
    }
  });
});
