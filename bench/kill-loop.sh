#!/usr/bin/env bash
# The full SIGKILL fault loop: the daemon killed LIVES times under load on one log (CI runs 6), each
# kill at a moment drawn from KILL_LOOP_SEED (start-up, publish/commit, drain), then a clean life that
# drains the outbox. Prints the figures as one JSON line ("kind":"kill-loop-figures": lives, why it
# ended, received, distinct seqs, logged, lost, duplicates, seq reused, integrity_check, seq gaps,
# published but not logged, broker RSS, life times). A line per life goes to the progress file, so a
# run stopped from outside still leaves its figures. Needs a built checkout (npx tsc -p tsconfig.json).
# `touch PROGRESS.stop` ends it early with its figures; BUDGET_S (seconds) starts no life after that long.
#   bash bench/kill-loop.sh [LIVES] [BUDGET_S]   (default 300 lives, no budget; about 5 s a life on the
#   2-vCPU VM at load ~7, 20-30 s at load ~14)
set -euo pipefail
cd "$(dirname "$0")/.."
export KILL_LOOP_LIVES="${1:-300}"
export KILL_LOOP_BUDGET_S="${2:-0}"
export KILL_LOOP_PROGRESS="${KILL_LOOP_PROGRESS:-/tmp/kill-loop-$(date -u +%Y%m%dT%H%M%S).jsonl}"
echo "kill-loop: $KILL_LOOP_LIVES lives, progress in $KILL_LOOP_PROGRESS" >&2
npx vitest run test/faults/kill-loop.test.ts --testTimeout=0 --hookTimeout=0 2>&1 | grep -E '"kind":"kill-loop-figures"|Tests |FAIL|AssertionError|Error:' || true
