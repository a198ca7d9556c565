import { loadConfig, SETTING_NAMES } from '../../src/config/config';
import { codeOf } from '../../src/errors';

const keyVaultSettings = {
  AAS_TENANT_ID: '11111111-1111-1111-1111-111111111111',
  AAS_CLIENT_ID: '22222222-2222-2222-2222-222222222222',
  KEY_VAULT_URL: 'https://kv-aas.vault.azure.net',
  KEY_VAULT_SECRET_NAME: 'aas-sp-secret',
};

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(codeOf(error)).toBe('CONFIG_INVALID');
    return (error as Error).message;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(keyVaultSettings);
    expect(config.aas.allowedHosts).toEqual(['*.asazure.windows.net']);
    expect(config.auth.mode).toBe('keyVault');
    expect(config.refresh).toEqual({ defaultSync: true, defaultTimeoutMs: 12 * 3600 * 1000 });
    expect(config.polling).toEqual({ minIntervalMs: 30_000, maxIntervalMs: 600_000 });
    expect(config.schedules).toEqual({ entries: [], timeSpanAllowed: false });
    expect(config.hostingPlan).toBe('flexConsumption');
    expect(config.auth.runningInAzure).toBe(false);
  });

  it('treats blank settings as unset', () => {
    expect(loadConfig({ ...keyVaultSettings, AAS_ALLOWED_HOSTS: '  ', REFRESH_DEFAULT_SYNC: '' }).refresh.defaultSync).toBe(true);
  });

  it('parses lists, booleans, durations and schedules', () => {
    const config = loadConfig({
      ...keyVaultSettings,
      AAS_ALLOWED_HOSTS: '*.asazure.windows.net, 127.0.0.1:8443',
      REFRESH_DEFAULT_SYNC: 'false',
      REFRESH_DEFAULT_TIMEOUT: 'PT2H30M',
      REFRESH_SCHEDULES: JSON.stringify([{ name: 'nightly', schedule: '0 0 2 * * *', request: { server: 'asazure://westus.asazure.windows.net/s', model: 'm' } }]),
    });
    expect(config.aas.allowedHosts).toEqual(['*.asazure.windows.net', '127.0.0.1:8443']);
    expect(config.refresh).toEqual({ defaultSync: false, defaultTimeoutMs: 9_000_000 });
    expect(config.schedules.entries).toEqual([{ name: 'nightly', schedule: '0 0 2 * * *', request: { server: 'asazure://westus.asazure.windows.net/s', model: 'm' }, problems: [] }]);
  });

  it.each([
    [{ AUTH_MODE: 'magic' }, 'AUTH_MODE'],
    [{ AAS_CLIENT_ID: '' , KEY_VAULT_URL: 'https://kv.vault.azure.net', AAS_TENANT_ID: 't', KEY_VAULT_SECRET_NAME: 's' }, 'AAS_CLIENT_ID: required when AUTH_MODE is keyVault'],
    [{ ...keyVaultSettings, KEY_VAULT_URL: 'http://kv.vault.azure.net' }, 'KEY_VAULT_URL'],
    [{ ...keyVaultSettings, POLL_MIN_INTERVAL_SECONDS: '0' }, 'POLL_MIN_INTERVAL_SECONDS'],
    [{ ...keyVaultSettings, POLL_MIN_INTERVAL_SECONDS: '60', POLL_MAX_INTERVAL_SECONDS: '30' }, 'POLL_MAX_INTERVAL_SECONDS'],
    [{ ...keyVaultSettings, REFRESH_DEFAULT_TIMEOUT: '2 hours' }, 'REFRESH_DEFAULT_TIMEOUT'],
    [{ ...keyVaultSettings, REFRESH_DEFAULT_SYNC: 'yes' }, 'REFRESH_DEFAULT_SYNC'],
    [{ ...keyVaultSettings, AAS_ALLOWED_HOSTS: 'https://evil.com/' }, 'AAS_ALLOWED_HOSTS'],
    [{ ...keyVaultSettings, HOSTING_PLAN: 'consumption' }, 'HOSTING_PLAN'],
    [{ AUTH_MODE: 'servicePrincipal', AAS_TENANT_ID: 't', AAS_CLIENT_ID: 'c' }, 'set exactly one'],
    [{ AUTH_MODE: 'servicePrincipal', AAS_TENANT_ID: 't', AAS_CLIENT_ID: 'c', AAS_CLIENT_SECRET: 's', WEBSITE_INSTANCE_ID: 'abc' }, 'ALLOW_SERVICE_PRINCIPAL_IN_AZURE'],
    [{ ...keyVaultSettings, KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true', WEBSITE_INSTANCE_ID: 'abc' }, 'only for the local Key Vault emulator'],
  ])('refuses %j naming %s', (env, expected) => {
    expect(configError(env as Record<string, string>)).toContain(expected);
  });

  it('lists every wrong setting at once', () => {
    const message = configError({ AUTH_MODE: 'keyVault' });
    for (const name of ['AAS_TENANT_ID', 'AAS_CLIENT_ID', 'KEY_VAULT_URL', 'KEY_VAULT_SECRET_NAME']) expect(message).toContain(name);
  });

  it('allows servicePrincipal in Azure only when explicitly allowed', () => {
    const config = loadConfig({ AUTH_MODE: 'servicePrincipal', AAS_TENANT_ID: 't', AAS_CLIENT_ID: 'c', AAS_CLIENT_SECRET: 's', WEBSITE_INSTANCE_ID: 'abc', ALLOW_SERVICE_PRINCIPAL_IN_AZURE: 'true' });
    expect(config.auth.runningInAzure).toBe(true);
  });

  it('never echoes a secret setting in its errors', () => {
    const message = configError({ AUTH_MODE: 'servicePrincipal', AAS_TENANT_ID: 't', AAS_CLIENT_ID: 'c', AAS_CLIENT_SECRET: 'S3cr3t-value', AAS_CLIENT_CERTIFICATE_PATH: '/x.pem' });
    expect(message).not.toContain('S3cr3t-value');
  });

  it('never stops the app for REFRESH_SCHEDULES: a wrong entry carries its problem, a wrong setting disables every schedule', () => {
    const entries = loadConfig({
      ...keyVaultSettings,
      REFRESH_SCHEDULES: JSON.stringify([
        { name: 'a', schedule: '0 0 2 * * *', request: {} },
        { name: 'a', schedule: '0 0 3 * * *', request: {} },
        { schedule: '0 0 4 * * *', request: {} },
        { name: 'extra', schedule: '0 0 5 * * *', request: {}, colour: 'blue' },
        'not an object',
      ]),
    }).schedules.entries;
    expect(entries.map((entry) => [entry.name, entry.problems])).toEqual([
      ['a', []],
      ['a', ['the name "a" is used twice']],
      ['REFRESH_SCHEDULES[2]', [expect.stringContaining('name')]],
      ['extra', [expect.stringContaining('colour')]],
      ['REFRESH_SCHEDULES[4]', [expect.stringContaining('object')]],
    ]);
    expect(loadConfig({ ...keyVaultSettings, REFRESH_SCHEDULES: '[{' }).schedules).toEqual({ entries: [], problem: expect.stringContaining('not valid JSON'), timeSpanAllowed: false });
    expect(loadConfig({ ...keyVaultSettings, REFRESH_SCHEDULES: '{}' }).schedules.problem).toContain('must be a JSON array');
  });

  it('knows each setting name once', () => {
    expect(new Set(SETTING_NAMES).size).toBe(SETTING_NAMES.length);
  });
});

/**
 * Flex Consumption's environment: WEBSITE_SKU and the Legion container variables, and no
 * WEBSITE_INSTANCE_ID (azure-functions-host EnvironmentExtensions.IsFlexConsumptionSku).
 */
const FLEX_CONSUMPTION = {
  WEBSITE_SKU: 'FlexConsumption',
  WEBSITE_SITE_NAME: 'func-aas-refresh',
  WEBSITE_HOSTNAME: 'func-aas-refresh.azurewebsites.net',
  CONTAINER_NAME: 'e4c2a1b9f7d34a55b0e1',
  WEBSITE_POD_NAME: 'func-aas-refresh-7d9c5',
  LEGION_SERVICE_HOST: 'legion.internal',
  FUNCTIONS_WORKER_RUNTIME: 'node',
};
const servicePrincipal = { AUTH_MODE: 'servicePrincipal', AAS_TENANT_ID: 't', AAS_CLIENT_ID: 'c', AAS_CLIENT_SECRET: 's' };

describe('running in Azure, detected as the Functions host does', () => {
  it.each([
    ['Flex Consumption', FLEX_CONSUMPTION],
    ['Flex Consumption in placeholder mode (no WEBSITE_SKU yet)', { ...FLEX_CONSUMPTION, WEBSITE_SKU: '' }],
    ['Linux Consumption', { CONTAINER_NAME: 'c1', WEBSITE_SITE_NAME: 'func-aas-refresh', WEBSITE_SKU: 'Dynamic' }],
    ['App Service (Windows or Linux dedicated, Premium)', { WEBSITE_INSTANCE_ID: 'abc', WEBSITE_SITE_NAME: 'func-aas-refresh' }],
    ['Container Apps', { MANAGED_ENVIRONMENT: 'true', CONTAINER_NAME: 'c1', WEBSITE_SITE_NAME: 'func-aas-refresh' }],
  ])('refuses servicePrincipal and the Key Vault emulator switch on %s', (_name, platform) => {
    expect(loadConfig({ ...servicePrincipal, ...platform, ALLOW_SERVICE_PRINCIPAL_IN_AZURE: 'true' }).auth.runningInAzure).toBe(true);
    expect(configError({ ...servicePrincipal, ...platform })).toContain('ALLOW_SERVICE_PRINCIPAL_IN_AZURE');
    expect(configError({ ...keyVaultSettings, ...platform, KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true' })).toContain('only for the local Key Vault emulator');
  });

  it.each([
    ['no platform variables', {}],
    // A CI or developer container may name itself; without a Functions site it is not Azure.
    ['a container that sets CONTAINER_NAME', { CONTAINER_NAME: 'uid-abc-def' }],
    ['Core Tools', { FUNCTIONS_WORKER_RUNTIME: 'node', AzureWebJobsStorage: 'UseDevelopmentStorage=true' }],
  ])('is local with %s', (_name, platform) => {
    expect(loadConfig({ ...servicePrincipal, ...platform }).auth.runningInAzure).toBe(false);
  });

  it('allows TimeSpan schedules only when HOSTING_PLAN says dedicated and the platform is not a dynamic SKU', () => {
    expect(loadConfig({ ...keyVaultSettings, HOSTING_PLAN: 'dedicated' }).schedules.timeSpanAllowed).toBe(true);
    expect(loadConfig({ ...keyVaultSettings, HOSTING_PLAN: 'dedicated', WEBSITE_INSTANCE_ID: 'abc', WEBSITE_SKU: 'PremiumV3' }).schedules.timeSpanAllowed).toBe(true);
    expect(loadConfig({ ...keyVaultSettings }).schedules.timeSpanAllowed).toBe(false);
    for (const platform of [FLEX_CONSUMPTION, { WEBSITE_INSTANCE_ID: 'abc', WEBSITE_SKU: 'ElasticPremium' }, { WEBSITE_INSTANCE_ID: 'abc', WEBSITE_SKU: 'Dynamic' }]) {
      expect(loadConfig({ ...keyVaultSettings, ...platform, HOSTING_PLAN: 'dedicated' }).schedules.timeSpanAllowed).toBe(false);
    }
  });
});
