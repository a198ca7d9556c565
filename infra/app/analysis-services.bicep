// Optional (deployAnalysisServices): an Azure Analysis Services server whose administrators
// include the service principal as `app:<appId>@<tenantId>`. Most users already own a server and
// add the service principal to it instead (docs/deploy.md).
@description('Server name: lowercase letters and digits, starting with a letter, 3-63 characters.')
@minLength(3)
@maxLength(63)
param name string
param location string
param tags object = {}
@description('D1 (developer), B1/B2 (basic) or S0-S9 (standard). Query scale-out (replicas, sync) needs Standard.')
param skuName string = 'S0'
@description('Administrators: UPNs or app:<appId>@<tenantId>.')
param administrators array

var tier = startsWith(skuName, 'S') ? 'Standard' : (startsWith(skuName, 'B') ? 'Basic' : 'Development')

resource server 'Microsoft.AnalysisServices/servers@2017-08-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: tier
    capacity: 1
  }
  properties: {
    asAdministrators: {
      members: administrators
    }
  }
}

@description('The asazure:// server name to use as `server` in POST /api/refreshes.')
output serverFullName string = server.properties.serverFullName
output name string = server.name
