import { AAS_PUBLIC_SCOPE } from '../../src/backends/aas/serverName';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { startEmulators, type Emulators } from '../../local/emulators';
import { createTestCertificate } from '../../local/emulators/identity/certificates';
import { PEM_CONTENT_TYPE, PFX_CONTENT_TYPE } from '../../local/emulators/identity/server';
import { createAasClient } from '../../src/backends/aas/client';
import { createTokenProvider } from '../../src/auth';
import { loadConfig } from '../../src/config/config';
import { memoryLogger, pointManagedIdentityAt } from './helpers';

// Runs every flow, successful and failing, and then scans everything captured — emulator request
// logs, every log event, every error (message, stack, cause chain) — for secrets, key material and tokens.
let emulators: Emulators;
const logger = memoryLogger();
const errors: unknown[] = [];
const tokens: string[] = [];
const secrets: string[] = [];
const certificate = createTestCertificate();
const CERT_CLIENT_ID = 'c0c0c0c0-0000-4000-8000-000000000c0c';

beforeAll(async () => {
  emulators = await startEmulators();
  pointManagedIdentityAt(emulators.identity);
});
afterAll(() => emulators.close());

async function attempt(settings: Record<string, string>): Promise<void> {
  const config = loadConfig(emulators.appSettings(settings));
  const provider = createTokenProvider(config.auth, { logger });
  try {
    tokens.push(await provider.getToken(AAS_PUBLIC_SCOPE));
    const client = createAasClient({ allowedHosts: config.aas.allowedHosts, tokenProvider: provider, requestTimeoutMs: 10_000 });
    await client.listRefreshes({ server: emulators.aas.serverName(), model: 'AdventureWorks' });
    await client.close();
  } catch (error) {
    errors.push(error);
  }
}

test('no secret, certificate key or token appears in anything captured', async () => {
  const { identity } = emulators;
  // The sample secret: read it from the emulated vault the way the app does, to know what to look for.
  const vaultToken = emulators.issuer.issue({ aud: 'https://vault.azure.net', tid: identity.tenantId, appid: 'scan', iss: 'x' }).token;
  const stored = (await (await fetch(`${identity.keyVaultUrl}/secrets/${identity.secretName}/?api-version=2025-07-01`, { headers: { authorization: `Bearer ${vaultToken}` } })).json()) as { value: string };
  secrets.push(stored.value, vaultToken);

  identity.registerServicePrincipal({ tenantId: identity.tenantId, clientId: CERT_CLIENT_ID, certificatePem: certificate.certificatePem });
  identity.setSecret('pem', certificate.pem, { contentType: PEM_CONTENT_TYPE });
  identity.setSecret('pfx', certificate.pfxBase64, { contentType: PFX_CONTENT_TYPE, pemForConversion: certificate.pem });
  const wrong = 'wrong-secret-Vv5~abcdefghijklmnopqrstuvwx';
  identity.setSecret('wrong', wrong);
  identity.setSecret('off', stored.value);
  identity.disableSecret('off');
  const rotated = 'rotated-secret-Uu4~abcdefghijklmnopqrstuvw';
  secrets.push(wrong, rotated);

  await attempt({});
  await attempt({ AAS_CLIENT_ID: CERT_CLIENT_ID, KEY_VAULT_SECRET_NAME: 'pem' });
  await attempt({ AAS_CLIENT_ID: CERT_CLIENT_ID, KEY_VAULT_SECRET_NAME: 'pfx' });
  await attempt({ KEY_VAULT_SECRET_NAME: 'wrong' });
  await attempt({ KEY_VAULT_SECRET_NAME: 'off' });
  await attempt({ KEY_VAULT_SECRET_NAME: 'missing' });
  identity.faults.keyVaultForbidden = true;
  await attempt({});
  identity.faults.keyVaultForbidden = false;
  identity.rotateSecret(identity.secretName, emulators.servicePrincipal.clientId, rotated);
  await attempt({});
  await attempt({ AUTH_MODE: 'servicePrincipal', AAS_CLIENT_SECRET: wrong });
  await attempt({ AUTH_MODE: 'servicePrincipal', AAS_CLIENT_SECRET: rotated });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leak-'));
  fs.writeFileSync(path.join(dir, 'cert.pem'), certificate.certificatePem); // no key: unreadable
  await attempt({ AUTH_MODE: 'servicePrincipal', AAS_CLIENT_ID: CERT_CLIENT_ID, AAS_CLIENT_CERTIFICATE_PATH: path.join(dir, 'cert.pem') });
  fs.rmSync(dir, { recursive: true, force: true });

  expect(tokens.length).toBeGreaterThanOrEqual(5);
  expect(errors.length).toBeGreaterThanOrEqual(5);

  const captured = [
    JSON.stringify(identity.requests),
    JSON.stringify(emulators.aas.requests),
    JSON.stringify(logger.events),
    ...errors.map((error) => inspect(error, { depth: 8 })),
    ...errors.map((error) => JSON.stringify(error)),
  ].join('\n');
  const keyBody = (pem: string) => pem.split('\n').filter((line) => line.length > 0 && !line.startsWith('-----'));
  const needles: string[] = [
    ...secrets,
    ...tokens,
    ...tokens.map((token) => token.split('.')[2] ?? ''),
    ...keyBody(certificate.privateKeyPem),
    certificate.pfxBase64.slice(0, 64),
    identity.identityHeader,
  ];
  const found = needles.filter((needle) => needle.length >= 16 && captured.includes(needle));
  expect(found).toEqual([]);
});
