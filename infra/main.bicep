// Azure Developer CLI entry point: `azd up` provisions everything below, then deploys the `api`
// service of azure.yaml. Layout and conventions follow the azd Functions quickstart templates
// (Azure-Samples/functions-quickstart-typescript-azd); resources are written with explicit API
// versions in small modules under ./app and ./core. See docs/deploy.md for what was verified.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; used for the resource group name, the resource token and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Location of every resource. Must be a region that offers the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the person running azd. Gets "Key Vault Secrets Officer" on the vault so that they can store the service principal credential. Leave empty to skip.')
param principalId string = ''

@description('Type of principalId: User for a person, ServicePrincipal when a pipeline provisions.')
@allowed(['User', 'ServicePrincipal'])
param principalType string = 'User'

@description('Optional names; empty means a generated name.')
param resourceGroupName string = ''
param functionAppName string = ''
param keyVaultName string = ''
param storageAccountName string = ''

// ---- The service principal that is an AAS administrator (app:<appId>@<tenantId>) ----

@description('Tenant of the service principal that is an AAS administrator (AAS_TENANT_ID). Empty means the tenant of this subscription.')
param aasTenantId string = ''

@minLength(1)
@description('Application (client) id of the service principal that is an AAS administrator (AAS_CLIENT_ID).')
param aasClientId string

@description('Name of the Key Vault secret (or certificate) holding the service principal\'s credential (KEY_VAULT_SECRET_NAME). You store it after provisioning, see docs/deploy.md.')
param keyVaultSecretName string = 'aas-sp-secret'

// ---- Behaviour ----

@description('Comma-separated AAS host names the API may call (AAS_ALLOWED_HOSTS), e.g. "westeurope.asazure.windows.net" or "*.asazure.windows.net".')
param aasAllowedHosts string = '*.asazure.windows.net'

@description('The Power BI REST API base URL (POWERBI_API_BASE_URL).')
param powerBiApiBaseUrl string = 'https://api.powerbi.com/v1.0/myorg'

@description('Comma-separated hosts a Power BI token may be sent to (POWERBI_ALLOWED_HOSTS); the base URL\'s host must be one.')
param powerBiAllowedHosts string = 'api.powerbi.com'

@description('Comma-separated host names callback URLs may point to (CALLBACK_ALLOWED_HOSTS).')
param callbackAllowedHosts string = '*.datafactory.azure.com,*.datafactory.azure.net,*.logic.azure.com'

@description('Synchronize query replicas after a successful refresh unless the request says otherwise (REFRESH_DEFAULT_SYNC).')
param refreshDefaultSync bool = true

@description('Overall deadline of a run when the request has no timeout, ISO 8601 duration (REFRESH_DEFAULT_TIMEOUT).')
param refreshDefaultTimeout string = 'PT12H'

@description('Shortest and longest wait between two status calls, in seconds (POLL_MIN_INTERVAL_SECONDS / POLL_MAX_INTERVAL_SECONDS).')
@minValue(1)
@maxValue(3600)
param pollMinIntervalSeconds int = 30
@minValue(1)
@maxValue(86400)
param pollMaxIntervalSeconds int = 600

@description('Finished runs older than this many days are purged every hour; 0 keeps them (RUN_RETENTION_DAYS).')
@minValue(0)
@maxValue(3650)
param runRetentionDays int = 30

@description('Timeout of one HTTP call to AAS, in seconds (AAS_REQUEST_TIMEOUT_SECONDS).')
@minValue(1)
@maxValue(600)
param aasRequestTimeoutSeconds int = 30

@description('How long the service principal credential read from Key Vault is cached, in seconds (KEY_VAULT_SECRET_CACHE_SECONDS).')
@minValue(0)
@maxValue(86400)
param keyVaultSecretCacheSeconds int = 900

@description('Scheduled refreshes (REFRESH_SCHEDULES): an array of {name, schedule (NCRONTAB), request (the POST /api/refreshes body)}. Stored as a JSON string.')
param refreshSchedules array = []

@description('Durable Functions task hub name (DURABLE_TASK_HUB_NAME, read by host.json): letters and digits, 3-45 characters, starting with a letter.')
@minLength(3)
@maxLength(45)
param durableTaskHubName string = 'AasRefresh'

@description('Largest number of Flex Consumption instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each Flex Consumption instance in MB (512, 2048 or 4096); billed per GB-second, so 512 costs a quarter of 2048.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

// ---- Durable Functions backend (docs/deploy.md "Durable backend") ----

@description('Where Durable Functions keeps its state: "azureStorage" (the storage account below; the default) or "durableTaskScheduler" (a Microsoft.DurableTask scheduler with its own dashboard and retention).')
@allowed(['azureStorage', 'durableTaskScheduler'])
param durableBackend string = 'azureStorage'

@description('SKU of the Durable Task Scheduler (durableBackend = durableTaskScheduler): Consumption (per action) or Dedicated (capacity units).')
@allowed(['Consumption', 'Dedicated'])
param durableTaskSchedulerSku string = 'Consumption'

@description('Days the Durable Task Scheduler keeps ended runs before purging them (durableBackend = durableTaskScheduler).')
@minValue(1)
@maxValue(90)
param durableRetentionDays int = 30

@description('Always-ready instances for the "durable" group (orchestrators and activities), billed while idle; 0 = none (timers and events may wait for a cold start).')
@minValue(0)
@maxValue(10)
param durableAlwaysReadyInstances int = 1

@description('Longest wait between two polls of the task hub queues with the Azure Storage provider (maxQueuePollingInterval, hh:mm:ss; the extension\'s default is 30 s).')
param durableMaxQueuePollingInterval string = '00:00:10'

@description('Key Vault purge protection. On: a deleted vault keeps its name for 90 days, so a redeploy after `azd down` needs a new keyVaultName. Off (default): `azd down --purge` frees the name.')
param keyVaultPurgeProtection bool = false

// ---- Optional: the AAS server itself ----

@description('Also create an Azure Analysis Services server with the service principal as administrator. Only for those who own the server; most users point the app at an existing one.')
param deployAnalysisServices bool = false

@description('Name of the AAS server when deployAnalysisServices is true: lowercase letters and digits, starting with a letter. Empty means a generated name.')
param analysisServicesName string = ''

@description('SKU of the AAS server when deployAnalysisServices is true (D1 developer, B1/B2 basic, S0..S9 standard; replicas and sync need Standard).')
param analysisServicesSku string = 'S0'

@description('Extra AAS administrators (UPNs such as admin@contoso.com, or app:<appId>@<tenantId>), added beside the service principal.')
param analysisServicesExtraAdmins array = []

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var spTenantId = !empty(aasTenantId) ? aasTenantId : tenant().tenantId
var appName = !empty(functionAppName) ? functionAppName : '${abbrs.webSitesFunctions}aasrefresh-${resourceToken}'
// One container per app for Flex Consumption deployment packages. Container names are 3-63
// lowercase letters, digits and single hyphens: derived from a hash, never from the app name
// (which may hold uppercase letters or end a 32-character cut with a hyphen).
var deploymentContainerName = 'app-package-${toLower(uniqueString(appName, resourceToken))}'
var useDurableTaskScheduler = durableBackend == 'durableTaskScheduler'
// Entra authority host without the trailing slash environment() gives (sovereign clouds work too).
var loginEndpoint = environment().authentication.loginEndpoint
var authorityHost = endsWith(loginEndpoint, '/') ? take(loginEndpoint, max(length(loginEndpoint) - 1, 0)) : loginEndpoint

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity './core/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}aasrefresh-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring './core/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
  }
}

module storage './core/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    identityPrincipalId: identity.outputs.principalId
    durableTaskHubInStorage: !useDurableTaskScheduler
  }
}

module durableTaskScheduler './core/durable-task-scheduler.bicep' = if (useDurableTaskScheduler) {
  name: 'durableTaskScheduler'
  scope: rg
  params: {
    name: 'dts-${resourceToken}'
    location: location
    tags: tags
    taskHubName: durableTaskHubName
    skuName: durableTaskSchedulerSku
    retentionDays: durableRetentionDays
    identityPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

module keyVault './core/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    // Vault names are 3-24 characters.
    name: !empty(keyVaultName) ? keyVaultName : '${abbrs.keyVaultVaults}${take(resourceToken, 21)}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
    purgeProtection: keyVaultPurgeProtection
  }
}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: appName
    location: location
    tags: tags
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    durableBackend: durableBackend
    durableTaskSchedulerEndpoint: durableTaskScheduler.?outputs.endpoint ?? ''
    durableAlwaysReadyInstances: durableAlwaysReadyInstances
    durableMaxQueuePollingInterval: durableMaxQueuePollingInterval
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultUri: keyVault.outputs.uri
    durableTaskHubName: durableTaskHubName
    aasTenantId: spTenantId
    aasClientId: aasClientId
    keyVaultSecretName: keyVaultSecretName
    keyVaultSecretCacheSeconds: keyVaultSecretCacheSeconds
    authorityHost: authorityHost
    aasAllowedHosts: aasAllowedHosts
    aasRequestTimeoutSeconds: aasRequestTimeoutSeconds
    powerBiApiBaseUrl: powerBiApiBaseUrl
    powerBiAllowedHosts: powerBiAllowedHosts
    callbackAllowedHosts: callbackAllowedHosts
    refreshDefaultSync: refreshDefaultSync
    refreshDefaultTimeout: refreshDefaultTimeout
    pollMinIntervalSeconds: pollMinIntervalSeconds
    pollMaxIntervalSeconds: pollMaxIntervalSeconds
    runRetentionDays: runRetentionDays
    refreshSchedules: refreshSchedules
  }
  // No dependsOn needed: the outputs used above make the app wait for the storage, Key Vault and
  // monitoring modules, including their role assignments.
}

module analysisServices './app/analysis-services.bicep' = if (deployAnalysisServices) {
  name: 'analysisServices'
  scope: rg
  params: {
    name: !empty(analysisServicesName) ? analysisServicesName : '${abbrs.analysisServicesServers}${resourceToken}'
    location: location
    tags: tags
    skuName: analysisServicesSku
    administrators: concat(['app:${aasClientId}@${spTenantId}'], analysisServicesExtraAdmins)
  }
}

// azd stores every output in the environment (.azure/<env>/.env).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output API_BASE_URL string = api.outputs.apiBaseUrl
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output KEY_VAULT_SECRET_NAME string = keyVaultSecretName
output AAS_TENANT_ID string = spTenantId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output DURABLE_TASK_HUB_NAME string = durableTaskHubName
output DURABLE_BACKEND string = durableBackend
output DURABLE_TASK_SCHEDULER_NAME string = durableTaskScheduler.?outputs.name ?? ''
output AAS_SERVER_NAME string = analysisServices.?outputs.serverFullName ?? ''
