import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTING_NAMES } from '../../src/config/config';
import { appSettingsOf, azdDeployment, PERSON_AZD_ENV } from './bicep';

/**
 * The settings the code reads (SETTING_NAMES) must be set by the Bicep that deploys the app, by
 * local.settings.sample.json and described in docs/configuration.md — so a setting added to the
 * config loader cannot be forgotten in Azure. The Bicep side is the app settings resource as the
 * real Bicep CLI evaluates it (bicep snapshot) for each Durable backend.
 */

const root = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** Settings the Functions platform, the extensions or host.json read, not src/config. */
const PLATFORM_SETTINGS = [
  'AzureWebJobsStorage',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__queueServiceUri',
  'AzureWebJobsStorage__tableServiceUri',
  'FUNCTIONS_WORKER_RUNTIME',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'DURABLE_TASK_HUB_NAME',
  // Durable backend (infra/app/api.bicep): host.json overrides and the scheduler's connection.
  'AzureFunctionsJobHost__extensions__durableTask__storageProvider__maxQueuePollingInterval',
  'AzureFunctionsJobHost__extensions__durableTask__storageProvider__type',
  'AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName',
  'DURABLE_TASK_SCHEDULER_CONNECTION_STRING',
];

const BACKENDS = ['azureStorage', 'durableTaskScheduler'] as const;

function localSampleNames(): string[] {
  const sample = JSON.parse(read('local.settings.sample.json')) as { IsEncrypted?: boolean; Values?: Record<string, string> };
  if (sample.Values === undefined) throw new Error('local.settings.sample.json: no "Values" object');
  return Object.keys(sample.Values);
}

function missing(expected: readonly string[], actual: readonly string[]): string[] {
  const have = new Set(actual);
  return expected.filter((name) => !have.has(name));
}

const localNames = localSampleNames();
const known = [...SETTING_NAMES, ...PLATFORM_SETTINGS];
const bicepNamesByBackend: Record<string, string[]> = {};
let bicepNames: string[] = [];

beforeAll(() => {
  for (const backend of BACKENDS) bicepNamesByBackend[backend] = Object.keys(appSettingsOf(azdDeployment({ ...PERSON_AZD_ENV, DURABLE_BACKEND: backend })));
  bicepNames = [...new Set(Object.values(bicepNamesByBackend).flat())];
}, 180_000);

describe('app settings: SETTING_NAMES vs. Bicep vs. local.settings.sample.json', () => {
  test.each(BACKENDS)('the Bicep sets every setting the code reads (Durable backend %s)', (backend) => {
    expect({ backend, missingFromBicep: missing(SETTING_NAMES, bicepNamesByBackend[backend] ?? []) }).toEqual({ backend, missingFromBicep: [] });
  });

  test('local.settings.sample.json lists every setting the code reads', () => {
    expect({ missingFromLocalSample: missing(SETTING_NAMES, localNames) }).toEqual({ missingFromLocalSample: [] });
  });

  test('the Bicep sets no setting that neither the code nor the platform reads', () => {
    expect({ unknownInBicep: missing(bicepNames, known) }).toEqual({ unknownInBicep: [] });
  });

  test('local.settings.sample.json has no setting that neither the code nor the platform reads', () => {
    expect({ unknownInLocalSample: missing(localNames, known) }).toEqual({ unknownInLocalSample: [] });
  });

  test('settings referenced by host.json as %NAME% are set in Azure and locally', () => {
    const referenced = [...read('host.json').matchAll(/%([A-Za-z0-9_]+)%/g)].map((match) => match[1] as string);
    expect(referenced).toContain('DURABLE_TASK_HUB_NAME');
    expect({ missingFromBicep: missing(referenced, bicepNames), missingFromLocalSample: missing(referenced, localNames) })
      .toEqual({ missingFromBicep: [], missingFromLocalSample: [] });
  });

  test('identity-based host storage: every AzureWebJobsStorage__ setting a managed identity needs is in the Bicep', () => {
    const needed = PLATFORM_SETTINGS.filter((name) => name.startsWith('AzureWebJobsStorage__'));
    expect({ missingFromBicep: missing(needed, bicepNames) }).toEqual({ missingFromBicep: [] });
    // A connection string (shared key) would bypass the identity; allowSharedKeyAccess is false.
    expect(bicepNames).not.toContain('AzureWebJobsStorage');
  });

  test('Flex Consumption: the Bicep does not set the worker runtime or extension version as app settings', () => {
    expect(bicepNames.filter((name) => name === 'FUNCTIONS_WORKER_RUNTIME' || name === 'FUNCTIONS_EXTENSION_VERSION')).toEqual([]);
  });

  test('docs/configuration.md describes every setting', () => {
    const docs = read('docs/configuration.md');
    const undocumented = [...SETTING_NAMES, 'DURABLE_TASK_HUB_NAME'].filter((name) => !docs.includes(`\`${name}\``));
    expect({ undocumented }).toEqual({ undocumented: [] });
  });
});
