import { createPrivateKey, X509Certificate } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { SecretClient } from '@azure/keyvault-secrets';
import type { AuthConfig } from '../config/config';
import { AppError, ErrorCodes } from '../errors';
import { classifyAuthError, type AuthStage, type ClassifyContext } from './classify';
import type { TokenProvider } from './tokenProvider';

/** Event-name-plus-attributes logger (InvocationContext or pino adapt to it). Never given a secret or token. */
export interface AuthLogger {
  info(event: string, attributes?: Record<string, unknown>): void;
  warn(event: string, attributes?: Record<string, unknown>): void;
}

export interface TokenProviderOptions {
  /** Milliseconds since the epoch; the token and secret caches use it. Default Date.now. */
  now?: () => number;
  logger?: AuthLogger;
  /**
   * Retries inside the Azure SDK HTTP pipelines. Default 0: Durable's retry policy is the one
   * retry layer, and AUTH_TRANSIENT errors are marked retryable for it.
   */
  sdkMaxRetries?: number;
}

/** Tokens are renewed this long before they expire. */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60 * 1000;
export const PUBLIC_CLOUD_AUTHORITY_HOST = 'https://login.microsoftonline.com';
const PEM_CONTENT_TYPE = 'application/x-pem-file';
const PFX_CONTENT_TYPE = 'application/x-pkcs12';

type IdentityModule = typeof import('@azure/identity');
type KeyVaultModule = typeof import('@azure/keyvault-secrets');

// The SDKs are loaded on the first token, not at app start-up (they are large).
let identityModule: Promise<IdentityModule> | undefined;
let keyVaultModule: Promise<KeyVaultModule> | undefined;
const loadIdentity = (): Promise<IdentityModule> => (identityModule ??= import('@azure/identity'));
const loadKeyVault = (): Promise<KeyVaultModule> => (keyVaultModule ??= import('@azure/keyvault-secrets'));

/** One way of getting a token for a scope, without caching of the final token (the provider does that). */
interface TokenSource {
  getToken(scope: string): Promise<AccessToken>;
  /** Drop whatever was derived from a secret (the secret itself, the credential built from it). */
  invalidate(): void;
}

/** Creates the TokenProvider for the configured AUTH_MODE. No network or SDK loading happens until the first token. */
export function createTokenProvider(auth: AuthConfig, options: TokenProviderOptions = {}): TokenProvider {
  const now = options.now ?? Date.now;
  const source = createSource(auth, { ...options, now });
  /** Per scope: the token, the fetch in flight, and a generation that an invalidation bumps. */
  const scopes = new Map<string, { cached?: AccessToken; inflight?: Promise<string>; generation: number }>();
  const entryOf = (scope: string) => {
    let entry = scopes.get(scope);
    if (entry === undefined) {
      entry = { generation: 0 };
      scopes.set(scope, entry);
    }
    return entry;
  };

  return {
    getToken(scope: string): Promise<string> {
      const entry = entryOf(scope);
      const { cached } = entry;
      if (cached !== undefined && now() < cached.expiresOnTimestamp - TOKEN_REFRESH_MARGIN_MS) return Promise.resolve(cached.token);
      if (entry.inflight !== undefined) return entry.inflight;
      const started = entry.generation;
      const fetch = source.getToken(scope).then(
        (token) => {
          if (started === entry.generation) entry.cached = token;
          options.logger?.info('auth.token', { mode: auth.mode, scope, expiresOn: new Date(token.expiresOnTimestamp).toISOString() });
          return token.token;
        },
        (error: unknown) => {
          const appError = error instanceof AppError ? error : classifyAuthError(error, { stage: 'servicePrincipal', tenantId: auth.tenantId, clientId: auth.clientId });
          options.logger?.warn('auth.failed', { mode: auth.mode, scope, code: appError.code, retryable: appError.retryable, message: appError.message });
          // A rejected secret may have been rotated meanwhile: drop the cached secret and its
          // credential so that the retry reads Key Vault again instead of reusing the old one.
          // After an Entra 5xx, MSAL refuses a credential's token requests locally for 60 s;
          // a fresh credential lets Durable's retry (5 s later) ask Entra again.
          if (appError.code === ErrorCodes.AUTH_INVALID_CLIENT || appError.code === ErrorCodes.AUTH_TRANSIENT) source.invalidate();
          throw appError;
        },
      );
      entry.inflight = fetch;
      const clear = () => {
        if (entry.inflight === fetch) entry.inflight = undefined;
      };
      fetch.then(clear, clear);
      return fetch;
    },
    invalidate(scope?: string): void {
      for (const [name, entry] of scopes) {
        if (scope !== undefined && name !== scope) continue;
        entry.generation += 1;
        entry.cached = undefined;
        entry.inflight = undefined;
      }
      source.invalidate();
      options.logger?.info('auth.invalidated', { mode: auth.mode, ...(scope === undefined ? {} : { scope }) });
    },
  };
}

interface SourceOptions extends TokenProviderOptions {
  now: () => number;
}

function createSource(auth: AuthConfig, options: SourceOptions): TokenSource {
  switch (auth.mode) {
    case 'keyVault':
      return keyVaultSource(auth, options);
    case 'managedIdentity':
      return managedIdentitySource(auth, options);
    case 'servicePrincipal':
      return servicePrincipalSource(auth, options);
    case 'developer':
      return developerSource(auth, options);
  }
}

function context(auth: AuthConfig, stage: AuthStage): ClassifyContext {
  return {
    stage,
    tenantId: auth.tenantId,
    clientId: auth.clientId,
    managedIdentityClientId: auth.managedIdentityClientId,
    keyVaultUrl: auth.keyVaultUrl,
    secretName: auth.keyVaultSecretName,
    authorityHost: auth.authorityHost,
  };
}

function required(value: string | undefined, setting: string, mode: string): string {
  if (value === undefined || value === '') {
    throw new AppError(ErrorCodes.CONFIG_INVALID, `Invalid app settings: ${setting}: required when AUTH_MODE is ${mode}`);
  }
  return value;
}

async function tokenFrom(credential: TokenCredential, scope: string, ctx: ClassifyContext): Promise<AccessToken> {
  let token: AccessToken | null;
  try {
    token = await credential.getToken(scope);
  } catch (error) {
    throw classifyAuthError(error, ctx);
  }
  if (token === null) throw classifyAuthError(new Error('the credential returned no token'), ctx);
  return token;
}

function sdkOptions(options: SourceOptions) {
  return { retryOptions: { maxRetries: options.sdkMaxRetries ?? 0 } };
}

async function createManagedIdentityCredential(auth: AuthConfig, options: SourceOptions): Promise<TokenCredential> {
  const { ManagedIdentityCredential } = await loadIdentity();
  return auth.managedIdentityClientId === undefined
    ? new ManagedIdentityCredential(sdkOptions(options))
    : new ManagedIdentityCredential({ clientId: auth.managedIdentityClientId, ...sdkOptions(options) });
}

/** A credential whose failures are already classified as managed identity failures. */
function classifiedCredential(inner: TokenCredential, ctx: ClassifyContext): TokenCredential {
  return {
    async getToken(scopes, getTokenOptions) {
      try {
        return await inner.getToken(scopes, getTokenOptions);
      } catch (error) {
        throw classifyAuthError(error, ctx);
      }
    },
  };
}

function managedIdentitySource(auth: AuthConfig, options: SourceOptions): TokenSource {
  let credential: Promise<TokenCredential> | undefined;
  return {
    async getToken(scope) {
      credential ??= createManagedIdentityCredential(auth, options);
      return tokenFrom(await credential, scope, context(auth, 'managedIdentity'));
    },
    // The managed identity's token cache lives in the SDK; nothing of ours derives from a secret.
    invalidate() {},
  };
}

/** The service principal's credential: a client secret or a PEM with private key and certificate. */
type ServicePrincipalSecret = { kind: 'secret'; value: string } | { kind: 'certificate'; pem: string };

function authorityOptions(auth: AuthConfig, options: SourceOptions) {
  const host = auth.authorityHost.replace(/\/+$/, '');
  return {
    authorityHost: host,
    // Instance discovery asks login.microsoftonline.com about the authority: right for the public
    // cloud, impossible for sovereign clouds' own hosts and for the local emulator.
    ...(host.toLowerCase() === PUBLIC_CLOUD_AUTHORITY_HOST ? {} : { disableInstanceDiscovery: true }),
    ...sdkOptions(options),
  };
}

/** Checks a PEM before handing it to the SDK, so that a broken one gets a clear error. */
function checkCertificatePem(pem: string, origin: string): string {
  const certificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  const problem = (() => {
    if (certificate === null) return 'it holds no PEM certificate';
    if (!/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem)) return 'it holds no private key';
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem)) return 'its private key is encrypted';
    try {
      new X509Certificate(certificate[0]);
      createPrivateKey(pem);
    } catch {
      return 'its certificate or private key cannot be parsed';
    }
    return undefined;
  })();
  if (problem !== undefined) {
    throw new AppError(ErrorCodes.AUTH_CERTIFICATE_UNREADABLE,
      `The service principal certificate from ${origin} is not usable: ${problem}. Provide an unencrypted PEM with the private key and the certificate (or a PFX in Key Vault, which is converted).`);
  }
  return pem;
}

async function servicePrincipalCredential(auth: AuthConfig, secret: ServicePrincipalSecret, options: SourceOptions): Promise<TokenCredential> {
  const tenantId = required(auth.tenantId, 'AAS_TENANT_ID', auth.mode);
  const clientId = required(auth.clientId, 'AAS_CLIENT_ID', auth.mode);
  const { ClientSecretCredential, ClientCertificateCredential } = await loadIdentity();
  return secret.kind === 'secret'
    ? new ClientSecretCredential(tenantId, clientId, secret.value, authorityOptions(auth, options))
    : new ClientCertificateCredential(tenantId, clientId, { certificate: secret.pem }, authorityOptions(auth, options));
}

function servicePrincipalSource(auth: AuthConfig, options: SourceOptions): TokenSource {
  let credential: Promise<TokenCredential> | undefined;
  const build = async (): Promise<TokenCredential> => {
    if (auth.clientSecret !== undefined) return servicePrincipalCredential(auth, { kind: 'secret', value: auth.clientSecret }, options);
    const path = required(auth.clientCertificatePath, 'AAS_CLIENT_SECRET or AAS_CLIENT_CERTIFICATE_PATH', auth.mode);
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (error) {
      throw new AppError(ErrorCodes.AUTH_CERTIFICATE_UNREADABLE,
        `The certificate file AAS_CLIENT_CERTIFICATE_PATH=${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
    return servicePrincipalCredential(auth, { kind: 'certificate', pem: checkCertificatePem(pem, 'AAS_CLIENT_CERTIFICATE_PATH') }, options);
  };
  return {
    async getToken(scope) {
      const pending = (credential ??= build());
      try {
        return await tokenFrom(await pending, scope, context(auth, 'servicePrincipal'));
      } catch (error) {
        // A file that could not be read may be fixed; do not keep the failure.
        if (credential === pending && error instanceof AppError && error.code === ErrorCodes.AUTH_CERTIFICATE_UNREADABLE) credential = undefined;
        throw error;
      }
    },
    invalidate() {
      // A certificate file may have been replaced: read it again next time.
      if (auth.clientCertificatePath !== undefined) credential = undefined;
    },
  };
}

function keyVaultSource(auth: AuthConfig, options: SourceOptions): TokenSource {
  const keyVaultUrl = required(auth.keyVaultUrl, 'KEY_VAULT_URL', auth.mode);
  const secretName = required(auth.keyVaultSecretName, 'KEY_VAULT_SECRET_NAME', auth.mode);
  let client: Promise<SecretClient> | undefined;
  /** The credential built from the secret, and when the secret was read. */
  let current: { credential: Promise<TokenCredential>; readAt: number } | undefined;

  const createClient = async (): Promise<SecretClient> => {
    const managedIdentity = classifiedCredential(await createManagedIdentityCredential(auth, options), context(auth, 'managedIdentity'));
    const { SecretClient } = await loadKeyVault();
    return new SecretClient(keyVaultUrl, managedIdentity, {
      disableChallengeResourceVerification: auth.keyVaultDisableChallengeResourceVerification,
      ...sdkOptions(options),
    });
  };

  const readSecret = async (): Promise<ServicePrincipalSecret> => {
    const secrets = await (client ??= createClient());
    const ctx = context(auth, 'keyVault');
    try {
      let secret = await secrets.getSecret(secretName);
      if (secret.properties.contentType === PFX_CONTENT_TYPE) {
        // Node cannot read PKCS#12: ask Key Vault to convert the certificate to PEM.
        secret = await secrets.getSecret(secretName, { outContentType: PEM_CONTENT_TYPE });
      }
      const value = secret.value ?? '';
      options.logger?.info('auth.secret.read', { secretName, version: secret.properties.version, contentType: secret.properties.contentType ?? null });
      if (secret.properties.contentType === PEM_CONTENT_TYPE) return { kind: 'certificate', pem: checkCertificatePem(value, `Key Vault secret "${secretName}"`) };
      if (secret.properties.contentType === PFX_CONTENT_TYPE) {
        throw new AppError(ErrorCodes.AUTH_CERTIFICATE_UNREADABLE, `Key Vault did not convert the PFX certificate "${secretName}" to PEM.`);
      }
      if (value === '') throw new AppError(ErrorCodes.AUTH_SECRET_NOT_FOUND, `The Key Vault secret "${secretName}" is empty.`);
      return { kind: 'secret', value };
    } catch (error) {
      throw classifyAuthError(error, ctx);
    }
  };

  const credential = (): Promise<TokenCredential> => {
    if (current !== undefined && options.now() - current.readAt < auth.keyVaultSecretCacheMs) return current.credential;
    const entry = {
      readAt: options.now(),
      credential: readSecret().then((secret) => servicePrincipalCredential(auth, secret, options)),
    };
    current = entry;
    // Never cache a failure.
    entry.credential.catch(() => {
      if (current === entry) current = undefined;
    });
    return entry.credential;
  };

  return {
    async getToken(scope) {
      return tokenFrom(await credential(), scope, context(auth, 'servicePrincipal'));
    },
    invalidate() {
      current = undefined;
    },
  };
}

/**
 * Developer mode asks the Azure CLI directly. The SDK's AzureCliCredential and its siblings refuse
 * the AAS scope because of its literal `*` ("Invalid scope"), while `az account get-access-token
 * --resource https://*.asazure.windows.net` works. No shell: the `*` is passed as is.
 */
function developerSource(auth: AuthConfig, _options: SourceOptions): TokenSource {
  const run = (resource: string): Promise<{ stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const args = ['account', 'get-access-token', '--output', 'json', '--resource', resource, ...(auth.tenantId === undefined ? [] : ['--tenant', auth.tenantId])];
      const windows = process.platform === 'win32';
      // The CLI inherits the environment (PATH, AZURE_CONFIG_DIR); no setting is read from it here.
      execFile(windows ? 'az.cmd' : 'az', args, { timeout: 30_000, shell: windows, windowsHide: true, env: process.env }, (error, stdout, stderr) => {
        if (error !== null) reject(new Error(/az login/.test(stderr) ? 'not signed in to the Azure CLI' : `the Azure CLI failed (${String(error.code ?? 'error')})`));
        else resolve({ stdout, stderr });
      });
    });
  return {
    async getToken(scope) {
      let token: AccessToken;
      try {
        const { stdout } = await run(scope.replace(/\/\.default$/, ''));
        const parsed = JSON.parse(stdout) as { accessToken?: unknown; expires_on?: unknown; expiresOn?: unknown };
        const expiresOnTimestamp = typeof parsed.expires_on === 'number' || typeof parsed.expires_on === 'string'
          ? Number(parsed.expires_on) * 1000
          : new Date(String(parsed.expiresOn)).getTime();
        if (typeof parsed.accessToken !== 'string' || Number.isNaN(expiresOnTimestamp)) throw new Error('unexpected Azure CLI output');
        token = { token: parsed.accessToken, expiresOnTimestamp, tokenType: 'Bearer' };
      } catch (error) {
        throw classifyAuthError(error, context(auth, 'developer'));
      }
      return token;
    },
    invalidate() {},
  };
}
