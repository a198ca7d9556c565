// The function app: Flex Consumption (FC1), Linux, Node 22, running as the user-assigned identity.
// `appSettings` below sets EVERY setting the code reads (src/config/config.ts SETTING_NAMES);
// test/infra/settingsDrift.test.ts evaluates the template (bicep snapshot) for both Durable
// backends and fails when a name is missing.
param name string
param location string
param tags object = {}
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param keyVaultUri string
param durableTaskHubName string
param maximumInstanceCount int = 40
@description('Memory of each instance (Flex Consumption offers 512, 2048 and 4096 MB).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Where Durable Functions keeps its state: the storage account (Azure Storage provider) or a Durable Task Scheduler.')
@allowed(['azureStorage', 'durableTaskScheduler'])
param durableBackend string = 'azureStorage'
@description('Durable Task Scheduler endpoint (durableBackend = durableTaskScheduler).')
param durableTaskSchedulerEndpoint string = ''
@description('Always-ready instances of the "durable" group (orchestrators, activities): 0 lets timers and events wait for a cold start.')
@minValue(0)
@maxValue(10)
param durableAlwaysReadyInstances int = 1
@description('Longest wait between two polls of the Azure Storage provider\'s queues (host.json maxQueuePollingInterval), hh:mm:ss.')
param durableMaxQueuePollingInterval string = '00:00:10'

param aasTenantId string
param aasClientId string
param keyVaultSecretName string
param keyVaultSecretCacheSeconds int
param authorityHost string
param aasAllowedHosts string
param aasRequestTimeoutSeconds int
param powerBiApiBaseUrl string
param powerBiAllowedHosts string
param callbackAllowedHosts string
param refreshDefaultSync bool
param refreshDefaultTimeout string
param pollMinIntervalSeconds int
param pollMaxIntervalSeconds int
param runRetentionDays int
param refreshSchedules array

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${name}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the resource to deploy the `api` service of azure.yaml to by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        // Flex Consumption's per-group always-ready instances: "durable" is the group of the
        // orchestration, activity (and entity) triggers.
        alwaysReady: durableAlwaysReadyInstances > 0 ? [
          {
            name: 'durable'
            instanceCount: durableAlwaysReadyInstances
          }
        ] : []
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// host.json configures the Azure Storage provider (what runs locally on Azurite); app settings
// named AzureFunctionsJobHost__<path> override host.json values in Azure, so each backend gets
// its own storageProvider without a second host.json.
var hostJsonOverride = 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__'
var durableBackendSettings = durableBackend == 'durableTaskScheduler'
  ? {
      '${hostJsonOverride}type': 'azureManaged'
      '${hostJsonOverride}connectionStringName': 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
      DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
    }
  : {
      '${hostJsonOverride}maxQueuePollingInterval': durableMaxQueuePollingInterval
    }

// Flex Consumption sets the worker runtime and version from functionAppConfig.runtime:
// FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION must NOT be app settings here.
var appSettings = union(durableBackendSettings, {
  // ---- Functions platform (identity-based host storage, telemetry, task hub) ----
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  DURABLE_TASK_HUB_NAME: durableTaskHubName // read by host.json (%DURABLE_TASK_HUB_NAME%)

  // ---- Identity chain: managed identity -> Key Vault -> service principal -> AAS token ----
  AUTH_MODE: 'keyVault'
  MANAGED_IDENTITY_CLIENT_ID: identityClientId
  AAS_TENANT_ID: aasTenantId
  AAS_CLIENT_ID: aasClientId
  KEY_VAULT_URL: keyVaultUri
  KEY_VAULT_SECRET_NAME: keyVaultSecretName
  KEY_VAULT_SECRET_CACHE_SECONDS: string(keyVaultSecretCacheSeconds)
  KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'false' // true only for the local emulator
  AUTHORITY_HOST: authorityHost
  // servicePrincipal mode (credential in app settings) is for local development only and is
  // refused in Azure: these stay empty on purpose, the credential lives in Key Vault.
  AAS_CLIENT_SECRET: ''
  AAS_CLIENT_CERTIFICATE_PATH: ''
  ALLOW_SERVICE_PRINCIPAL_IN_AZURE: 'false'

  // ---- AAS calls and refresh behaviour ----
  AAS_ALLOWED_HOSTS: aasAllowedHosts
  AAS_REQUEST_TIMEOUT_SECONDS: string(aasRequestTimeoutSeconds)
  POWERBI_API_BASE_URL: powerBiApiBaseUrl
  POWERBI_ALLOWED_HOSTS: powerBiAllowedHosts
  CALLBACK_ALLOWED_HOSTS: callbackAllowedHosts
  REFRESH_DEFAULT_SYNC: refreshDefaultSync ? 'true' : 'false'
  REFRESH_DEFAULT_TIMEOUT: refreshDefaultTimeout
  POLL_MIN_INTERVAL_SECONDS: string(pollMinIntervalSeconds)
  POLL_MAX_INTERVAL_SECONDS: string(pollMaxIntervalSeconds)
  REFRESH_SCHEDULES: string(refreshSchedules) // JSON array
  RUN_RETENTION_DAYS: string(runRetentionDays)
  HOSTING_PLAN: 'flexConsumption' // this module deploys Flex Consumption: NCRONTAB schedules only, no TimeSpan
})

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: appSettings
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output apiBaseUrl string = 'https://${site.properties.defaultHostName}/api'
