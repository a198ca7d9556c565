import { AAS_PUBLIC_SCOPE } from '../../src/backends/aas/serverName';
import { AAS_RESOURCE } from '../../local/emulators/identity/server';
import { createTokenProvider } from '../../src/auth';
import { loadConfig } from '../../src/config/config';
import { claimsOf, memoryLogger, pointManagedIdentityAt, startFixture, type AuthFixture } from './helpers';

// managedIdentity mode: the function app's own identity is the AAS administrator.
let fx: AuthFixture;

beforeAll(async () => {
  fx = await startFixture();
  pointManagedIdentityAt(fx.emulator);
});
afterAll(() => fx.emulator.close());

test('the system-assigned identity gets its own token for the AAS audience; no Key Vault, no Entra token endpoint', async () => {
  const provider = createTokenProvider(loadConfig({ AUTH_MODE: 'managedIdentity' }).auth, { logger: memoryLogger() });
  const token = await provider.getToken(AAS_PUBLIC_SCOPE);
  expect(fx.issuer.verify(token, AAS_RESOURCE).ok).toBe(true);
  expect(claimsOf(token)).toMatchObject({ aud: AAS_RESOURCE, appid: fx.emulator.systemAssignedClientId, tid: fx.emulator.tenantId });
  expect(fx.emulator.requests.map((r) => [r.kind, r.detail.resource])).toEqual([['managedIdentity', AAS_RESOURCE]]);
  expect(await provider.getToken(AAS_PUBLIC_SCOPE)).toBe(token);
});

test('a user-assigned identity, by client id', async () => {
  const clientId = fx.emulator.addUserAssignedIdentity();
  const provider = createTokenProvider(loadConfig({ AUTH_MODE: 'managedIdentity', MANAGED_IDENTITY_CLIENT_ID: clientId }).auth);
  expect(claimsOf(await provider.getToken(AAS_PUBLIC_SCOPE))).toMatchObject({ aud: AAS_RESOURCE, appid: clientId });
});
