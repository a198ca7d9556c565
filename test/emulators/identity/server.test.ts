import { constants, createPrivateKey, sign } from 'node:crypto';
import { VirtualClock } from '../../../local/clock';
import { createTestCertificate } from '../../../local/emulators/identity/certificates';
import { AAS_RESOURCE, KEY_VAULT_RESOURCE, PEM_CONTENT_TYPE, PFX_CONTENT_TYPE, POWERBI_RESOURCE, startIdentityEmulator, type IdentityEmulator } from '../../../local/emulators/identity/server';
import { TokenIssuer } from '../../../local/emulators/jwt';

// The emulator's HTTP contract, asserted directly (the auth tests run the real SDK clients against it).
const clock = new VirtualClock(Date.now());
const issuer = new TokenIssuer(clock);
const certificate = createTestCertificate();
let em: IdentityEmulator;

beforeAll(async () => {
  em = await startIdentityEmulator({ clock, issuer });
  em.registerServicePrincipal({ tenantId: em.tenantId, clientId: 'sp-secret', secret: 's3cret-value' });
  em.registerServicePrincipal({ tenantId: em.tenantId, clientId: 'sp-cert', certificatePem: certificate.certificatePem });
});
afterAll(() => em.close());

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

const tokenUrl = () => `${em.url}/${em.tenantId}/oauth2/v2.0/token`;
const postToken = (form: Record<string, string>, url = tokenUrl()) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });

describe('managed identity endpoint', () => {
  const get = (query: string, header = em.identityHeader) => fetch(`${em.identityEndpoint}?api-version=2019-08-01&${query}`, { headers: { 'X-IDENTITY-HEADER': header } });

  test('issues a token for the resource, expires_on as a string of seconds', async () => {
    const body = await json(await get(`resource=${encodeURIComponent(KEY_VAULT_RESOURCE)}`));
    expect(body).toMatchObject({ resource: KEY_VAULT_RESOURCE, token_type: 'Bearer', expires_on: expect.stringMatching(/^\d+$/) });
    const check = issuer.verify(String(body.access_token), KEY_VAULT_RESOURCE);
    expect(check.ok && check.claims).toMatchObject({ appid: em.systemAssignedClientId, tid: em.tenantId });
  });

  test('user-assigned by client_id; an unknown client id is 400', async () => {
    const id = em.addUserAssignedIdentity();
    expect((await json(await get(`resource=${encodeURIComponent(AAS_RESOURCE)}&client_id=${id}`))).client_id).toBe(id);
    const unknown = await get(`resource=x&client_id=00000000-0000-0000-0000-000000000000`);
    expect(unknown.status).toBe(400);
    expect(await json(unknown)).toMatchObject({ message: 'Unable to load the proper Managed Identity.' });
  });

  test('a wrong X-IDENTITY-HEADER is refused', async () => {
    expect((await get('resource=x', 'wrong')).status).toBe(401);
  });

  test('managedIdentityDown drops the connection', async () => {
    em.faults.managedIdentityDown = true;
    await expect(get('resource=x')).rejects.toThrow();
    em.faults.managedIdentityDown = false;
  });
});

describe('Entra ID', () => {
  test('OpenID configuration: issuer and token endpoint on the same host; unknown tenant is AADSTS90002', async () => {
    const body = await json(await fetch(`${em.url}/${em.tenantId}/v2.0/.well-known/openid-configuration`));
    expect(body).toMatchObject({ issuer: `${em.url}/${em.tenantId}/v2.0`, token_endpoint: tokenUrl(), jwks_uri: expect.any(String), authorization_endpoint: expect.any(String) });
    const unknown = await fetch(`${em.url}/nope/v2.0/.well-known/openid-configuration`);
    expect(unknown.status).toBe(400);
    expect(await json(unknown)).toMatchObject({ error: 'invalid_tenant', error_codes: [90002] });
    const keys = await json(await fetch(String(body.jwks_uri)));
    expect(keys.keys).toEqual([expect.objectContaining({ kid: issuer.keyId, kty: 'RSA' })]);
  });

  test('client_secret grant: token with aud = resource; wrong secret is invalid_client AADSTS7000215', async () => {
    const ok = await json(await postToken({ client_id: 'sp-secret', client_secret: 's3cret-value', grant_type: 'client_credentials', scope: `${AAS_RESOURCE}/.default` }));
    expect(ok).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number) });
    expect(issuer.verify(String(ok.access_token), AAS_RESOURCE)).toMatchObject({ ok: true, claims: { appid: 'sp-secret', tid: em.tenantId } });
    const wrong = await postToken({ client_id: 'sp-secret', client_secret: 'nope', grant_type: 'client_credentials', scope: `${AAS_RESOURCE}/.default` });
    expect(wrong.status).toBe(401);
    expect(await json(wrong)).toMatchObject({ error: 'invalid_client', error_codes: [7000215], error_description: expect.stringMatching(/^AADSTS7000215: Invalid client secret/) });
  });

  test('the Power BI scope gives a token for the Power BI audience only, by secret and by managed identity', async () => {
    const ok = await json(await postToken({ client_id: 'sp-secret', client_secret: 's3cret-value', grant_type: 'client_credentials', scope: `${POWERBI_RESOURCE}/.default` }));
    expect(issuer.verify(String(ok.access_token), POWERBI_RESOURCE)).toMatchObject({ ok: true, claims: { aud: POWERBI_RESOURCE, appid: 'sp-secret', idtyp: 'app' } });
    expect(issuer.verify(String(ok.access_token), AAS_RESOURCE)).toMatchObject({ ok: false });
    const managed = await json(await fetch(`${em.identityEndpoint}?api-version=2019-08-01&resource=${encodeURIComponent(POWERBI_RESOURCE)}`, { headers: { 'X-IDENTITY-HEADER': em.identityHeader } }));
    expect(managed.resource).toBe(POWERBI_RESOURCE);
    expect(issuer.verify(String(managed.access_token), POWERBI_RESOURCE)).toMatchObject({ ok: true });
  });

  test('an app not in the tenant is AADSTS700016', async () => {
    em.addTenant('other-tenant');
    const response = await postToken({ client_id: 'sp-secret', client_secret: 's3cret-value', grant_type: 'client_credentials', scope: `${AAS_RESOURCE}/.default` }, `${em.url}/other-tenant/oauth2/v2.0/token`);
    expect(await json(response)).toMatchObject({ error: 'unauthorized_client', error_codes: [700016] });
  });

  function assertion(alg: 'PS256' | 'RS256', aud: string, keyPem = certificate.privateKeyPem): string {
    const now = Math.floor(clock.now() / 1000);
    const header = Buffer.from(JSON.stringify({ alg, typ: 'JWT', 'x5t#S256': certificate.thumbprintSha256 })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ aud, iss: 'sp-cert', sub: 'sp-cert', exp: now + 600, nbf: now, jti: 'j' })).toString('base64url');
    const key = createPrivateKey(keyPem);
    const signature = alg === 'PS256'
      ? sign('sha256', Buffer.from(`${header}.${payload}`), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
      : sign('sha256', Buffer.from(`${header}.${payload}`), key);
    return `${header}.${payload}.${signature.toString('base64url')}`;
  }
  const assertionForm = (value: string) => ({
    client_id: 'sp-cert', grant_type: 'client_credentials', scope: `${AAS_RESOURCE}/.default`,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: value,
  });

  test.each(['PS256', 'RS256'] as const)('client_assertion signed %s with the registered certificate is accepted', async (alg) => {
    expect((await postToken(assertionForm(assertion(alg, tokenUrl())))).status).toBe(200);
  });

  test('an assertion with another key or another aud is invalid_client', async () => {
    const other = createTestCertificate('other');
    expect(await json(await postToken(assertionForm(assertion('PS256', tokenUrl(), other.privateKeyPem))))).toMatchObject({ error: 'invalid_client', error_codes: [700027] });
    expect(await json(await postToken(assertionForm(assertion('PS256', `${em.url}/elsewhere`))))).toMatchObject({ error: 'invalid_client' });
  });
});

describe('Key Vault', () => {
  let vaultToken: string;
  beforeAll(() => {
    vaultToken = issuer.issue({ aud: KEY_VAULT_RESOURCE, tid: em.tenantId, appid: 'mi', iss: 'x' }).token;
  });
  const getSecret = (path: string, token: string | null = vaultToken) =>
    fetch(`${em.keyVaultUrl}/secrets/${path}?api-version=2025-07-01`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });

  test('401 challenge without a token; an AAS-audience token is refused too', async () => {
    const response = await getSecret('any/', null);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(`Bearer authorization="${em.url}/${em.tenantId}", resource="https://vault.azure.net"`);
    const aasToken = issuer.issue({ aud: AAS_RESOURCE, tid: em.tenantId, appid: 'mi', iss: 'x' }).token;
    expect((await getSecret('any/', aasToken)).status).toBe(401);
  });

  test('versions, id, contentType; the latest without a version', async () => {
    const v1 = em.setSecret('multi', 'one');
    const v2 = em.setSecret('multi', 'two', { contentType: 'text/plain' });
    expect(await json(await getSecret('multi/'))).toMatchObject({ value: 'two', id: `${em.keyVaultUrl}/secrets/multi/${v2}`, contentType: 'text/plain', attributes: { enabled: true } });
    expect(await json(await getSecret(`multi/${v1}`))).toMatchObject({ value: 'one' });
  });

  test('PFX is converted to PEM when asked with outContentType', async () => {
    em.setSecret('cert', certificate.pfxBase64, { contentType: PFX_CONTENT_TYPE, pemForConversion: certificate.pem });
    expect(await json(await getSecret('cert/'))).toMatchObject({ contentType: PFX_CONTENT_TYPE, value: certificate.pfxBase64 });
    const converted = await fetch(`${em.keyVaultUrl}/secrets/cert/?api-version=2025-07-01&outContentType=${encodeURIComponent(PEM_CONTENT_TYPE)}`, { headers: { authorization: `Bearer ${vaultToken}` } });
    expect(await json(converted)).toMatchObject({ contentType: PEM_CONTENT_TYPE, value: certificate.pem });
  });

  test('missing, disabled, deleted and forbidden in the real body shapes', async () => {
    const missing = await getSecret('missing/');
    expect(missing.status).toBe(404);
    expect(await json(missing)).toMatchObject({ error: { code: 'SecretNotFound', message: expect.stringMatching(/^A secret with \(name\/id\) missing was not found in this key vault/) } });
    em.setSecret('off', 'x');
    em.disableSecret('off');
    const disabled = await getSecret('off/');
    expect(disabled.status).toBe(403);
    expect(await json(disabled)).toMatchObject({ error: { code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.' } });
    em.deleteSecret('off');
    expect((await getSecret('off/')).status).toBe(404);
    em.faults.keyVaultForbidden = true;
    const forbidden = await getSecret('multi/');
    em.faults.keyVaultForbidden = false;
    expect(forbidden.status).toBe(403);
    expect(await json(forbidden)).toMatchObject({ error: { code: 'Forbidden', message: expect.stringMatching(/does not have secrets get permission on key vault/) } });
  });
});

test('env() points an app at the emulator', () => {
  expect(em.env()).toMatchObject({
    AUTH_MODE: 'keyVault', IDENTITY_ENDPOINT: em.identityEndpoint, IDENTITY_HEADER: em.identityHeader, AUTHORITY_HOST: em.url,
    KEY_VAULT_URL: em.url, KEY_VAULT_SECRET_NAME: em.secretName, AAS_TENANT_ID: em.tenantId, KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
  });
});

test('the request log holds no token, secret or assertion', () => {
  const log = JSON.stringify(em.requests);
  expect(em.requests.length).toBeGreaterThan(10);
  for (const forbidden of ['s3cret-value', 'eyJ', em.identityHeader]) expect(log).not.toContain(forbidden);
});
