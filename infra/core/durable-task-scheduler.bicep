// Optional (durableBackend = 'durableTaskScheduler'): a Durable Task Scheduler with the app's task
// hub, a retention policy that purges ended runs, and the app's identity as "Durable Task Data
// Contributor" on the task hub (identity-based access only: the scheduler has no keys).
// Followed: Microsoft Learn "Durable Task Scheduler" (task hub management, identity,
// billing) and Azure-Samples azd templates using Microsoft.DurableTask/schedulers.
param name string
param location string
param tags object = {}
param taskHubName string
@allowed(['Consumption', 'Dedicated'])
param skuName string = 'Consumption'
@description('Capacity units of a Dedicated scheduler; ignored for Consumption.')
@minValue(1)
param dedicatedCapacity int = 1
@description('Days ended runs (completed, failed, terminated, cancelled) are kept before the scheduler purges them.')
@minValue(1)
param retentionDays int = 30
@description('Principal id of the managed identity that runs the app.')
param identityPrincipalId string
@description('Object id of the person or pipeline running azd: gets the same role, for the scheduler dashboard. Empty to skip.')
param operatorPrincipalId string = ''
@allowed(['User', 'ServicePrincipal'])
param operatorPrincipalType string = 'User'

// Built-in role: Durable Task Data Contributor (superset of Worker and Data Reader).
var durableTaskDataContributor = '0ad04412-c4d5-4796-b79c-f76d14c8d402'

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // An empty allow-list denies all traffic; access is still gated by Entra ID and the role.
    ipAllowlist: ['0.0.0.0/0']
    sku: skuName == 'Dedicated' ? { name: 'Dedicated', capacity: dedicatedCapacity } : { name: 'Consumption' }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
  properties: {}
}

resource retention 'Microsoft.DurableTask/schedulers/retentionPolicies@2025-11-01' = {
  parent: scheduler
  name: 'default'
  properties: {
    retentionPolicies: [
      { retentionPeriodInDays: retentionDays }
    ]
  }
}

resource appUsesTaskHub 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(taskHub.id, identityPrincipalId, durableTaskDataContributor)
  scope: taskHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource operatorUsesDashboard 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(taskHub.id, operatorPrincipalId, durableTaskDataContributor)
  scope: taskHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
