import { AAS_PUBLIC_SCOPE } from '../../src/backends/aas/serverName';
import { createTokenProvider } from '../../src/auth';
import { ErrorCodes } from '../../src/errors';
import { authConfig, failure, pointManagedIdentityAt, startFixture, type AuthFixture } from './helpers';

// The identity endpoint does not answer (the SDK's managed identity setup is per process: own file).
let fx: AuthFixture;

beforeAll(async () => {
  fx = await startFixture();
  pointManagedIdentityAt(fx.emulator);
  fx.emulator.faults.managedIdentityDown = true;
});
afterAll(() => fx.emulator.close());

test('keyVault mode: AUTH_MANAGED_IDENTITY_UNAVAILABLE, retryable, and Key Vault is never read', async () => {
  const error = await failure(createTokenProvider(authConfig(fx.emulator)).getToken(AAS_PUBLIC_SCOPE));
  expect(error).toMatchObject({ code: ErrorCodes.AUTH_MANAGED_IDENTITY_UNAVAILABLE, retryable: true });
  expect(error.message).toMatch(/system-assigned managed identity.*not answering/);
  expect(fx.emulator.count('keyVault', 200)).toBe(0);
  expect(fx.emulator.count('token')).toBe(0);
});

test('managedIdentity mode: the same code', async () => {
  const error = await failure(createTokenProvider(authConfig(fx.emulator, { AUTH_MODE: 'managedIdentity' })).getToken(AAS_PUBLIC_SCOPE));
  expect(error).toMatchObject({ code: ErrorCodes.AUTH_MANAGED_IDENTITY_UNAVAILABLE });
});

test('the endpoint comes back: the next call works', async () => {
  fx.emulator.faults.managedIdentityDown = false;
  const token = await createTokenProvider(authConfig(fx.emulator)).getToken(AAS_PUBLIC_SCOPE);
  expect(token.split('.')).toHaveLength(3);
});
