#!/usr/bin/env bash
# Asks the real NCrontab.Signed (restored from packages.lock.json) what it makes of every schedule
# in cases.json and fails, showing the difference, when test/schedules/ncrontab.oracle.json no
# longer says the same. To refresh the fixture after changing cases.json:
#   test/oracles/ncrontab/check-fixture.sh --write
set -euo pipefail
cd "$(dirname "$0")/../../.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
fixture=test/schedules/ncrontab.oracle.json
out=$(mktemp)
trap 'rm -f "$out"' EXIT
dotnet restore test/oracles/ncrontab --locked-mode --verbosity quiet  # quiet still shows errors (on stdout)
dotnet run --no-restore --project test/oracles/ncrontab -- test/oracles/ncrontab/cases.json >"$out"
if [ "${1:-}" = "--write" ]; then
  cp "$out" "$fixture"
  echo "wrote $fixture"
else
  diff -u "$fixture" "$out"
  echo "NCrontab oracle: $fixture matches NCrontab.Signed"
fi
