import { appSettingsOf, azdDeployment, ofType, PERSON_AZD_ENV, predictedResources, azdParameters, single, type PredictedResource } from './bicep';

/**
 * What `azd up` would deploy, evaluated by the real Bicep CLI (`bicep snapshot` over
 * infra/main.bicep with the parameters azd derives from infra/main.parameters.json). Each block
 * is a finding of the deploy review that would break or degrade a first deployment.
 */

const SNAPSHOT_TIMEOUT_MS = 180_000;

const ROLE = {
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  keyVaultCertificatesOfficer: 'a4417e6f-fecd-4de8-b567-7b0420556985',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  durableTaskDataContributor: '0ad04412-c4d5-4796-b79c-f76d14c8d402',
};

const PIPELINE_AZD_ENV = {
  ...PERSON_AZD_ENV,
  AZURE_ENV_NAME: 'aasrefresh-prod',
  AZURE_PRINCIPAL_ID: '33333333-3333-3333-3333-333333333333',
  AZURE_PRINCIPAL_TYPE: 'ServicePrincipal',
  DURABLE_BACKEND: 'durableTaskScheduler',
  DURABLE_ALWAYS_READY_INSTANCES: '0',
  FUNCTION_INSTANCE_MEMORY_MB: '512',
  KEY_VAULT_PURGE_PROTECTION: 'true',
  AZURE_KEY_VAULT_NAME: 'kv-aasrefresh-second',
};

const roleOf = (assignment: PredictedResource) => String(assignment.properties.roleDefinitionId).split('/').pop();
const site = (resources: PredictedResource[]) => single(resources, 'Microsoft.Web/sites');
const HOST_JSON_OVERRIDE = 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__';

let person: PredictedResource[];
let pipeline: PredictedResource[];

beforeAll(() => {
  person = azdDeployment(PERSON_AZD_ENV);
  pipeline = azdDeployment(PIPELINE_AZD_ENV);
}, SNAPSHOT_TIMEOUT_MS);

describe('role assignments for the principal running azd', () => {
  test('a service principal running azd up gets its roles with principalType ServicePrincipal (ARM refuses User for it)', () => {
    const forPipeline = ofType(pipeline, 'Microsoft.Authorization/roleAssignments').filter((assignment) => assignment.properties.principalId === PIPELINE_AZD_ENV.AZURE_PRINCIPAL_ID);
    expect(forPipeline.map(roleOf).sort()).toEqual([ROLE.durableTaskDataContributor, ROLE.keyVaultCertificatesOfficer, ROLE.keyVaultSecretsOfficer].sort());
    expect(forPipeline.map((assignment) => assignment.properties.principalType)).toEqual(forPipeline.map(() => 'ServicePrincipal'));
  });

  test('a person gets them with principalType User', () => {
    const forPerson = ofType(person, 'Microsoft.Authorization/roleAssignments').filter((assignment) => assignment.properties.principalId === PERSON_AZD_ENV.AZURE_PRINCIPAL_ID);
    expect(forPerson.map(roleOf).sort()).toEqual([ROLE.keyVaultCertificatesOfficer, ROLE.keyVaultSecretsOfficer].sort());
    expect(forPerson.map((assignment) => assignment.properties.principalType)).toEqual(['User', 'User']);
  });
});

describe('Key Vault: redeployable after azd down', () => {
  test('by default purge protection is off, so `azd down --purge` frees the vault name for the next `azd up`', () => {
    const vault = single(person, 'Microsoft.KeyVault/vaults');
    expect(vault.properties.enablePurgeProtection ?? false).toBe(false);
    expect(vault.properties.enableSoftDelete).toBe(true);
  });

  test('with purge protection on, AZURE_KEY_VAULT_NAME gives the vault a new name (the old one stays reserved for 90 days)', () => {
    const vault = single(pipeline, 'Microsoft.KeyVault/vaults');
    expect({ name: vault.name, purgeProtection: vault.properties.enablePurgeProtection }).toEqual({ name: 'kv-aasrefresh-second', purgeProtection: true });
    expect(appSettingsOf(pipeline).KEY_VAULT_URL).toContain('kv-aasrefresh-second');
  });
});

describe('Flex Consumption app', () => {
  test('512 MB instances can be chosen (FUNCTION_INSTANCE_MEMORY_MB), 2048 MB is the default', () => {
    expect(site(pipeline).properties.functionAppConfig.scaleAndConcurrency.instanceMemoryMB).toBe(512);
    expect(site(person).properties.functionAppConfig.scaleAndConcurrency.instanceMemoryMB).toBe(2048);
  });

  test('a custom app name with uppercase letters and a hyphen at character 32 still gives a valid deployment container name', () => {
    const functionAppName = 'Func-AAS-Refresh-Production-Eur-West-01';
    expect(functionAppName[31]).toBe('-');
    const resources = predictedResources({ ...azdParameters(PERSON_AZD_ENV), functionAppName });
    const container = single(resources, 'Microsoft.Storage/storageAccounts/blobServices/containers').name.split('/').pop() ?? '';
    // Blob container names: 3-63 characters, lowercase letters, digits and single hyphens, starting and ending with a letter or digit.
    expect(container).toMatch(/^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(site(resources).properties.functionAppConfig.deployment.storage.value).toContain(container);
  }, SNAPSHOT_TIMEOUT_MS);
});

describe('Durable Functions on Flex Consumption', () => {
  test('Azure Storage backend (default): one always-ready instance for the "durable" group and queue polling at most every 10 s', () => {
    expect(site(person).properties.functionAppConfig.scaleAndConcurrency.alwaysReady).toEqual([{ name: 'durable', instanceCount: 1 }]);
    const interval = appSettingsOf(person)[`${HOST_JSON_OVERRIDE}maxQueuePollingInterval`] ?? '';
    const [hours, minutes, seconds] = interval.split(':').map(Number);
    expect((hours ?? NaN) * 3600 + (minutes ?? NaN) * 60 + (seconds ?? NaN)).toBeLessThanOrEqual(10);
  });

  test('always-ready can be switched off (DURABLE_ALWAYS_READY_INSTANCES=0)', () => {
    expect(site(pipeline).properties.functionAppConfig.scaleAndConcurrency.alwaysReady).toEqual([]);
  });

  test('Azure Storage backend: no scheduler; the identity gets the queue and table roles the task hub needs', () => {
    expect(ofType(person, 'Microsoft.DurableTask/schedulers')).toEqual([]);
    const storageRoles = ofType(person, 'Microsoft.Authorization/roleAssignments').filter((assignment) => assignment.id.includes('/Microsoft.Storage/storageAccounts/')).map(roleOf);
    expect(storageRoles).toEqual(expect.arrayContaining([ROLE.storageQueueDataContributor, ROLE.storageTableDataContributor]));
    expect(Object.keys(appSettingsOf(person)).filter((name) => name.startsWith('DURABLE_TASK_SCHEDULER'))).toEqual([]);
  });

  test('Durable Task Scheduler backend: scheduler, task hub named as host.json expects, retention, identity role, azureManaged provider by app setting', () => {
    const settings = appSettingsOf(pipeline);
    const taskHub = single(pipeline, 'Microsoft.DurableTask/schedulers/taskHubs');
    expect(taskHub.name.split('/').pop()).toBe(settings.DURABLE_TASK_HUB_NAME);
    expect(single(pipeline, 'Microsoft.DurableTask/schedulers/retentionPolicies').properties.retentionPolicies).toEqual([{ retentionPeriodInDays: 30 }]);
    const onTaskHub = ofType(pipeline, 'Microsoft.Authorization/roleAssignments').filter((assignment) => assignment.id.includes('/taskHubs/'));
    expect(onTaskHub.map(roleOf)).toEqual([ROLE.durableTaskDataContributor, ROLE.durableTaskDataContributor]);
    expect({
      type: settings[`${HOST_JSON_OVERRIDE}type`],
      connectionStringName: settings[`${HOST_JSON_OVERRIDE}connectionStringName`],
    }).toEqual({ type: 'azureManaged', connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING' });
    expect(settings.DURABLE_TASK_SCHEDULER_CONNECTION_STRING).toMatch(/Endpoint=\{0\};Authentication=ManagedIdentity;ClientID=\{1\}/);
    // The task hub lives in the scheduler: no queue/table roles on the storage account.
    const storageRoles = ofType(pipeline, 'Microsoft.Authorization/roleAssignments').filter((assignment) => assignment.id.includes('/Microsoft.Storage/storageAccounts/')).map(roleOf);
    expect(storageRoles).not.toContain(ROLE.storageQueueDataContributor);
    expect(storageRoles).not.toContain(ROLE.storageTableDataContributor);
    expect(settings[`${HOST_JSON_OVERRIDE}maxQueuePollingInterval`]).toBeUndefined();
  });
});
