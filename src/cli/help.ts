const CONNECTION = `Connection:
  --url <url>       the function app, https://<app>.azurewebsites.net (or ${'AAS_REFRESH_URL'})
  --key <key>       a function key, sent as x-functions-key (or AAS_REFRESH_KEY; prefer the
                    variable: a flag shows in the process list and shell history)
  --direct          no function app: talk to AAS / Power BI with your Azure CLI login
                    (az login) or a service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID,
                    AZURE_CLIENT_SECRET); the run lasts as long as the command, so the
                    timeout, the replica sync and --on-conflict wait need --wait; status and
                    cancel take the service's refresh id and --server --model (or --workspace
                    --semantic-model), as the commands it prints say
  --json            print JSON for scripts (errors as {"error": {code, message, problems}})
`;

const WAITING = `Waiting:
  --wait, -w            wait until the run ends: a live line per object on a terminal, plain
                        lines in CI logs; Ctrl+C asks whether to cancel the refresh
  --poll-interval <s>   seconds between status reads (default: the app's Retry-After)
`;

const EXIT = `Exit codes: 0 succeeded, 1 failed (or the app could not be reached), 2 timed out,
3 cancelled, 4 bad input (a wrong option, a refused key, an unknown run), 130 stopped
watching (the run goes on).
`;

export const HELP: Record<string, string> = {
  '': `aas-refresh: start, watch and cancel refreshes of Azure Analysis Services and Power BI models.

Usage:
  aas-refresh refresh --server <asazure://…> --model <name> [options]
  aas-refresh refresh --workspace <name|id> --semantic-model <name|id> [options]
  aas-refresh status <runId> [--wait]
  aas-refresh cancel <runId> [--wait]
  aas-refresh list [--model <name>] [--status <status>] [--limit <n>]
  aas-refresh history <model> --server <asazure://…>

aas-refresh <command> --help shows a command's options.

${CONNECTION}
${EXIT}`,
  refresh: `aas-refresh refresh: start a refresh (POST /api/refreshes), optionally wait for it.

  --server <asazure://…>      AAS server, with --model <name>
  --workspace <name|id>       Power BI workspace, with --semantic-model <name|id>
  --type <type>               full, clearValues, calculate, dataOnly, automatic (default), defragment
  --objects <list>            Table or Table/Partition, comma-separated (repeatable), or the API's
                              JSON array [{"table": "...", "partition": "..."}]; default the whole model
  --commit-mode <mode>        transactional (default) or partialBatch
  --max-parallelism <n>       default 10
  --retry-count <n>           default 0
  --timeout <ISO duration>    PT1M to P7D, such as PT2H (default: the app's REFRESH_DEFAULT_TIMEOUT)
  --sync | --no-sync          sync the query replicas afterwards (default: the app's REFRESH_DEFAULT_SYNC)
  --apply-refresh-policy | --no-apply-refresh-policy
                              Power BI only: apply the incremental refresh policy, or refresh the
                              objects as asked (default: Power BI's, true; false with partialBatch,
                              which refuses --apply-refresh-policy)
  --effective-date <date>     Power BI only: the date the refresh policy takes as today, yyyy-mm-dd
  --on-conflict <fail|wait>   when the model is busy: fail (default) or wait for it (--direct: with --wait)
  --callback-url <url>        the app calls it back when the run ends

${WAITING}
${CONNECTION}
${EXIT}`,
  status: `aas-refresh status <runId>: show a run; with --wait, until it ends.
Without --wait it exits with the run's outcome once the run has ended (the codes below), and 0
while it is still going.

${WAITING}
${CONNECTION}
${EXIT}`,
  cancel: `aas-refresh cancel <runId>: cancel a run's refresh; with --wait, until the run ends.

${WAITING}
${CONNECTION}
${EXIT}`,
  list: `aas-refresh list: this app's runs, a page at a time, newest first: one model's when a model is
named in full, otherwise every model's (the newest 300 runs; older ones then come model by model).

  --server <asazure://…>  --model <name>    only this model's runs
  --workspace <name|id>  --semantic-model <name|id>
  --status <status>       pending, waiting, refreshing, cancelling, syncing, succeeded, failed,
                          cancelled, timedOut
  --limit <n>             1 to 200 (default 50)
  --created-from <time>   --created-to <time>   ISO 8601 UTC, such as 2026-12-01T00:00:00Z
  --continuation-token <t>  the next page (list prints it when there is one)

${CONNECTION}`,
  history: `aas-refresh history <model> --server <asazure://…>: the model's own refresh history
(the last 30 days, as AAS keeps it). Power BI: aas-refresh history <semantic model> --workspace <name|id>.

${CONNECTION}`,
};
