<#
.SYNOPSIS
  Start an AAS refresh through the refresh service, poll it to the end, or cancel it.
.EXAMPLE
  ./powershell.ps1 -Api https://func-aasrefresh-xxxx.azurewebsites.net/api -Key $key -Server asazure://westeurope.asazure.windows.net/myserver -Model Sales
.EXAMPLE
  ./powershell.ps1 -Api ... -Key $key -Cancel <run id>
#>
param(
  [string] $Api = 'http://127.0.0.1:7071/api',
  [string] $Key = '',
  [string] $Server,
  [string] $Model,
  [ValidateSet('full', 'clearValues', 'calculate', 'dataOnly', 'automatic', 'defragment')]
  [string] $Type = 'full',
  [string] $Timeout = 'PT4H',
  [string] $Cancel
)
$ErrorActionPreference = 'Stop'
$headers = @{ 'x-functions-key' = $Key }

if ($Cancel) {
  # 202 cancelling, 404 unknown id (RUN_NOT_FOUND), 409 already ended (RUN_ALREADY_ENDED)
  Invoke-RestMethod -Method Delete -Uri "$Api/refreshes/$Cancel" -Headers $headers
  return
}

$body = @{
  server = $Server; model = $Model; type = $Type; commitMode = 'transactional'
  maxParallelism = 4; retryCount = 1; sync = $true; timeout = $Timeout; onConflict = 'fail'
  # objects = @(@{ table = 'FactSales'; partition = 'FactSales 2024' }, @{ table = 'DimCustomer' })
} | ConvertTo-Json -Depth 5

$start = Invoke-WebRequest -Method Post -Uri "$Api/refreshes" -Headers $headers -ContentType 'application/json' -Body $body
$location = [string]$start.Headers['Location']
Write-Host "Started: $location"

while ($true) {
  # -SkipHttpErrorCheck (PowerShell 7): a failed run answers non-2xx with the details in the body
  $poll = Invoke-WebRequest -Uri $location -Headers $headers -SkipHttpErrorCheck
  $run = $poll.Content | ConvertFrom-Json
  Write-Host ("{0:u} {1} (AAS: {2})" -f (Get-Date), $run.status, $run.aasStatus)
  if ($poll.StatusCode -ne 202) { break }
  $wait = [int]([string]$poll.Headers['Retry-After'])
  Start-Sleep -Seconds ([Math]::Max($wait, 5))
}
$run | ConvertTo-Json -Depth 10
if ($poll.StatusCode -ne 200) { exit 1 }
