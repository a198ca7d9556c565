import { z } from 'zod';
import { AppError, ErrorCodes } from '../errors';
import { parseIsoDuration } from '../orchestration/duration';

/**
 * Every app setting the code reads, in one place. `loadConfig` is the only reader of
 * `process.env`; it is pure so tests can call it with any object.
 */
export const SETTING_NAMES = [
  'AAS_ALLOWED_HOSTS',
  'AAS_REQUEST_TIMEOUT_SECONDS',
  'AUTH_MODE',
  'AAS_TENANT_ID',
  'AAS_CLIENT_ID',
  'AAS_CLIENT_SECRET',
  'AAS_CLIENT_CERTIFICATE_PATH',
  'ALLOW_SERVICE_PRINCIPAL_IN_AZURE',
  'MANAGED_IDENTITY_CLIENT_ID',
  'KEY_VAULT_URL',
  'KEY_VAULT_SECRET_NAME',
  'KEY_VAULT_SECRET_CACHE_SECONDS',
  'KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION',
  'AUTHORITY_HOST',
  'REFRESH_DEFAULT_SYNC',
  'REFRESH_DEFAULT_TIMEOUT',
  'POLL_MIN_INTERVAL_SECONDS',
  'POLL_MAX_INTERVAL_SECONDS',
  'CALLBACK_ALLOWED_HOSTS',
  'REFRESH_SCHEDULES',
] as const;

export type SettingName = (typeof SETTING_NAMES)[number];

export const AUTH_MODES = ['keyVault', 'managedIdentity', 'servicePrincipal', 'developer'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export interface AuthConfig {
  mode: AuthMode;
  /** Tenant of the service principal (keyVault, servicePrincipal). */
  tenantId?: string;
  /** Application (client) id of the service principal that is an AAS administrator. */
  clientId?: string;
  /** servicePrincipal mode only: a client secret from settings (local development). */
  clientSecret?: string;
  /** servicePrincipal mode only: a PEM file with key and certificate. */
  clientCertificatePath?: string;
  /** Client id of a user-assigned managed identity; unset means system-assigned. */
  managedIdentityClientId?: string;
  keyVaultUrl?: string;
  /** Secret (or certificate) name in Key Vault holding the service principal's credential. */
  keyVaultSecretName?: string;
  keyVaultSecretCacheMs: number;
  keyVaultDisableChallengeResourceVerification: boolean;
  /** Entra ID authority host, https. */
  authorityHost: string;
  /** True when running in Azure (WEBSITE_INSTANCE_ID is set by App Service). */
  runningInAzure: boolean;
  allowServicePrincipalInAzure: boolean;
}

export interface PollingConfig {
  minIntervalMs: number;
  maxIntervalMs: number;
}

export interface ScheduleConfig {
  name: string;
  schedule: string;
  /** The POST /api/refreshes body, validated when the run starts and at start-up. */
  request: Record<string, unknown>;
}

export interface Config {
  aas: { allowedHosts: string[]; requestTimeoutMs: number };
  auth: AuthConfig;
  refresh: { defaultSync: boolean; defaultTimeoutMs: number };
  polling: PollingConfig;
  callbackAllowedHosts: string[];
  schedules: ScheduleConfig[];
}

type Env = Readonly<Record<string, string | undefined>>;

const hostList = z
  .string()
  .transform((value) => value.split(',').map((host) => host.trim().toLowerCase()).filter((host) => host.length > 0))
  .pipe(z.array(z.string().regex(/^(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/, 'expected host names such as *.asazure.windows.net or 127.0.0.1:8443')).min(1));

const boolean = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');
const seconds = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const isoDuration = z.string().transform((value, ctx) => {
  try {
    return parseIsoDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'invalid ISO 8601 duration' });
    return z.NEVER;
  }
});

const scheduleEntry = z.object({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'letters, digits, - and _, starting with a letter'),
  schedule: z.string().min(1),
  request: z.record(z.string(), z.unknown()),
}).strict();

const schedules = z.string().transform((value, ctx) => {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
    return z.NEVER;
  }
}).pipe(z.array(scheduleEntry));

const schema = z.object({
  AAS_ALLOWED_HOSTS: hostList.default(['*.asazure.windows.net']),
  AAS_REQUEST_TIMEOUT_SECONDS: seconds(1, 600).default(30),
  AUTH_MODE: z.enum(AUTH_MODES).default('keyVault'),
  AAS_TENANT_ID: z.string().min(1).optional(),
  AAS_CLIENT_ID: z.string().min(1).optional(),
  AAS_CLIENT_SECRET: z.string().min(1).optional(),
  AAS_CLIENT_CERTIFICATE_PATH: z.string().min(1).optional(),
  ALLOW_SERVICE_PRINCIPAL_IN_AZURE: boolean.default(false),
  MANAGED_IDENTITY_CLIENT_ID: z.string().min(1).optional(),
  KEY_VAULT_URL: z.string().url().startsWith('https://', 'must be an https:// URL').optional(),
  KEY_VAULT_SECRET_NAME: z.string().regex(/^[0-9A-Za-z-]{1,127}$/, 'Key Vault names use letters, digits and -').optional(),
  KEY_VAULT_SECRET_CACHE_SECONDS: seconds(0, 86400).default(900),
  KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: boolean.default(false),
  AUTHORITY_HOST: z.string().url().startsWith('https://', 'must be an https:// URL').default('https://login.microsoftonline.com'),
  REFRESH_DEFAULT_SYNC: boolean.default(true),
  REFRESH_DEFAULT_TIMEOUT: isoDuration.default(parseIsoDuration('PT12H')),
  POLL_MIN_INTERVAL_SECONDS: seconds(1, 3600).default(30),
  POLL_MAX_INTERVAL_SECONDS: seconds(1, 86400).default(600),
  CALLBACK_ALLOWED_HOSTS: hostList.default(['*.datafactory.azure.com', '*.datafactory.azure.net', '*.logic.azure.com']),
  REFRESH_SCHEDULES: schedules.default([]),
});

/** Reads and validates every setting; throws AppError CONFIG_INVALID naming each wrong setting. */
export function loadConfig(env: Env): Config {
  // Empty strings count as unset: app settings are often present but blank.
  const present: Record<string, string> = {};
  for (const name of SETTING_NAMES) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') present[name] = value.trim();
  }
  const parsed = schema.safeParse(present);
  const problems: string[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  if (!parsed.success) throw configError(problems);
  const s = parsed.data;

  const config: Config = {
    aas: { allowedHosts: s.AAS_ALLOWED_HOSTS, requestTimeoutMs: s.AAS_REQUEST_TIMEOUT_SECONDS * 1000 },
    auth: {
      mode: s.AUTH_MODE,
      tenantId: s.AAS_TENANT_ID,
      clientId: s.AAS_CLIENT_ID,
      clientSecret: s.AAS_CLIENT_SECRET,
      clientCertificatePath: s.AAS_CLIENT_CERTIFICATE_PATH,
      managedIdentityClientId: s.MANAGED_IDENTITY_CLIENT_ID,
      keyVaultUrl: s.KEY_VAULT_URL,
      keyVaultSecretName: s.KEY_VAULT_SECRET_NAME,
      keyVaultSecretCacheMs: s.KEY_VAULT_SECRET_CACHE_SECONDS * 1000,
      keyVaultDisableChallengeResourceVerification: s.KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION,
      authorityHost: s.AUTHORITY_HOST,
      runningInAzure: (env.WEBSITE_INSTANCE_ID ?? '') !== '',
      allowServicePrincipalInAzure: s.ALLOW_SERVICE_PRINCIPAL_IN_AZURE,
    },
    refresh: { defaultSync: s.REFRESH_DEFAULT_SYNC, defaultTimeoutMs: s.REFRESH_DEFAULT_TIMEOUT },
    polling: { minIntervalMs: s.POLL_MIN_INTERVAL_SECONDS * 1000, maxIntervalMs: s.POLL_MAX_INTERVAL_SECONDS * 1000 },
    callbackAllowedHosts: s.CALLBACK_ALLOWED_HOSTS,
    schedules: s.REFRESH_SCHEDULES,
  };

  problems.push(...authProblems(config.auth));
  if (config.auth.runningInAzure && config.auth.keyVaultDisableChallengeResourceVerification) {
    problems.push('KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: only for the local Key Vault emulator; leave it false in Azure');
  }
  if (config.polling.maxIntervalMs < config.polling.minIntervalMs) {
    problems.push('POLL_MAX_INTERVAL_SECONDS: must not be less than POLL_MIN_INTERVAL_SECONDS');
  }
  const names = new Set<string>();
  for (const entry of config.schedules) {
    if (names.has(entry.name)) problems.push(`REFRESH_SCHEDULES: the name "${entry.name}" is used twice`);
    names.add(entry.name);
  }
  if (problems.length > 0) throw configError(problems);
  return config;
}

function authProblems(auth: AuthConfig): string[] {
  const problems: string[] = [];
  const need = (value: string | undefined, setting: SettingName) => {
    if (value === undefined) problems.push(`${setting}: required when AUTH_MODE is ${auth.mode}`);
  };
  switch (auth.mode) {
    case 'keyVault':
      need(auth.tenantId, 'AAS_TENANT_ID');
      need(auth.clientId, 'AAS_CLIENT_ID');
      need(auth.keyVaultUrl, 'KEY_VAULT_URL');
      need(auth.keyVaultSecretName, 'KEY_VAULT_SECRET_NAME');
      break;
    case 'servicePrincipal':
      need(auth.tenantId, 'AAS_TENANT_ID');
      need(auth.clientId, 'AAS_CLIENT_ID');
      if ((auth.clientSecret === undefined) === (auth.clientCertificatePath === undefined)) {
        problems.push('AAS_CLIENT_SECRET / AAS_CLIENT_CERTIFICATE_PATH: set exactly one when AUTH_MODE is servicePrincipal');
      }
      if (auth.runningInAzure && !auth.allowServicePrincipalInAzure) {
        problems.push(
          'AUTH_MODE: servicePrincipal keeps a secret in app settings and is for local development; in Azure use keyVault, or set ALLOW_SERVICE_PRINCIPAL_IN_AZURE=true',
        );
      }
      break;
    case 'managedIdentity':
    case 'developer':
      break;
  }
  return problems;
}

function configError(problems: string[]): AppError {
  return new AppError(ErrorCodes.CONFIG_INVALID, `Invalid app settings: ${problems.join('; ')}`);
}
