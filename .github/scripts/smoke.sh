#!/usr/bin/env bash
# Smoke test after a deploy: GET <api base>/refreshes without a function key must answer 401
# (the HTTP functions require a key). Right after a deploy the host may still be starting and
# answer 404 or 503 (or not at all): those are retried, up to SMOKE_ATTEMPTS times
# SMOKE_DELAY_SECONDS apart (default 30 x 10 s). A 2xx means the API is open without a key: fail
# at once.
#   .github/scripts/smoke.sh https://<app>.azurewebsites.net/api
set -uo pipefail
base="${1:?usage: smoke.sh <api base url>}"
attempts="${SMOKE_ATTEMPTS:-30}"
delay="${SMOKE_DELAY_SECONDS:-10}"
url="${base%/}/refreshes"

for ((attempt = 1; attempt <= attempts; attempt++)); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$url")
  echo "attempt $attempt/$attempts: GET $url without a key -> $code"
  case "$code" in
    401) echo "smoke test passed: the API answers and requires a function key"; exit 0 ;;
    2*) echo "smoke test failed: the API answered $code without a function key"; exit 1 ;;
  esac
  if ((attempt < attempts)); then sleep "$delay"; fi
done
echo "smoke test failed: no 401 after $attempts attempts (last answer: $code)"
exit 1
