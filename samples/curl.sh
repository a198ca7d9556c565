#!/usr/bin/env bash
# Start a refresh, poll it to the end, or cancel it, with curl and jq.
#   API=https://<app>.azurewebsites.net/api KEY=<function key> ./curl.sh start asazure://westeurope.asazure.windows.net/myserver Sales
#   ./curl.sh status <id> | ./curl.sh wait <id> | ./curl.sh cancel <id> | ./curl.sh list <server> <model>
# Locally (npm start): API=http://127.0.0.1:7071/api and KEY=$(cat .local/function-key) (npm start prints it).
set -euo pipefail
API="${API:-http://127.0.0.1:7071/api}"
KEY="${KEY:-}"
auth=(-H "x-functions-key: ${KEY}")

case "${1:-}" in
  start)
    server="${2:?server (asazure://...)}"; model="${3:?model}"
    body=$(jq -n --arg server "$server" --arg model "$model" '{
      server: $server, model: $model, type: "full", commitMode: "transactional",
      maxParallelism: 4, retryCount: 1, sync: true, timeout: "PT4H", onConflict: "fail"
    }')
    # 202 + Location + Retry-After; the body carries the run id and its status/cancel URLs.
    curl -sS --fail-with-body -X POST "$API/refreshes" "${auth[@]}" -H 'Content-Type: application/json' -d "$body" | jq .
    ;;
  status)
    curl -sS "$API/refreshes/${2:?id}" "${auth[@]}" | jq .
    ;;
  wait)
    id="${2:?id}"
    while :; do
      # -D <file>: headers saved to read the status code and Retry-After
      response=$(curl -sS -D /tmp/refresh-headers.$$ "$API/refreshes/$id" "${auth[@]}")
      code=$(awk 'NR==1{print $2}' /tmp/refresh-headers.$$)
      retry=$(awk 'tolower($1)=="retry-after:"{print $2+0}' /tmp/refresh-headers.$$)
      echo "$response" | jq -c '{status, aasStatus, objects: (.objects // [] | length)}'
      if [ "$code" != "202" ]; then
        echo "$response" | jq .
        rm -f /tmp/refresh-headers.$$
        [ "$code" = "200" ] && exit 0 || exit 1
      fi
      sleep "${retry:-15}"
    done
    ;;
  cancel)
    # 202 cancelling, 404 unknown id (RUN_NOT_FOUND), 409 already ended (RUN_ALREADY_ENDED)
    curl -sS -X DELETE "$API/refreshes/${2:?id}" "${auth[@]}" -w '\nHTTP %{http_code}\n'
    ;;
  list)
    curl -sS -G "$API/refreshes" "${auth[@]}" --data-urlencode "server=${2:?server}" --data-urlencode "model=${3:?model}" | jq .
    ;;
  *)
    sed -n '2,6p' "$0"; exit 2
    ;;
esac
