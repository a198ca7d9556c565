import { AAS_PUBLIC_SCOPE } from '../../src/backends/aas/serverName';
import { AAS_RESOURCE, POWERBI_RESOURCE } from '../../local/emulators/identity/server';
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

test('tokens are per scope: the AAS and the Power BI audience each get their own, each served from the cache afterwards', async () => {
  const provider = createTokenProvider(loadConfig({ AUTH_MODE: 'managedIdentity' }).auth);
  const powerBiScope = `${POWERBI_RESOURCE}/.default`;
  // Asked for at once: one fetch in flight per scope, not one shared by both.
  const [aas, powerBi] = await Promise.all([provider.getToken(AAS_PUBLIC_SCOPE), provider.getToken(powerBiScope)]);
  expect(claimsOf(aas)).toMatchObject({ aud: AAS_RESOURCE });
  expect(claimsOf(powerBi)).toMatchObject({ aud: POWERBI_RESOURCE });
  expect(await provider.getToken(AAS_PUBLIC_SCOPE)).toBe(aas);
  expect(await provider.getToken(powerBiScope)).toBe(powerBi);
  // Power BI refused its token: the AAS token is kept.
  provider.invalidate(powerBiScope);
  expect(await provider.getToken(AAS_PUBLIC_SCOPE)).toBe(aas);
  expect(claimsOf(await provider.getToken(powerBiScope))).toMatchObject({ aud: POWERBI_RESOURCE });
});
