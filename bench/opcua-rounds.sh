#!/bin/bash
# Rounds of `inspectd bench` alternating without and with the OPC UA server (its thread at
# opcua.nice, +5 by default), for "does the server add a stall to the frame path" (bench/RESULTS.md,
# "OPC UA at nice +5"). One session runs the given order within a time budget, so that it fits one
# /tmp/quiet.sh window on the shared box:
#   /tmp/quiet.sh bench/opcua-rounds.sh SESSION off,on,off
# writes bench/results/opcua-yield-SESSION-{I}-{off|on}.{json,txt}. BUDGET_S (default 115) stops it
# starting a round that would end past the budget (a round takes ~35 s on 2 vCPUs).
set -euo pipefail
cd "$(dirname "$0")/.."
session=$1
order=$2
budget=${BUDGET_S:-115}
round_s=${ROUND_S:-40}
start=$(date +%s)
i=0
for run in ${order//,/ }; do
  if (( $(date +%s) - start + round_s > budget )); then echo "budget: stopped before round $i ($run)" >&2; break; fi
  out=bench/results/opcua-yield-$session-$i-$run
  flag=(); [ "$run" = on ] && flag=(--opcua)
  node dist/src/cli/main.js bench --seconds 15 --rate 20 --saturation none "${flag[@]}" --json "$out.json" > "$out.txt" 2>&1
  echo "round $i $run done at $(( $(date +%s) - start )) s" >&2
  i=$((i + 1))
done
