import { startEmulators, type Emulators } from '../../local/emulators';
import { createAasClient, type ClosableAasClient } from '../../src/backends/aas/client';
import { createTokenProvider } from '../../src/auth';
import type { TokenProvider } from '../../src/auth/tokenProvider';
import { loadConfig } from '../../src/config/config';
import { ErrorCodes } from '../../src/errors';
import { failure, memoryLogger, pointManagedIdentityAt } from './helpers';

// The app's settings from startEmulators().appSettings(): managed identity -> Key Vault -> service
// principal -> AAS token -> the real AAS client gets data from the AAS emulator.
let emulators: Emulators;
let provider: TokenProvider;
let client: ClosableAasClient;
let model: { server: string; model: string };

beforeAll(async () => {
  emulators = await startEmulators();
  pointManagedIdentityAt(emulators.identity);
  const config = loadConfig(emulators.appSettings());
  provider = createTokenProvider(config.auth, { logger: memoryLogger() });
  client = createAasClient({ allowedHosts: config.aas.allowedHosts, tokenProvider: provider, requestTimeoutMs: config.aas.requestTimeoutMs });
  model = { server: emulators.aas.serverName(), model: 'AdventureWorks' };
});
afterAll(async () => {
  await client.close();
  await emulators.close();
});

test('appSettings() are complete: keyVault mode, AAS host allowed, identity endpoint', () => {
  expect(emulators.appSettings()).toMatchObject({
    AUTH_MODE: 'keyVault',
    AAS_ALLOWED_HOSTS: emulators.aas.host,
    IDENTITY_ENDPOINT: emulators.identity.identityEndpoint,
    IDENTITY_HEADER: emulators.identity.identityHeader,
    KEY_VAULT_URL: emulators.identity.keyVaultUrl,
    AAS_CLIENT_ID: emulators.servicePrincipal.clientId,
    KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
  });
});

test('the AAS client lists refreshes with the token', async () => {
  expect(await client.listRefreshes(model)).toEqual(expect.any(Array));
  expect(emulators.aas.requests.filter((r) => r.operation === 'listRefreshes').map((r) => [r.status, r.authorized])).toEqual([[200, true]]);
});

test('rotation mid-run: AAS rejects (401), the client invalidates, the next call re-reads the rotated secret and succeeds', async () => {
  const { identity } = emulators;
  const newSecret = 'rotated-in-e2e-Ww6~abcdefghijklmnopqrstuv';
  identity.rotateSecret(identity.secretName, emulators.servicePrincipal.clientId, newSecret);
  emulators.aas.inject({ operation: 'listRefreshes', fault: { kind: 'expireTokens' } });
  identity.clearRequests();
  const rejected = await failure(client.listRefreshes(model));
  expect(rejected.code).toBe(ErrorCodes.AAS_UNAUTHORIZED);
  expect(await client.listRefreshes(model)).toEqual(expect.any(Array));
  expect(identity.count('keyVault', 200)).toBe(1);
  expect(identity.requests.filter((r) => r.kind === 'token').map((r) => r.status)).toEqual([200]);
});
