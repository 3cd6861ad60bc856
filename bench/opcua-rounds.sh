#!/bin/bash
# Rounds of `inspectd bench` alternating without and with the OPC UA server (its thread at
# opcua.nice, +5 by default), for "does the server add a stall to the frame path" (bench/RESULTS.md,
# "OPC UA at nice +5"). One session runs the given order within a time budget, so that it fits one
# /tmp/quiet.sh window on the shared box:
#   /tmp/quiet.sh bench/opcua-rounds.sh SESSION off,on,off
# writes bench/results/opcua-yield-SESSION-{I}-{off|on}.{json,txt}. BUDGET_S (default 115) stops it
# starting a round that would end past the budget (a round takes ~35 s on 2 vCPUs).
# A run named onN (on200, say) is the server with opcua.coalesceMs: N (verdicts posted to its
# thread in batches of N ms); every run, off and on included, is given the same kind of
# config file (since opcua6; before, with COALESCE_AB=1 only) (coalesceMs 0 unless onN), so the arms differ only in that (bench/RESULTS.md,
# "OPC UA: coalesced verdicts").
# A run named base is the server (as on) run from another build: BASE_ROOT, a package root whose dist/
# was built before a change (the bench starts the daemon from its own package root), for the server
# thread's CPU per verdict before and after it
# (bench/RESULTS.md, "OPC UA: values set only when they change").
# Since 2026-12-02 (opcua5) the bench's OPC UA client runs in a process of its own under SCHED_IDLE
# (`--opcua-client idle`, the default: on and onN runs; a base run is what its build does, inline
# before opcua5); a run named inline is the server with
# the client in the bench process (`--opcua-client inline`), as every on run before opcua5 was
# (bench/RESULTS.md, "OPC UA: the server's stall with its client off the daemon's cores").
# Since opcua6 every run is given a config file naming the server thread's policy (opcua.policy;
# idle, SCHED_IDLE, is the default since 2026-12-02), so an on (onN) run is the thread at nice +5 (policy: nice)
# as before, and a run named idle (idleN: with coalesceMs N) is the thread under SCHED_IDLE
# (bench/RESULTS.md, "OPC UA: the server under SCHED_IDLE, an equivalence test"). ROUND_SECONDS
# (default 15) is the counting window of a round, RATE (default 20) the frames per second.
# `node dist/bench/opcua-stall.js`
# gives the on - off interval from the JSON files (--margin for the equivalence test).
set -euo pipefail
cd "$(dirname "$0")/.."
session=$1
order=$2
budget=${BUDGET_S:-115}
round_s=${ROUND_S:-40}
seconds=${ROUND_SECONDS:-15}
rate=${RATE:-20}
start=$(date +%s)
i=0
for run in ${order//,/ }; do
  if (( $(date +%s) - start + round_s > budget )); then echo "budget: stopped before round $i ($run)" >&2; break; fi
  out=bench/results/opcua-yield-$session-$i-$run
  flag=(); [[ "$run" = on* || "$run" = idle* || "$run" = base ]] && flag=(--opcua)
  [[ "$run" = inline ]] && flag=(--opcua --opcua-client inline)
  dist=dist; [[ "$run" = base ]] && dist=${BASE_ROOT:?base needs BASE_ROOT}/dist
  if [[ "$run" != base ]]; then
    ms=0; [[ "$run" =~ ^(on|idle)([0-9]+)$ ]] && ms=${BASH_REMATCH[2]}
    policy=nice; [[ "$run" = idle* ]] && policy=idle
    cfg=$(mktemp /tmp/opcua-rounds-XXXX.yaml)
    # The model's precision pinned: 'auto' times fp32 against int8 at each start and can pick either
    # (opcua6 saw one round of fp32 among int8 ones), which would make rounds differ in more than the arm.
    # Absolute: a config file's relative paths are resolved against its own folder (/tmp here).
    printf 'model:\n  path: %s/models/synthetic-line/model.json\n  precision: %s\nopcua:\n  coalesceMs: %s\n  policy: %s\n' "$PWD" "${PRECISION:-int8}" "$ms" "$policy" > "$cfg"
    flag+=(-c "$cfg")
  fi
  node "$dist"/src/cli/main.js bench --seconds "$seconds" --rate "$rate" --saturation none "${flag[@]}" --json "$out.json" > "$out.txt" 2>&1 || {
    # A failed round stops the session: a broken set-up must not spend the rest of a quiet window (opcua6 lost three that way).
    echo "round $i $run failed: $out.txt" >&2
    exit 1
  }
  echo "round $i $run done at $(( $(date +%s) - start )) s" >&2
  i=$((i + 1))
done
