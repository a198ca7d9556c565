import { AAS_PUBLIC_SCOPE } from '../../src/backends/aas/serverName';
import { AAS_RESOURCE } from '../../local/emulators/identity/server';
import { VirtualClock } from '../../local/clock';
import { createTokenProvider } from '../../src/auth';
import { ErrorCodes } from '../../src/errors';
import { authConfig, claimsOf, failure, memoryLogger, pointManagedIdentityAt, SP_CLIENT_ID, SP_SECRET, startFixture, type AuthFixture } from './helpers';

// keyVault mode, client secret, system-assigned managed identity: the real ManagedIdentityCredential,
// SecretClient and ClientSecretCredential against the identity emulator.
let fx: AuthFixture;
const clock = new VirtualClock(Date.now());

beforeAll(async () => {
  fx = await startFixture(clock);
  pointManagedIdentityAt(fx.emulator);
});
afterAll(() => fx.emulator.close());
beforeEach(() => {
  fx.emulator.clearRequests();
  fx.emulator.faults.keyVaultForbidden = false;
  fx.emulator.faults.entraUnavailable = false;
});

const provider = (overrides: Record<string, string> = {}, logger = memoryLogger()) =>
  createTokenProvider(authConfig(fx.emulator, overrides), { now: () => clock.now(), logger });

test('gets an AAS token the AAS emulator accepts: audience, tenant, service principal', async () => {
  const token = await provider().getToken(AAS_PUBLIC_SCOPE);
  const check = fx.issuer.verify(token, AAS_RESOURCE);
  expect(check.ok).toBe(true);
  expect(claimsOf(token)).toMatchObject({ aud: 'https://*.asazure.windows.net', tid: fx.emulator.tenantId, appid: SP_CLIENT_ID });
  // The managed identity read the secret (system-assigned: no client_id), then Entra issued the AAS token.
  expect(fx.emulator.requests.find((r) => r.kind === 'managedIdentity' && r.status === 200)?.detail).toEqual(
    expect.not.objectContaining({ client_id: expect.anything() }),
  );
  expect(fx.emulator.count('keyVault', 200)).toBe(1);
  expect(fx.emulator.requests.filter((r) => r.kind === 'token' && r.status === 200).map((r) => r.detail.resource)).toEqual(['https://*.asazure.windows.net']);
});

test('caches the token until 5 minutes before expiry, and the secret for KEY_VAULT_SECRET_CACHE_SECONDS', async () => {
  const p = provider({ KEY_VAULT_SECRET_CACHE_SECONDS: '600' });
  const first = await p.getToken(AAS_PUBLIC_SCOPE);
  expect(await p.getToken(AAS_PUBLIC_SCOPE)).toBe(first);
  expect(fx.emulator.count('keyVault', 200)).toBe(1);
  expect(fx.emulator.count('token', 200)).toBe(1);
  clock.advanceBy(3599_000 - 4 * 60_000); // a minute into the renewal margin; the secret cache expired too
  const second = await p.getToken(AAS_PUBLIC_SCOPE);
  expect(second).not.toBe(first);
  expect(fx.emulator.count('keyVault', 200)).toBe(2);
  expect(fx.emulator.count('token', 200)).toBe(2);
});

test('concurrent callers share one Key Vault read and one token request', async () => {
  const p = provider();
  const tokens = await Promise.all(Array.from({ length: 20 }, () => p.getToken(AAS_PUBLIC_SCOPE)));
  expect(new Set(tokens).size).toBe(1);
  expect(fx.emulator.count('keyVault', 200)).toBe(1);
  expect(fx.emulator.count('token')).toBe(1);
});

test('rotation: after the secret changes and the AAS side rejects, invalidate() makes the next token work without a restart', async () => {
  const p = provider({ KEY_VAULT_SECRET_CACHE_SECONDS: '3600' });
  const before = await p.getToken(AAS_PUBLIC_SCOPE);
  expect(fx.issuer.verify(before, AAS_RESOURCE).ok).toBe(true);
  const rotated = 'rotated-secret-Zz9~0123456789abcdefghijklmnopqr';
  fx.emulator.rotateSecret(fx.emulator.secretName, SP_CLIENT_ID, rotated);
  // The AAS server rejects the old token (e.g. revoked): the caller invalidates and asks again.
  p.invalidate();
  const after = await p.getToken(AAS_PUBLIC_SCOPE);
  expect(after).not.toBe(before);
  expect(fx.issuer.verify(after, AAS_RESOURCE).ok).toBe(true);
  expect(fx.emulator.count('keyVault', 200)).toBe(2);
  fx.emulator.rotateSecret(fx.emulator.secretName, SP_CLIENT_ID, SP_SECRET);
});

test('rotation in Entra before Key Vault: invalid_client is retryable, and the retry re-reads the rotated secret', async () => {
  const p = provider({ KEY_VAULT_SECRET_CACHE_SECONDS: '3600' });
  const newSecret = 'entra-first-secret-Yy8~abcdefghijklmnopqrstuvw';
  fx.emulator.setServicePrincipalSecret(SP_CLIENT_ID, newSecret);
  const error = await failure(p.getToken(AAS_PUBLIC_SCOPE));
  expect(error).toMatchObject({ code: ErrorCodes.AUTH_INVALID_CLIENT, retryable: true });
  fx.emulator.setSecret(fx.emulator.secretName, newSecret);
  p.invalidate();
  expect(fx.issuer.verify(await p.getToken(AAS_PUBLIC_SCOPE), AAS_RESOURCE).ok).toBe(true);
  fx.emulator.rotateSecret(fx.emulator.secretName, SP_CLIENT_ID, SP_SECRET);
});

test('a failure is not cached: the next call tries again', async () => {
  // (Entra 5xx would not do here: MSAL itself throttles a client for 60 s after a 5xx.)
  const p = provider();
  fx.emulator.faults.keyVaultForbidden = true;
  expect(await failure(p.getToken(AAS_PUBLIC_SCOPE))).toMatchObject({ code: ErrorCodes.AUTH_KEY_VAULT_FORBIDDEN, retryable: false });
  fx.emulator.faults.keyVaultForbidden = false;
  expect(fx.issuer.verify(await p.getToken(AAS_PUBLIC_SCOPE), AAS_RESOURCE).ok).toBe(true);
});

describe.each<{ name: string; arrange: () => unknown; overrides: Record<string, string>; code: string; retryable: boolean; says: RegExp }>([
  {
    name: 'wrong secret in Key Vault',
    arrange: () => fx.emulator.setSecret('wrong-secret', 'not-the-secret-Xx7~abcdefghijklmnopqrstu'),
    overrides: { KEY_VAULT_SECRET_NAME: 'wrong-secret' },
    code: ErrorCodes.AUTH_INVALID_CLIENT,
    retryable: true,
    says: /AADSTS7000215.*wrong or expired/,
  },
  { name: 'secret missing', arrange: () => undefined, overrides: { KEY_VAULT_SECRET_NAME: 'no-such-secret' }, code: ErrorCodes.AUTH_SECRET_NOT_FOUND, retryable: false, says: /"no-such-secret".*does not exist/ },
  {
    name: 'secret disabled',
    arrange: () => {
      fx.emulator.setSecret('disabled-secret', SP_SECRET);
      fx.emulator.disableSecret('disabled-secret');
    },
    overrides: { KEY_VAULT_SECRET_NAME: 'disabled-secret' },
    code: ErrorCodes.AUTH_SECRET_DISABLED,
    retryable: false,
    says: /disabled/,
  },
  {
    name: 'Key Vault forbids the identity',
    arrange: () => {
      fx.emulator.faults.keyVaultForbidden = true;
    },
    overrides: {},
    code: ErrorCodes.AUTH_KEY_VAULT_FORBIDDEN,
    retryable: false,
    says: /system-assigned managed identity the "Key Vault Secrets User" role/,
  },
  {
    name: 'service principal in another tenant',
    arrange: () => fx.emulator.addTenant('99999999-0000-4000-8000-000000000099'),
    overrides: { AAS_TENANT_ID: '99999999-0000-4000-8000-000000000099' },
    code: ErrorCodes.AUTH_TENANT_MISMATCH,
    retryable: false,
    says: /not found in tenant 99999999-.*AAS_TENANT_ID/,
  },
  {
    name: 'unknown tenant',
    arrange: () => undefined,
    overrides: { AAS_TENANT_ID: '88888888-0000-4000-8000-000000000088' },
    code: ErrorCodes.AUTH_TENANT_MISMATCH,
    retryable: true,
    says: /AAS_TENANT_ID/,
  },
  {
    name: 'Entra unavailable',
    arrange: () => {
      fx.emulator.faults.entraUnavailable = true;
    },
    overrides: {},
    code: ErrorCodes.AUTH_TRANSIENT,
    retryable: true,
    says: /try again/,
  },
])('$name', ({ arrange, overrides, code, retryable, says }) => {
  test(`fails with ${code}`, async () => {
    arrange();
    const logger = memoryLogger();
    const error = await failure(provider(overrides, logger).getToken(AAS_PUBLIC_SCOPE));
    expect(error).toMatchObject({ code, retryable });
    expect(error.message).toMatch(says);
    expect(logger.events).toContainEqual(expect.objectContaining({ level: 'warn', event: 'auth.failed', attributes: expect.objectContaining({ code }) }));
  });
});
