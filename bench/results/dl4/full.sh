#!/bin/bash
# full.sh OUT ROUNDS...: the default bench, `inspectd bench --seconds 15 --json FILE`, A = main
# (/tmp/dl4A) and B = dl4 (this worktree) alternating, each round A then B.
out=$1; shift; mkdir -p "$out"
for r in "$@"; do
  for v in A B; do
    case $v in A) d=/tmp/dl4A ;; B) d=/work/wt-dl4 ;; esac
    (cd "$d" && node dist/src/cli/main.js bench --seconds 15 --json "$out/$v$r.json" > "$out/$v$r.txt" 2>&1)
    echo "$v$r $(date +%T) $(grep -E 'e2e p50' "$out/$v$r.txt")"
  done
done
