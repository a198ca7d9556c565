import { AAS_PUBLIC_SCOPE } from '../../src/backends/aas/serverName';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AAS_RESOURCE } from '../../local/emulators/identity/server';
import { createTestCertificate } from '../../local/emulators/identity/certificates';
import { createTokenProvider } from '../../src/auth';
import { loadConfig } from '../../src/config/config';
import { ErrorCodes } from '../../src/errors';
import { claimsOf, failure, SP_CLIENT_ID, SP_SECRET, startFixture, type AuthFixture } from './helpers';

// servicePrincipal mode (ClientSecretCredential / ClientCertificateCredential from settings) and
// developer mode (Azure CLI), which need no managed identity.
const CERT_CLIENT_ID = 'eeeeeeee-2222-4333-8444-555555555555';
let fx: AuthFixture;
let dir: string;
const certificate = createTestCertificate();

beforeAll(async () => {
  fx = await startFixture();
  fx.emulator.registerServicePrincipal({ tenantId: fx.emulator.tenantId, clientId: CERT_CLIENT_ID, certificatePem: certificate.certificatePem });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-test-'));
});
afterAll(async () => {
  await fx.emulator.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const settings = (extra: Record<string, string>) => ({
  AUTH_MODE: 'servicePrincipal',
  AAS_TENANT_ID: fx.emulator.tenantId,
  AUTHORITY_HOST: fx.emulator.authorityHost,
  ...extra,
});

describe('servicePrincipal mode', () => {
  test('client secret from settings', async () => {
    const token = await createTokenProvider(loadConfig(settings({ AAS_CLIENT_ID: SP_CLIENT_ID, AAS_CLIENT_SECRET: SP_SECRET })).auth).getToken(AAS_PUBLIC_SCOPE);
    expect(fx.issuer.verify(token, AAS_RESOURCE).ok).toBe(true);
    expect(claimsOf(token)).toMatchObject({ appid: SP_CLIENT_ID });
  });

  test('certificate file (PEM with key and certificate)', async () => {
    const file = path.join(dir, 'sp.pem');
    fs.writeFileSync(file, certificate.pem);
    const token = await createTokenProvider(loadConfig(settings({ AAS_CLIENT_ID: CERT_CLIENT_ID, AAS_CLIENT_CERTIFICATE_PATH: file })).auth).getToken(AAS_PUBLIC_SCOPE);
    expect(claimsOf(token)).toMatchObject({ appid: CERT_CLIENT_ID, aud: AAS_RESOURCE });
  });

  test('a missing certificate file is AUTH_CERTIFICATE_UNREADABLE naming the setting; fixed file works without restart', async () => {
    const file = path.join(dir, 'later.pem');
    const provider = createTokenProvider(loadConfig(settings({ AAS_CLIENT_ID: CERT_CLIENT_ID, AAS_CLIENT_CERTIFICATE_PATH: file })).auth);
    const error = await failure(provider.getToken(AAS_PUBLIC_SCOPE));
    expect(error).toMatchObject({ code: ErrorCodes.AUTH_CERTIFICATE_UNREADABLE });
    expect(error.message).toMatch(/AAS_CLIENT_CERTIFICATE_PATH.*ENOENT/);
    fs.writeFileSync(file, certificate.pem);
    expect(claimsOf(await provider.getToken(AAS_PUBLIC_SCOPE))).toMatchObject({ appid: CERT_CLIENT_ID });
  });

  test('a PFX file is AUTH_CERTIFICATE_UNREADABLE', async () => {
    const file = path.join(dir, 'sp.pfx');
    fs.writeFileSync(file, Buffer.from(certificate.pfxBase64, 'base64'));
    const error = await failure(createTokenProvider(loadConfig(settings({ AAS_CLIENT_ID: CERT_CLIENT_ID, AAS_CLIENT_CERTIFICATE_PATH: file })).auth).getToken(AAS_PUBLIC_SCOPE));
    expect(error).toMatchObject({ code: ErrorCodes.AUTH_CERTIFICATE_UNREADABLE });
  });

  test('a wrong secret is AUTH_INVALID_CLIENT', async () => {
    const error = await failure(createTokenProvider(loadConfig(settings({ AAS_CLIENT_ID: SP_CLIENT_ID, AAS_CLIENT_SECRET: 'nope-nope-nope' })).auth).getToken(AAS_PUBLIC_SCOPE));
    expect(error).toMatchObject({ code: ErrorCodes.AUTH_INVALID_CLIENT, retryable: true });
  });

  test('refused in Azure unless allowed', () => {
    const env = settings({ AAS_CLIENT_ID: SP_CLIENT_ID, AAS_CLIENT_SECRET: SP_SECRET, WEBSITE_INSTANCE_ID: 'abc' });
    expect(() => loadConfig(env)).toThrow(/ALLOW_SERVICE_PRINCIPAL_IN_AZURE/);
    expect(loadConfig({ ...env, ALLOW_SERVICE_PRINCIPAL_IN_AZURE: 'true' }).auth.mode).toBe('servicePrincipal');
  });
});

describe('developer mode (Azure CLI login)', () => {
  const originalPath = process.env.PATH;
  afterEach(() => {
    process.env.PATH = originalPath;
  });

  test('uses "az account get-access-token" for the AAS resource', async () => {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    const { token, expiresOn } = fx.issuer.issue({ aud: AAS_RESOURCE, tid: fx.emulator.tenantId, appid: 'developer', iss: 'https://sts.windows.net/x/' });
    fs.writeFileSync(path.join(dir, 'cli-token.json'), JSON.stringify({ accessToken: token, expires_on: expiresOn, tokenType: 'Bearer' }));
    fs.writeFileSync(path.join(bin, 'az'), `#!/bin/sh\necho "$@" > "${dir}/az-args"\ncat "${dir}/cli-token.json"\n`, { mode: 0o755 });
    process.env.PATH = `${bin}:${originalPath ?? ''}`;
    const provider = createTokenProvider(loadConfig({ AUTH_MODE: 'developer', AAS_TENANT_ID: fx.emulator.tenantId }).auth);
    expect(await provider.getToken(AAS_PUBLIC_SCOPE)).toBe(token);
    expect(fs.readFileSync(path.join(dir, 'az-args'), 'utf8')).toContain(`--resource ${AAS_RESOURCE} --tenant ${fx.emulator.tenantId}`);
  });

  test('nobody signed in: AUTH_FAILED telling to run az login', async () => {
    process.env.PATH = '/nonexistent';
    const error = await failure(createTokenProvider(loadConfig({ AUTH_MODE: 'developer' }).auth).getToken(AAS_PUBLIC_SCOPE));
    expect(error).toMatchObject({ code: ErrorCodes.AUTH_FAILED, retryable: false });
    expect(error.message).toMatch(/az login/);
  });
});
