#!/usr/bin/env bash
# The plant broker stopped for OUTAGE_S seconds under load (the daemon at 30 fps, MQTT JSON and
# Sparkplug B both on it, a persistent subscriber and a Sparkplug host): prints one JSON line of
# figures (logged, per output received/distinct/lost/duplicates, the backlog at restart, drain time,
# the daemon's RSS before/during/after). CI runs 8 s; needs a built checkout (npm run build).
#   bash bench/broker-outage.sh [OUTAGE_S]      (default 180)
set -euo pipefail
cd "$(dirname "$0")/.."
OUTAGE_S="${1:-180}" npx vitest run test/faults/broker-outage.test.ts --testTimeout=0 --hookTimeout=0 2>&1 | grep -E '^\{"brokerOutage"|^\[broker-outage|Tests|FAIL|Assertion|Error'
