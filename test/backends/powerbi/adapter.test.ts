import { powerBiBackend, powerBiSettingsOf } from '../../../src/backends/powerbi';
import { backends } from '../../../src/backends';
import { loadConfig, type Config } from '../../../src/config/config';
import { codeOf } from '../../../src/errors';

// The adapter as the registry hands it out: pure checks before any call or token.
const base = loadConfig({ AUTH_MODE: 'managedIdentity' });
const withPowerBi = (apiBaseUrl: string, allowedHosts: string[]): Config => Object.assign({ ...base }, { powerbi: { apiBaseUrl, allowedHosts } });
const target = { backend: 'powerbi' as const, workspace: 'Sales Analytics', semanticModel: 'AdventureWorks' };

function errorOf(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
}

describe('Power BI adapter', () => {
  it('is the registry adapter for Power BI targets', () => {
    expect(backends.forTarget(target)).toBe(powerBiBackend);
    expect(powerBiBackend.tokenScope(target)).toBe('https://analysis.windows.net/powerbi/api/.default');
  });

  it('reads POWERBI_API_BASE_URL (trailing slash dropped) and POWERBI_ALLOWED_HOSTS; a base whose host is not allowed stops the app naming both', () => {
    expect(loadConfig({ AUTH_MODE: 'managedIdentity', POWERBI_API_BASE_URL: 'https://api.powerbigov.us/v1.0/myorg/', POWERBI_ALLOWED_HOSTS: 'api.powerbigov.us' }).powerbi).toEqual({
      apiBaseUrl: 'https://api.powerbigov.us/v1.0/myorg',
      allowedHosts: ['api.powerbigov.us'],
    });
    const error = errorOf(() => loadConfig({ AUTH_MODE: 'managedIdentity', POWERBI_API_BASE_URL: 'https://api.powerbigov.us/v1.0/myorg' }));
    expect(codeOf(error)).toBe('CONFIG_INVALID');
    expect((error as Error).message).toMatch(/POWERBI_API_BASE_URL: its host api\.powerbigov\.us is not in POWERBI_ALLOWED_HOSTS \(api\.powerbi\.com\)/);
    expect(codeOf(errorOf(() => loadConfig({ AUTH_MODE: 'managedIdentity', POWERBI_API_BASE_URL: 'http://api.powerbi.com/v1.0/myorg' })))).toBe('CONFIG_INVALID');
  });

  it('uses the public cloud endpoint when the settings name none', () => {
    expect(powerBiSettingsOf(base)).toEqual({ apiBaseUrl: 'https://api.powerbi.com/v1.0/myorg', allowedHosts: ['api.powerbi.com'] });
    expect(powerBiBackend.parseTarget(target, base)).toEqual(target);
  });

  it.each([
    ['a host off the allow-list', withPowerBi('https://api.powerbi.com.evil.example/v1.0/myorg', ['api.powerbi.com']), 'POWERBI_HOST_NOT_ALLOWED', /not in POWERBI_ALLOWED_HOSTS/],
    ['another port than the allowed one', withPowerBi('https://api.powerbi.com:8443/v1.0/myorg', ['api.powerbi.com']), 'POWERBI_HOST_NOT_ALLOWED', /not in POWERBI_ALLOWED_HOSTS/],
    ['http', withPowerBi('http://api.powerbi.com/v1.0/myorg', ['api.powerbi.com']), 'CONFIG_INVALID', /must be an https URL/],
    ['credentials in the URL', withPowerBi('https://user:pw@api.powerbi.com/v1.0/myorg', ['api.powerbi.com']), 'CONFIG_INVALID', /without credentials/],
  ])('refuses every target with %s, before any token', (_name, config, code, message) => {
    const error = errorOf(() => powerBiBackend.parseTarget(target, config));
    expect(codeOf(error)).toBe(code);
    expect((error as Error).message).toMatch(message);
  });

  it('accepts a local (emulator) base URL whose host and port are allowed', () => {
    expect(powerBiBackend.parseTarget(target, withPowerBi('https://127.0.0.1:8445/v1.0/myorg/', ['127.0.0.1:8445']))).toEqual(target);
  });

  it('lists the Power BI-only refresh problems for a 400 at POST', () => {
    const problems = powerBiBackend.refreshProblems({ type: 'full', commitMode: 'partialBatch', maxParallelism: 10, retryCount: 0, objects: [], applyRefreshPolicy: true, effectiveDate: '31/12/2024' });
    expect(problems).toEqual([
      'applyRefreshPolicy must be false with commitMode "partialBatch" (Power BI does not apply a refresh policy in partial batches)',
      'effectiveDate must be a date as yyyy-mm-dd, e.g. 2024-12-31',
    ]);
    expect(powerBiBackend.refreshProblems({ type: 'dataOnly', commitMode: 'transactional', maxParallelism: 4, retryCount: 2, objects: [], applyRefreshPolicy: true, effectiveDate: '2024-12-31' })).toEqual([]);
  });

  it('keys a target only once its names are resolved', () => {
    expect(codeOf(errorOf(() => powerBiBackend.modelKey(target)))).toBe('INTERNAL');
    expect(powerBiBackend.modelKey({ ...target, workspaceId: '5A1E5A1E-0000-4000-8000-00000000B001', semanticModelId: 'ad7e0000-0000-4000-8000-00000000d001' })).toBe(
      'powerbi:5a1e5a1e-0000-4000-8000-00000000b001/ad7e0000-0000-4000-8000-00000000d001',
    );
  });
});
