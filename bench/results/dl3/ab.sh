#!/bin/bash
# A = main (7094f3a) in /tmp/dl3A; B = dl3 (asTensor + SCHED_BATCH); C = dl3 with inference.policy: other (asTensor only)
out=/tmp/dl3ab/$1; mkdir -p $out; shift
for r in "$@"; do
  for v in A B C; do
    case $v in
      A) (cd /tmp/dl3A && node dist/src/cli/main.js bench --seconds 20 --rate 100 --saturation none --json $out/$v$r.json > $out/$v$r.txt 2>&1) ;;
      B) (cd /work/wt-dl3 && node dist/src/cli/main.js bench --seconds 20 --rate 100 --saturation none --json $out/$v$r.json > $out/$v$r.txt 2>&1) ;;
      C) (cd /work/wt-dl3 && node dist/src/cli/main.js bench -c /tmp/dl3prof/other.yaml --seconds 20 --rate 100 --saturation none --json $out/$v$r.json > $out/$v$r.txt 2>&1) ;;
    esac
    echo "$v$r $(date +%T)"
  done
done
