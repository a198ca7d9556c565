import { AppError, ErrorCodes } from '../errors';

/** Where in the chain a failure happened; it decides what the message tells the operator to check. */
export type AuthStage = 'managedIdentity' | 'keyVault' | 'servicePrincipal' | 'developer';

export interface ClassifyContext {
  stage: AuthStage;
  tenantId?: string;
  clientId?: string;
  managedIdentityClientId?: string;
  keyVaultUrl?: string;
  secretName?: string;
  authorityHost?: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENETUNREACH', 'EHOSTUNREACH', 'REQUEST_SEND_ERROR']);

interface ErrorFacts {
  name: string;
  message: string;
  statusCode?: number;
  code?: string;
}

function factsOf(error: unknown): ErrorFacts {
  if (typeof error !== 'object' || error === null) return { name: 'Error', message: String(error) };
  const record = error as { name?: unknown; message?: unknown; statusCode?: unknown; code?: unknown };
  return {
    name: typeof record.name === 'string' ? record.name : 'Error',
    message: typeof record.message === 'string' ? record.message : '',
    statusCode: typeof record.statusCode === 'number' ? record.statusCode : undefined,
    code: typeof record.code === 'string' ? record.code : undefined,
  };
}

/** AADSTS codes in an Entra answer, e.g. ["AADSTS7000215"]: safe to repeat, they hold no secret. */
function entraCodes(message: string): string[] {
  return [...new Set(message.match(/AADSTS\d+/g) ?? [])];
}

function isTransient(facts: ErrorFacts): boolean {
  if (facts.code !== undefined && NETWORK_CODES.has(facts.code)) return true;
  if (facts.statusCode !== undefined && (facts.statusCode === 408 || facts.statusCode === 429 || facts.statusCode >= 500)) return true;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|socket hang up|temporarily_unavailable|AADSTS90033|network error/i.test(facts.message);
}

/**
 * Turns whatever the Azure SDK threw into an AppError with a stable code and a message that says
 * what to check. Messages name settings, roles and Entra/Key Vault error codes; they never repeat
 * the SDK's text wholesale (it may echo request details), and never a secret or token.
 */
export function classifyAuthError(error: unknown, ctx: ClassifyContext): AppError {
  if (error instanceof AppError) return error;
  const facts = factsOf(error);
  const aadsts = entraCodes(facts.message);
  const said = aadsts.length > 0 ? ` (Entra ID answered ${aadsts.join(', ')})` : '';
  const tenant = ctx.tenantId ?? '(unset)';
  const client = ctx.clientId ?? '(unset)';

  if (ctx.stage === 'managedIdentity') {
    const which = ctx.managedIdentityClientId === undefined ? 'the system-assigned managed identity' : `the user-assigned managed identity ${ctx.managedIdentityClientId}`;
    if (/Unable to load the proper Managed Identity|not found|identity not found/i.test(facts.message) && ctx.managedIdentityClientId !== undefined) {
      return new AppError(ErrorCodes.AUTH_MANAGED_IDENTITY_UNAVAILABLE,
        `The managed identity endpoint does not know ${which}: assign that identity to the function app, or fix MANAGED_IDENTITY_CLIENT_ID (unset it for the system-assigned identity).`,
        { retryable: false, cause: error });
    }
    return new AppError(ErrorCodes.AUTH_MANAGED_IDENTITY_UNAVAILABLE,
      `Could not get a token from ${which}: the managed identity endpoint is missing or not answering. In Azure, enable the identity on the function app (Identity blade); locally use AUTH_MODE=developer or servicePrincipal.`,
      { retryable: isTransient(facts) || facts.name === 'CredentialUnavailableError', cause: error });
  }

  if (ctx.stage === 'keyVault') {
    const where = `secret "${ctx.secretName ?? '(unset)'}" in Key Vault ${ctx.keyVaultUrl ?? '(unset)'}`;
    if (facts.statusCode === 403 && /disabled secret/i.test(facts.message)) {
      return new AppError(ErrorCodes.AUTH_SECRET_DISABLED,
        `The ${where} is disabled: enable its current version (or add a new enabled version) in Key Vault.`, { httpStatus: 403, cause: error });
    }
    if (facts.statusCode === 403) {
      const identity = ctx.managedIdentityClientId === undefined ? "the function app's system-assigned managed identity" : `the user-assigned managed identity ${ctx.managedIdentityClientId}`;
      return new AppError(ErrorCodes.AUTH_KEY_VAULT_FORBIDDEN,
        `Key Vault refused to read the ${where}: grant ${identity} the "Key Vault Secrets User" role on the vault (RBAC), or a "get" secret permission in the vault's access policies.`,
        { httpStatus: 403, cause: error });
    }
    if (facts.statusCode === 404) {
      return new AppError(ErrorCodes.AUTH_SECRET_NOT_FOUND,
        `The ${where} does not exist: store the service principal's client secret (or its certificate) under that name, or fix KEY_VAULT_SECRET_NAME.`,
        { httpStatus: 404, cause: error });
    }
    if (isTransient(facts)) {
      return new AppError(ErrorCodes.AUTH_TRANSIENT, `Key Vault ${ctx.keyVaultUrl ?? ''} did not answer (${facts.code ?? facts.statusCode ?? 'network error'}); try again.`,
        { retryable: true, httpStatus: facts.statusCode, cause: error });
    }
    if (facts.statusCode === 401) {
      return new AppError(ErrorCodes.AUTH_FAILED,
        `Key Vault ${ctx.keyVaultUrl ?? ''} rejected the managed identity's token (401): check that the vault is in the identity's tenant.`, { httpStatus: 401, cause: error });
    }
    return new AppError(ErrorCodes.AUTH_FAILED, `Reading the ${where} failed (${facts.name}${facts.statusCode === undefined ? '' : ` ${facts.statusCode}`}).`, { cause: error });
  }

  if (ctx.stage === 'developer') {
    return new AppError(ErrorCodes.AUTH_FAILED,
      'No developer sign-in gave a token for Azure Analysis Services: run "az login" (Azure CLI) or "azd auth login", with an account that is an administrator of the AAS server.',
      { retryable: false, cause: error });
  }

  // servicePrincipal: Entra ID token endpoint
  if (/AADSTS7000215|AADSTS7000222|AADSTS700027|AADSTS700024|AADSTS7000218|invalid_client/i.test(facts.message)) {
    const certificateProblem = /AADSTS700027|AADSTS700024/.test(facts.message);
    return new AppError(ErrorCodes.AUTH_INVALID_CLIENT,
      certificateProblem
        ? `Entra ID rejected the certificate of service principal ${client}${said}: upload the certificate's public part to the app registration, or store the matching certificate in Key Vault.`
        : `Entra ID rejected the client secret of service principal ${client}${said}: the secret is wrong or expired. Create a new secret on the app registration and store its value (not its id) in Key Vault.`,
      // Retryable so that the next attempt, after invalidate(), re-reads a secret that was rotated meanwhile.
      { retryable: true, cause: error });
  }
  if (/AADSTS700016|AADSTS90002|AADSTS90023|invalid_tenant|AADSTS50020/i.test(facts.message)) {
    return new AppError(ErrorCodes.AUTH_TENANT_MISMATCH,
      `Service principal ${client} was not found in tenant ${tenant}${said}: check AAS_TENANT_ID (the tenant of the app registration and of the AAS server) and AAS_CLIENT_ID.`,
      { cause: error });
  }
  if (/endpoints_resolution_error|Endpoints cannot be resolved|openid/i.test(facts.message)) {
    return new AppError(ErrorCodes.AUTH_TENANT_MISMATCH,
      `Entra ID metadata for tenant ${tenant} could not be loaded from ${ctx.authorityHost ?? '(default authority)'}: check AAS_TENANT_ID and AUTHORITY_HOST.`,
      { retryable: true, cause: error });
  }
  if (isTransient(facts)) {
    return new AppError(ErrorCodes.AUTH_TRANSIENT, `Entra ID ${ctx.authorityHost ?? ''} did not answer${said}; try again.`,
      { retryable: true, httpStatus: facts.statusCode, cause: error });
  }
  return new AppError(ErrorCodes.AUTH_FAILED, `Service principal ${client} could not get a token for Azure Analysis Services${said} (${facts.name}).`, { cause: error });
}
