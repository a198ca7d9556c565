// The user-assigned managed identity of the function app. It reaches storage, Key Vault and
// Application Insights, and reads the AAS service principal's credential from Key Vault.
param name string
param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output resourceId string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
