import { AAS_PUBLIC_SCOPE } from '../../src/backends/aas/serverName';
import { AAS_RESOURCE, PEM_CONTENT_TYPE, PFX_CONTENT_TYPE } from '../../local/emulators/identity/server';
import { createTestCertificate, type TestCertificate } from '../../local/emulators/identity/certificates';
import { createTokenProvider } from '../../src/auth';
import { ErrorCodes } from '../../src/errors';
import { authConfig, claimsOf, failure, memoryLogger, pointManagedIdentityAt, startFixture, type AuthFixture } from './helpers';

// keyVault mode with a certificate (PEM, and PFX converted by Key Vault), read by a user-assigned
// managed identity: ManagedIdentityCredential({clientId}) -> SecretClient -> ClientCertificateCredential.
const CERT_CLIENT_ID = 'cccccccc-2222-4333-8444-555555555555';
let fx: AuthFixture;
let certificate: TestCertificate;
let userAssigned: string;

beforeAll(async () => {
  fx = await startFixture();
  pointManagedIdentityAt(fx.emulator);
  certificate = createTestCertificate();
  userAssigned = fx.emulator.addUserAssignedIdentity();
  fx.emulator.registerServicePrincipal({ tenantId: fx.emulator.tenantId, clientId: CERT_CLIENT_ID, certificatePem: certificate.certificatePem });
  fx.emulator.setSecret('sp-cert-pem', certificate.pem, { contentType: PEM_CONTENT_TYPE });
  fx.emulator.setSecret('sp-cert-pfx', certificate.pfxBase64, { contentType: PFX_CONTENT_TYPE, pemForConversion: certificate.pem });
});
afterAll(() => fx.emulator.close());
beforeEach(() => fx.emulator.clearRequests());

const provider = (overrides: Record<string, string>) =>
  createTokenProvider(authConfig(fx.emulator, { AAS_CLIENT_ID: CERT_CLIENT_ID, MANAGED_IDENTITY_CLIENT_ID: userAssigned, ...overrides }), { logger: memoryLogger() });

test('PEM certificate: a signed client assertion gets the AAS token; the user-assigned identity read the vault', async () => {
  const token = await provider({ KEY_VAULT_SECRET_NAME: 'sp-cert-pem' }).getToken(AAS_PUBLIC_SCOPE);
  expect(fx.issuer.verify(token, AAS_RESOURCE).ok).toBe(true);
  expect(claimsOf(token)).toMatchObject({ appid: CERT_CLIENT_ID, tid: fx.emulator.tenantId });
  expect(fx.emulator.requests.find((r) => r.kind === 'managedIdentity')?.detail.client_id).toBe(userAssigned);
  expect(fx.emulator.requests.filter((r) => r.kind === 'token').map((r) => [r.status, r.detail.credential])).toEqual([[200, 'client_assertion']]);
});

test('PFX certificate: asks Key Vault again with outContentType application/x-pem-file', async () => {
  const token = await provider({ KEY_VAULT_SECRET_NAME: 'sp-cert-pfx' }).getToken(AAS_PUBLIC_SCOPE);
  expect(fx.issuer.verify(token, AAS_RESOURCE).ok).toBe(true);
  expect(fx.emulator.requests.filter((r) => r.kind === 'keyVault' && r.status === 200).map((r) => r.detail.outContentType)).toEqual([undefined, PEM_CONTENT_TYPE]);
});

test('a certificate Entra does not know for the service principal is an invalid client', async () => {
  const other = createTestCertificate('someone else');
  fx.emulator.setSecret('sp-cert-other', other.pem, { contentType: PEM_CONTENT_TYPE });
  const error = await failure(provider({ KEY_VAULT_SECRET_NAME: 'sp-cert-other' }).getToken(AAS_PUBLIC_SCOPE));
  expect(error).toMatchObject({ code: ErrorCodes.AUTH_INVALID_CLIENT });
  expect(error.message).toMatch(/certificate/);
});

test.each([
  ['no private key', () => certificate.certificatePem],
  ['no certificate', () => certificate.privateKeyPem],
  ['garbage', () => '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'],
])('an unusable PEM (%s) is AUTH_CERTIFICATE_UNREADABLE', async (_name, pem) => {
  fx.emulator.setSecret('sp-cert-bad', pem(), { contentType: PEM_CONTENT_TYPE });
  const error = await failure(provider({ KEY_VAULT_SECRET_NAME: 'sp-cert-bad' }).getToken(AAS_PUBLIC_SCOPE));
  expect(error).toMatchObject({ code: ErrorCodes.AUTH_CERTIFICATE_UNREADABLE, retryable: false });
  expect(fx.emulator.count('token')).toBe(0);
});

test('a user-assigned identity the app does not have: AUTH_MANAGED_IDENTITY_UNAVAILABLE naming MANAGED_IDENTITY_CLIENT_ID', async () => {
  const error = await failure(provider({ KEY_VAULT_SECRET_NAME: 'sp-cert-pem', MANAGED_IDENTITY_CLIENT_ID: 'dddddddd-0000-4000-8000-000000000000' }).getToken(AAS_PUBLIC_SCOPE));
  expect(error).toMatchObject({ code: ErrorCodes.AUTH_MANAGED_IDENTITY_UNAVAILABLE, retryable: false });
  expect(error.message).toMatch(/MANAGED_IDENTITY_CLIENT_ID/);
  expect(fx.emulator.requests.find((r) => r.kind === 'managedIdentity')?.status).toBe(400);
});
