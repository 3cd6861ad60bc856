#!/usr/bin/env bash
# 100 stations on one mosquitto (test/faults/hundred-stations.test.ts), twice: the broker set as
# docs/reliability.md tells a plant to set it, then with mosquitto's defaults (max_queued_messages
# 1000), where a persistent subscriber that was away loses what the broker could not queue.
# Prints one JSON line of figures per run. Needs a built checkout (npm run build).
#   bash bench/stations.sh [STATIONS]      (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
for broker in plant default; do
  HUNDRED_STATIONS="${1:-100}" HUNDRED_STATIONS_BROKER="$broker" npx vitest run test/faults/hundred-stations.test.ts 2>&1 | grep -E '^\{"stations"|Tests|FAIL|Assertion'
done
