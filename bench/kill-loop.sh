#!/usr/bin/env bash
# The full SIGKILL fault loop: the daemon killed LIVES times under load on one log (CI runs 6), then
# a clean stop; prints the figures as one JSON line (lives, received, distinct seqs, logged, lost,
# duplicates, published but not logged). Needs a built checkout (npm run build).
#   bash bench/kill-loop.sh [LIVES]      (default 200; about 3 s a life on a 2-vCPU VM)
set -euo pipefail
cd "$(dirname "$0")/.."
KILL_LOOP_LIVES="${1:-200}" npx vitest run test/faults/kill-loop.test.ts --testTimeout=0 --hookTimeout=0 2>&1 | grep -E '^\{"lives"|Tests|FAIL|Assertion'
