import { constants as cryptoConstants, createHash, randomBytes, randomUUID, verify as verifySignature, X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../../clock';
import { loadLocalTls, type LocalTls } from '../../tls';
import type { TokenIssuer } from '../jwt';

/** Audience of AAS tokens: the resource with a literal `*`. */
export const AAS_RESOURCE = 'https://*.asazure.windows.net';
export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
/** Audience of Power BI / Fabric REST tokens; the app asks for the scope `${POWERBI_RESOURCE}/.default`. */
export const POWERBI_RESOURCE = 'https://analysis.windows.net/powerbi/api';
export const PEM_CONTENT_TYPE = 'application/x-pem-file';
export const PFX_CONTENT_TYPE = 'application/x-pkcs12';

export interface IdentityEmulatorOptions {
  clock?: Clock;
  tls?: LocalTls;
  issuer: TokenIssuer;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Tenant of the function app, its managed identities and the Key Vault. */
  tenantId?: string;
  /** Name of the secret `env()` points at. */
  secretName?: string;
}

export interface ServicePrincipalRegistration {
  tenantId: string;
  clientId: string;
  secret?: string;
  /** Certificate PEM (the public part is enough; key material is ignored here). */
  certificatePem?: string;
}

export interface SecretOptions {
  contentType?: string;
  enabled?: boolean;
  /** For a certificate stored as PFX: the PEM the vault returns when asked for outContentType application/x-pem-file. */
  pemForConversion?: string;
}

export type RequestKind = 'managedIdentity' | 'openidConfiguration' | 'jwks' | 'token' | 'keyVault' | 'unknown';

/** One request as the emulator saw it. Never holds a token, secret or assertion. */
export interface IdentityRequestLogEntry {
  kind: RequestKind;
  method: string;
  /** Path only; the query is dropped except for known harmless parameters kept in `detail`. */
  path: string;
  status: number;
  detail: Record<string, string>;
}

export interface IdentityFaults {
  /** The managed identity endpoint drops every connection. */
  managedIdentityDown: boolean;
  /** Key Vault answers 403 Forbidden (the identity lacks secrets get permission). */
  keyVaultForbidden: boolean;
  /** The token endpoint answers 503. */
  entraUnavailable: boolean;
}

export interface IdentityEmulator {
  /** https://127.0.0.1:port */
  url: string;
  port: number;
  tenantId: string;
  identityEndpoint: string;
  identityHeader: string;
  authorityHost: string;
  keyVaultUrl: string;
  secretName: string;
  /** Client id of the system-assigned managed identity. */
  systemAssignedClientId: string;
  faults: IdentityFaults;
  readonly requests: IdentityRequestLogEntry[];
  /** How many requests of a kind were answered (optionally only with this status). */
  count(kind: RequestKind, status?: number): number;
  clearRequests(): void;
  /** A user-assigned identity; returns its client id. */
  addUserAssignedIdentity(clientId?: string): string;
  addTenant(tenantId: string): void;
  registerServicePrincipal(registration: ServicePrincipalRegistration): void;
  /** Changes the service principal's accepted secret in Entra (the old one stops working). */
  setServicePrincipalSecret(clientId: string, secret: string): void;
  /** Stores a new version of a secret; returns the version. */
  setSecret(name: string, value: string, options?: SecretOptions): string;
  /** Entra and Key Vault both move to a new secret value: what a rotation does. */
  rotateSecret(name: string, clientId: string, newSecret: string): string;
  disableSecret(name: string): void;
  enableSecret(name: string): void;
  deleteSecret(name: string): void;
  /** Settings that point the app (AUTH_MODE=keyVault) at this emulator. */
  env(overrides?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

interface SecretVersion {
  version: string;
  value: string;
  contentType?: string;
  enabled: boolean;
  created: number;
  updated: number;
  pemForConversion?: string;
}

interface ServicePrincipal {
  tenantId: string;
  clientId: string;
  objectId: string;
  secret?: string;
  certificate?: X509Certificate;
  thumbprintSha256?: string;
}

const KEEP_QUERY = new Set(['api-version', 'resource', 'client_id', 'outContentType']);

export async function startIdentityEmulator(options: IdentityEmulatorOptions): Promise<IdentityEmulator> {
  const clock = options.clock ?? systemClock;
  const tls = options.tls ?? loadLocalTls();
  const issuer = options.issuer;
  const tenantId = options.tenantId ?? '72f988bf-0000-4000-8000-00000000aa01';
  const secretName = options.secretName ?? 'aas-service-principal';
  const identityHeader = randomBytes(16).toString('hex');
  const systemAssignedClientId = randomUUID();
  const managedIdentities = new Map<string, string>([[systemAssignedClientId, randomUUID()]]);
  const tenants = new Set<string>([tenantId]);
  const principals = new Map<string, ServicePrincipal>();
  const secrets = new Map<string, SecretVersion[]>();
  const requests: IdentityRequestLogEntry[] = [];
  const faults: IdentityFaults = { managedIdentityDown: false, keyVaultForbidden: false, entraUnavailable: false };
  let base = '';

  const nowSeconds = () => Math.floor(clock.now() / 1000);
  const resourceOf = (scopeOrResource: string) => scopeOrResource.replace(/\/\.default$/, '').replace(/\/$/, '');

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
    return status;
  }

  function entraError(res: ServerResponse, status: number, error: string, code: number, description: string): number {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = new Date(clock.now()).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    return send(res, status, {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${base}/error?code=${code}`,
    });
  }

  function vaultError(res: ServerResponse, status: number, code: string, message: string, inner?: string): number {
    return send(res, status, { error: { code, message, ...(inner === undefined ? {} : { innererror: { code: inner } }) } });
  }

  // (a) App Service managed identity endpoint
  function managedIdentity(req: IncomingMessage, url: URL, res: ServerResponse): number {
    if (faults.managedIdentityDown) {
      req.socket.destroy();
      return 0;
    }
    if (req.headers['x-identity-header'] !== identityHeader) {
      return send(res, 401, { statusCode: 401, message: 'The X-IDENTITY-HEADER header is missing or wrong.' });
    }
    if (url.searchParams.get('api-version') !== '2019-08-01') {
      return send(res, 400, { statusCode: 400, message: 'Unsupported api-version.' });
    }
    const resource = url.searchParams.get('resource');
    if (resource === null || resource === '') return send(res, 400, { statusCode: 400, message: 'The resource parameter is required.' });
    const clientId = url.searchParams.get('client_id') ?? systemAssignedClientId;
    const objectId = managedIdentities.get(clientId);
    if (objectId === undefined) {
      return send(res, 400, { statusCode: 400, message: 'Unable to load the proper Managed Identity.', correlationId: randomUUID() });
    }
    const aud = resourceOf(resource);
    const { token, expiresOn } = issuer.issue({ aud, tid: tenantId, appid: clientId, oid: objectId, sub: objectId, iss: `https://sts.windows.net/${tenantId}/`, idtyp: 'app' });
    return send(res, 200, { access_token: token, expires_on: String(expiresOn), resource: aud, token_type: 'Bearer', client_id: clientId });
  }

  // (b) Entra ID
  function openidConfiguration(tenant: string, res: ServerResponse): number {
    if (!tenants.has(tenant)) {
      return entraError(res, 400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    }
    return send(res, 200, {
      issuer: `${base}/${tenant}/v2.0`,
      authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
      token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
      jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      id_token_signing_alg_values_supported: ['RS256'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
    });
  }

  function jwks(res: ServerResponse): number {
    const jwk = issuer.publicKey.export({ format: 'jwk' });
    return send(res, 200, { keys: [{ ...jwk, kid: issuer.keyId, use: 'sig', kty: 'RSA' }] });
  }

  function checkAssertion(assertion: string, principal: ServicePrincipal, tokenEndpoint: string): string | undefined {
    if (principal.certificate === undefined) return 'no certificate registered';
    const parts = assertion.split('.');
    if (parts.length !== 3) return 'malformed assertion';
    const [h, p, s] = parts as [string, string, string];
    let header: { alg?: string; 'x5t#S256'?: string; x5t?: string };
    let payload: { aud?: string; iss?: string; sub?: string; exp?: number };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as typeof header;
      payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as typeof payload;
    } catch {
      return 'malformed assertion';
    }
    const data = Buffer.from(`${h}.${p}`);
    const signature = Buffer.from(s, 'base64url');
    const key = principal.certificate.publicKey;
    let valid = false;
    if (header.alg === 'PS256') {
      valid = verifySignature('sha256', data, { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: cryptoConstants.RSA_PSS_SALTLEN_AUTO }, signature);
    } else if (header.alg === 'RS256') {
      valid = verifySignature('sha256', data, key, signature);
    } else {
      return `unsupported alg ${String(header.alg)}`;
    }
    if (!valid) return 'signature does not match the registered certificate';
    if (header['x5t#S256'] !== undefined && header['x5t#S256'] !== principal.thumbprintSha256) return 'x5t#S256 does not match the registered certificate';
    if (payload.aud !== tokenEndpoint) return `aud is not the token endpoint`;
    if (payload.iss !== principal.clientId || payload.sub !== principal.clientId) return 'iss/sub is not the client id';
    if (typeof payload.exp !== 'number' || payload.exp <= nowSeconds() - 300) return 'assertion expired';
    return undefined;
  }

  async function token(tenant: string, req: IncomingMessage, res: ServerResponse, detail: Record<string, string>): Promise<number> {
    const form = new URLSearchParams(await readBody(req));
    const clientId = form.get('client_id') ?? '';
    detail.client_id = clientId;
    detail.grant_type = form.get('grant_type') ?? '';
    if (faults.entraUnavailable) return send(res, 503, { error: 'temporarily_unavailable', error_description: 'AADSTS90033: A transient error has occurred. Please try again.', error_codes: [90033] });
    if (!tenants.has(tenant)) {
      return entraError(res, 400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return entraError(res, 400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    }
    const scope = form.get('scope') ?? '';
    const resourceScope = scope.split(' ').find((entry) => entry.endsWith('/.default'));
    if (resourceScope === undefined) {
      return entraError(res, 400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    const principal = principals.get(clientId);
    if (principal === undefined || principal.tenantId !== tenant) {
      return entraError(res, 400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
    }
    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null) {
      detail.credential = 'client_secret';
      if (principal.secret === undefined || secret !== principal.secret) {
        return entraError(res, 401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`);
      }
    } else if (assertion !== null) {
      detail.credential = 'client_assertion';
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
        return entraError(res, 400, 'invalid_request', 90001, 'Invalid client_assertion_type.');
      }
      const problem = checkAssertion(assertion, principal, `${base}/${tenant}/oauth2/v2.0/token`);
      if (problem !== undefined) {
        detail.problem = problem;
        return entraError(res, 401, 'invalid_client', 700027, `Client assertion failed signature validation (${problem}).`);
      }
    } else {
      return entraError(res, 401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    const aud = resourceOf(resourceScope);
    detail.resource = aud;
    const issued = issuer.issue({ aud, tid: tenant, appid: clientId, oid: principal.objectId, sub: principal.objectId, iss: `https://sts.windows.net/${tenant}/`, idtyp: 'app' });
    return send(res, 200, { token_type: 'Bearer', expires_in: issued.expiresOn - nowSeconds(), ext_expires_in: issued.expiresOn - nowSeconds(), access_token: issued.token });
  }

  // (c) Key Vault
  function keyVault(req: IncomingMessage, url: URL, res: ServerResponse, detail: Record<string, string>): number {
    const challenge = `Bearer authorization="${base}/${tenantId}", resource="${KEY_VAULT_RESOURCE}"`;
    const authorization = req.headers.authorization ?? '';
    if (!authorization.startsWith('Bearer ')) {
      return send(res, 401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, { 'www-authenticate': challenge });
    }
    const check = issuer.verify(authorization.slice('Bearer '.length), KEY_VAULT_RESOURCE);
    if (!check.ok) {
      detail.rejected = check.reason;
      return send(res, 401, { error: { code: 'Unauthorized', message: `AKV10022: Invalid audience or token (${check.reason}).` } }, { 'www-authenticate': challenge });
    }
    detail.caller = check.claims.appid;
    const match = /^\/secrets\/([0-9A-Za-z-]+)\/?([0-9a-f]*)\/?$/.exec(url.pathname);
    if (match === null || req.method !== 'GET') return vaultError(res, 400, 'BadParameter', 'The request URI is not supported by this emulator.');
    const name = match[1] as string;
    const wanted = match[2] ?? '';
    if (faults.keyVaultForbidden) {
      return vaultError(res, 403, 'Forbidden',
        `The user, group or application 'appid=${check.claims.appid};oid=${String(check.claims.oid)};iss=https://sts.windows.net/${check.claims.tid}/' does not have secrets get permission on key vault 'emulator;location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
        'AccessDenied');
    }
    const versions = secrets.get(name) ?? [];
    const found = wanted === '' ? versions[versions.length - 1] : versions.find((v) => v.version === wanted);
    if (found === undefined) {
      return vaultError(res, 404, 'SecretNotFound',
        `A secret with (name/id) ${name}${wanted === '' ? '' : `/${wanted}`} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`);
    }
    if (!found.enabled) return vaultError(res, 403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
    let value = found.value;
    let contentType = found.contentType;
    const out = url.searchParams.get('outContentType');
    if (out !== null && out !== contentType) {
      if (out === PEM_CONTENT_TYPE && contentType === PFX_CONTENT_TYPE && found.pemForConversion !== undefined) {
        value = found.pemForConversion;
        contentType = PEM_CONTENT_TYPE;
      } else if (!(out === PEM_CONTENT_TYPE && contentType === PEM_CONTENT_TYPE)) {
        return vaultError(res, 400, 'BadParameter', `The secret ${name} cannot be converted to ${out}.`);
      }
    }
    return send(res, 200, {
      value,
      id: `${base}/secrets/${name}/${found.version}`,
      ...(contentType === undefined ? {} : { contentType }),
      attributes: { enabled: true, created: found.created, updated: found.updated, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
      tags: {},
    });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const detail: Record<string, string> = {};
    for (const [key, value] of url.searchParams) if (KEEP_QUERY.has(key)) detail[key] = value;
    let kind: RequestKind = 'unknown';
    let status: number;
    const tenantPath = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token|discovery\/v2\.0\/keys)$/.exec(url.pathname);
    try {
      if (url.pathname === '/msi/token') {
        kind = 'managedIdentity';
        status = managedIdentity(req, url, res);
      } else if (tenantPath !== null) {
        const tenant = tenantPath[1] as string;
        if (tenantPath[2] === 'oauth2/v2.0/token') {
          kind = 'token';
          status = req.method === 'POST' ? await token(tenant, req, res, detail) : send(res, 405, { error: 'invalid_request' });
        } else if (tenantPath[2] === 'discovery/v2.0/keys') {
          kind = 'jwks';
          status = jwks(res);
        } else {
          kind = 'openidConfiguration';
          status = openidConfiguration(tenant, res);
        }
      } else if (url.pathname.startsWith('/secrets/')) {
        kind = 'keyVault';
        status = keyVault(req, url, res, detail);
      } else {
        status = send(res, 404, { error: { code: 'NotFound', message: `No emulated endpoint at ${url.pathname}` } });
      }
    } catch (error) {
      status = res.headersSent ? 500 : send(res, 500, { error: { code: 'InternalError', message: error instanceof Error ? error.message : 'internal error' } });
    }
    requests.push({ kind, method: req.method ?? 'GET', path: url.pathname, status, detail });
  }

  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    void route(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  base = `https://127.0.0.1:${port}`;

  function putSecret(name: string, value: string, secretOptions: SecretOptions = {}): string {
    const version = randomBytes(16).toString('hex');
    const now = nowSeconds();
    const list = secrets.get(name) ?? [];
    list.push({ version, value, contentType: secretOptions.contentType, enabled: secretOptions.enabled ?? true, created: now, updated: now, pemForConversion: secretOptions.pemForConversion });
    secrets.set(name, list);
    return version;
  }

  function latest(name: string): SecretVersion {
    const list = secrets.get(name);
    const last = list?.[list.length - 1];
    if (last === undefined) throw new Error(`no secret named ${name}`);
    return last;
  }

  const emulator: IdentityEmulator = {
    url: base,
    port,
    tenantId,
    identityEndpoint: `${base}/msi/token`,
    identityHeader,
    authorityHost: base,
    keyVaultUrl: base,
    secretName,
    systemAssignedClientId,
    faults,
    requests,
    count: (kind, status) => requests.filter((r) => r.kind === kind && (status === undefined || r.status === status)).length,
    clearRequests: () => {
      requests.length = 0;
    },
    addUserAssignedIdentity(clientId = randomUUID()) {
      managedIdentities.set(clientId, randomUUID());
      return clientId;
    },
    addTenant(id) {
      tenants.add(id);
    },
    registerServicePrincipal(registration) {
      tenants.add(registration.tenantId);
      const certificate = registration.certificatePem === undefined ? undefined : new X509Certificate(registration.certificatePem);
      principals.set(registration.clientId, {
        tenantId: registration.tenantId,
        clientId: registration.clientId,
        objectId: randomUUID(),
        secret: registration.secret,
        certificate,
        thumbprintSha256: certificate === undefined ? undefined : createHash('sha256').update(certificate.raw).digest('base64url'),
      });
    },
    setServicePrincipalSecret(clientId, secret) {
      const principal = principals.get(clientId);
      if (principal === undefined) throw new Error(`no service principal ${clientId}`);
      principal.secret = secret;
    },
    setSecret: putSecret,
    rotateSecret(name, clientId, newSecret) {
      emulator.setServicePrincipalSecret(clientId, newSecret);
      return putSecret(name, newSecret);
    },
    disableSecret(name) {
      latest(name).enabled = false;
    },
    enableSecret(name) {
      latest(name).enabled = true;
    },
    deleteSecret(name) {
      secrets.delete(name);
    },
    env(overrides = {}) {
      return {
        AUTH_MODE: 'keyVault',
        IDENTITY_ENDPOINT: `${base}/msi/token`,
        IDENTITY_HEADER: identityHeader,
        AUTHORITY_HOST: base,
        KEY_VAULT_URL: base,
        KEY_VAULT_SECRET_NAME: secretName,
        KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
        AAS_TENANT_ID: tenantId,
        AAS_CLIENT_ID: [...principals.values()].find((p) => p.tenantId === tenantId)?.clientId ?? '',
        ...overrides,
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return emulator;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
