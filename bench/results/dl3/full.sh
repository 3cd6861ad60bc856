#!/bin/bash
out=/tmp/dl3ab/full; mkdir -p $out
for r in 1 2; do
  (cd /tmp/dl3A && node dist/src/cli/main.js bench --seconds 15 --json $out/A$r.json > $out/A$r.txt 2>&1); echo "A$r $(date +%T)"
  (cd /work/wt-dl3 && node dist/src/cli/main.js bench --seconds 15 --json $out/B$r.json > $out/B$r.txt 2>&1); echo "B$r $(date +%T)"
done
