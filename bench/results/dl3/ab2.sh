#!/bin/bash
out=/tmp/dl3ab/q4; mkdir -p $out
for r in 1 2 3 4; do
  (cd /tmp/dl3A && node dist/src/cli/main.js bench --seconds 20 --rate 100 --saturation none --json $out/A$r.json > $out/A$r.txt 2>&1); echo "A$r $(date +%T)"
  (cd /work/wt-dl3 && node dist/src/cli/main.js bench --seconds 20 --rate 100 --saturation none --json $out/B$r.json > $out/B$r.txt 2>&1); echo "B$r $(date +%T)"
done
