import { z } from 'zod';
import { AppError, ErrorCodes } from '../errors';
import { parseIsoDuration } from '../orchestration/duration';
import { isHostAllowed } from '../http/hostPolicy';
import { isDynamicSku, isRunningInAzure } from './azureEnvironment';

/**
 * Every app setting the code reads, in one place. `loadConfig` is the only reader of
 * `process.env`; it is pure so tests can call it with any object.
 */
export const SETTING_NAMES = [
  'AAS_ALLOWED_HOSTS',
  'AAS_REQUEST_TIMEOUT_SECONDS',
  'POWERBI_API_BASE_URL',
  'POWERBI_ALLOWED_HOSTS',
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
  'HOSTING_PLAN',
  'RUN_RETENTION_DAYS',
] as const;

export type SettingName = (typeof SETTING_NAMES)[number];

/** The plan the app runs on; only a dedicated (App Service) plan runs TimeSpan timer schedules. */
export const HOSTING_PLANS = ['flexConsumption', 'dedicated'] as const;
export type HostingPlan = (typeof HOSTING_PLANS)[number];

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
  /** True in Azure, detected as the Functions host does (see azureEnvironment.ts): Flex Consumption sets no WEBSITE_INSTANCE_ID. */
  runningInAzure: boolean;
  allowServicePrincipalInAzure: boolean;
}

export interface PollingConfig {
  minIntervalMs: number;
  maxIntervalMs: number;
}

export interface ScheduleConfig {
  /** The entry's name, or `REFRESH_SCHEDULES[i]` when it has no usable one. */
  name: string;
  schedule: string;
  /** The POST /api/refreshes body, validated at start-up and again when the run starts. */
  request: Record<string, unknown>;
  /**
   * What is wrong with the entry's shape (a missing field, a duplicate name). A wrong entry
   * disables that schedule only: the setting is never a reason for the app not to load.
   */
  problems: string[];
}

export interface SchedulesConfig {
  entries: ScheduleConfig[];
  /** Set when REFRESH_SCHEDULES as a whole cannot be read (not JSON, not an array): no schedule runs. */
  problem?: string;
  /** TimeSpan schedules run only on a dedicated plan that is not a dynamic SKU (see timerSchedule.ts). */
  timeSpanAllowed: boolean;
}

export interface Config {
  aas: { allowedHosts: string[]; requestTimeoutMs: number };
  /** The Power BI REST API base (`…/v1.0/myorg`, no trailing slash) and the hosts a Power BI token may go to. */
  powerbi: { apiBaseUrl: string; allowedHosts: string[] };
  auth: AuthConfig;
  refresh: { defaultSync: boolean; defaultTimeoutMs: number };
  polling: PollingConfig;
  callbackAllowedHosts: string[];
  hostingPlan: HostingPlan;
  schedules: SchedulesConfig;
  /** Finished runs older than this are purged by the retention timer; 0 keeps them all. */
  retention: { days: number };
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
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'letters, digits, - and _, starting with a letter, at most 64'),
  schedule: z.string().min(1, 'is empty'),
  request: z.record(z.string(), z.unknown()),
}).strict();

/** Reads REFRESH_SCHEDULES entry by entry, so that one wrong entry disables that schedule only. */
export function readSchedules(value: string | undefined): Omit<SchedulesConfig, 'timeSpanAllowed'> {
  if (value === undefined) return { entries: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { entries: [], problem: 'REFRESH_SCHEDULES is not valid JSON; expected an array of {"name", "schedule", "request"}' };
  }
  if (!Array.isArray(parsed)) return { entries: [], problem: 'REFRESH_SCHEDULES must be a JSON array of {"name", "schedule", "request"}' };
  const seen = new Set<string>();
  return {
    entries: parsed.map((raw: unknown, index) => {
      const record = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
      const entry = scheduleEntry.safeParse(raw);
      const rawName = typeof record.name === 'string' && /^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(record.name) ? record.name : undefined;
      const name = rawName ?? `REFRESH_SCHEDULES[${index}]`;
      const problems = entry.success ? [] : entry.error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
      if (rawName !== undefined && seen.has(rawName)) problems.push(`the name "${rawName}" is used twice`);
      if (rawName !== undefined) seen.add(rawName);
      return {
        name,
        schedule: typeof record.schedule === 'string' ? record.schedule : '',
        request: typeof record.request === 'object' && record.request !== null && !Array.isArray(record.request) ? (record.request as Record<string, unknown>) : {},
        problems,
      };
    }),
  };
}

const schema = z.object({
  AAS_ALLOWED_HOSTS: hostList.default(['*.asazure.windows.net']),
  AAS_REQUEST_TIMEOUT_SECONDS: seconds(1, 600).default(30),
  POWERBI_API_BASE_URL: z.string().url().startsWith('https://', 'must be an https:// URL').default('https://api.powerbi.com/v1.0/myorg'),
  POWERBI_ALLOWED_HOSTS: hostList.default(['api.powerbi.com']),
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
  // Read apart, entry by entry (readSchedules): a wrong schedule must not stop the app.
  REFRESH_SCHEDULES: z.string().optional(),
  HOSTING_PLAN: z.enum(HOSTING_PLANS).default('flexConsumption'),
  RUN_RETENTION_DAYS: z.coerce.number().int().min(0).max(3650).default(30),
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
    powerbi: { apiBaseUrl: s.POWERBI_API_BASE_URL.replace(/\/+$/, ''), allowedHosts: s.POWERBI_ALLOWED_HOSTS },
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
      runningInAzure: isRunningInAzure(env),
      allowServicePrincipalInAzure: s.ALLOW_SERVICE_PRINCIPAL_IN_AZURE,
    },
    refresh: { defaultSync: s.REFRESH_DEFAULT_SYNC, defaultTimeoutMs: s.REFRESH_DEFAULT_TIMEOUT },
    polling: { minIntervalMs: s.POLL_MIN_INTERVAL_SECONDS * 1000, maxIntervalMs: s.POLL_MAX_INTERVAL_SECONDS * 1000 },
    callbackAllowedHosts: s.CALLBACK_ALLOWED_HOSTS,
    hostingPlan: s.HOSTING_PLAN,
    // The host refuses TimeSpan on a dynamic SKU whatever this setting says.
    schedules: { ...readSchedules(s.REFRESH_SCHEDULES), timeSpanAllowed: s.HOSTING_PLAN === 'dedicated' && !isDynamicSku(env) },
    retention: { days: s.RUN_RETENTION_DAYS },
  };

  problems.push(...authProblems(config.auth));
  const powerBiBase = new URL(config.powerbi.apiBaseUrl);
  if (!isHostAllowed({ hostname: powerBiBase.hostname.toLowerCase(), port: powerBiBase.port === '' ? 443 : Number(powerBiBase.port) }, config.powerbi.allowedHosts)) {
    problems.push(`POWERBI_API_BASE_URL: its host ${powerBiBase.host} is not in POWERBI_ALLOWED_HOSTS (${config.powerbi.allowedHosts.join(', ')})`);
  }
  if (config.auth.runningInAzure && config.auth.keyVaultDisableChallengeResourceVerification) {
    problems.push('KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: only for the local Key Vault emulator; leave it false in Azure');
  }
  if (config.polling.maxIntervalMs < config.polling.minIntervalMs) {
    problems.push('POLL_MAX_INTERVAL_SECONDS: must not be less than POLL_MIN_INTERVAL_SECONDS');
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
