#!/bin/bash
# ab.sh OUT ROUNDS...: A = main (/tmp/dl4A, `git archive main` built with tsc), C = dl4's shared
# tensors only (/tmp/dl4C), B = dl4 (this worktree); each round A C B, `threads.sh` at 100 fps
# (`inspectd bench --seconds 20 --rate 100 --saturation none` + per-thread CPU of the e2e window).
here=$(cd "$(dirname "$0")" && pwd); out=$1; shift; mkdir -p "$out"
for r in "$@"; do
  for v in ${VARIANTS:-A C B}; do
    case $v in A) d=/tmp/dl4A ;; C) d=/tmp/dl4C ;; B) d=/work/wt-dl4 ;; esac
    "$here/threads.sh" "$d" "$out/$v$r" 100 2>/dev/null
    echo "$v$r $(date +%T) $(grep -E 'e2e p50' "$out/$v$r.txt")"
  done
done
